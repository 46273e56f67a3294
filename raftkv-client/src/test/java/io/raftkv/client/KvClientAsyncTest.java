package io.raftkv.client;

import static io.raftkv.client.FakeKvService.DROP;
import static io.raftkv.client.FakeKvService.HANG;
import static io.raftkv.client.FakeKvService.HOLD;
import static io.raftkv.client.FakeKvService.notLeader;
import static io.raftkv.client.FakeKvService.ok;
import static io.raftkv.client.FakeKvService.status;
import static io.raftkv.client.FakeKvService.writesOnly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.raftkv.client.FakeKvService.Call;
import io.raftkv.client.FakeKvService.Held;
import io.raftkv.proto.kvs.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * KvClient's asynchronous calls against in-process fake servers: the same routing, retries,
 * sessions and errors as the blocking calls (which {@link KvClientTest} covers), delivered in
 * futures; writes queued one at a time per session; no thread per call in flight.
 */
@Timeout(30)
class KvClientAsyncTest {
  private final String prefix = "kv-async-" + UUID.randomUUID() + "-";
  private final List<Call> log = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, FakeKvService> nodes = new HashMap<>();
  private final List<Server> servers = new ArrayList<>();
  private final List<KvClient> clients = new ArrayList<>();
  private final AtomicLong ids = new AtomicLong(100);
  private final AtomicInteger writesInFlight = new AtomicInteger();
  private final AtomicInteger maxWritesInFlight = new AtomicInteger();
  private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);

  @AfterEach
  void tearDown() {
    clients.forEach(KvClient::close);
    servers.forEach(Server::shutdownNow);
    timer.shutdownNow();
  }

  private List<String> start(String... names) throws IOException {
    List<String> addresses = new ArrayList<>();
    for (String n : names) {
      String address = prefix + n;
      FakeKvService svc = new FakeKvService(address, log, ids, writesInFlight, maxWritesInFlight);
      nodes.put(n, svc);
      servers.add(
          InProcessServerBuilder.forName(address).directExecutor().addService(svc).build().start());
      addresses.add(address);
    }
    return addresses;
  }

  private FakeKvService node(String name) {
    return nodes.get(name);
  }

  private String addr(String name) {
    return prefix + name;
  }

  private KvClient client(List<String> addresses, Duration timeout) {
    return client(addresses, timeout, Duration.ofMillis(200));
  }

  /** A client whose attempts outlast a test's waits: a held call is not retried meanwhile. */
  private KvClient patientClient(List<String> addresses) {
    return client(addresses, Duration.ofSeconds(20), Duration.ofSeconds(10));
  }

  private KvClient client(List<String> addresses, Duration timeout, Duration attemptTimeout) {
    KvClient c =
        KvClient.builder(addresses)
            .timeout(timeout)
            .attemptTimeout(attemptTimeout)
            .initialBackoff(Duration.ofMillis(1))
            .maxBackoff(Duration.ofMillis(20))
            .timer(timer)
            .channelFactory(a -> InProcessChannelBuilder.forName(a).directExecutor().build())
            .build();
    clients.add(c);
    return c;
  }

  private KvClient client(List<String> addresses) {
    return client(addresses, Duration.ofSeconds(5));
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private List<Call> writesAndReads() {
    synchronized (log) {
      return log.stream().filter(c -> !c.method().equals(FakeKvService.REGISTER)).toList();
    }
  }

  /** The exception a future failed with (its cause, as thrown by get). */
  private static Throwable failure(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the future did not complete", e);
    }
    throw new AssertionError("the future succeeded");
  }

  @Test
  void followsNotLeaderHintsAndRemembersTheLeader() throws Exception {
    List<String> a = start("s1", "s2", "s3");
    node("s1").behavior = c -> notLeader(addr("s3"));
    node("s2").behavior = c -> notLeader(addr("s3"));
    node("s3").behavior = c -> c.method().equals("GET") ? FakeKvService.ok("v") : ok();
    KvClient client = client(a);

    Optional<byte[]> v = client.getAsync(b("k")).get(5, TimeUnit.SECONDS);
    assertThat(v).hasValueSatisfying(x -> assertThat(new String(x)).isEqualTo("v"));
    assertThat(client.leader()).isEqualTo(addr("s3"));

    client.putAsync(b("k"), b("w")).get(5, TimeUnit.SECONDS);
    assertThat(log)
        .extracting(Call::server, Call::method)
        .containsExactly(
            tuple(addr("s1"), "GET"),
            tuple(addr("s3"), "GET"),
            tuple(addr("s3"), FakeKvService.REGISTER),
            tuple(addr("s3"), "PUT"));
  }

  @Test
  void aRetriedWriteKeepsItsClientIdAndSequence() throws Exception {
    List<String> a = start("s1", "s2");
    AtomicInteger n = new AtomicInteger();
    node("s1").behavior =
        writesOnly(
            c ->
                switch (n.getAndIncrement()) {
                  case 0 -> status(Status.UNAVAILABLE, "no leader elected within 5000 ms");
                  case 1 -> DROP;
                  default -> ok();
                });
    node("s2").behavior = writesOnly(c -> status(Status.TIMEOUT, "no outcome within 5000 ms"));
    KvClient client = client(a);

    client.appendAsync(b("k"), b("x")).get(5, TimeUnit.SECONDS);

    List<Call> calls = writesAndReads();
    assertThat(calls).hasSizeGreaterThanOrEqualTo(3);
    assertThat(calls).extracting(Call::clientId, Call::sequence).containsOnly(tuple(101L, 1L));
    assertThat(timer.getCompletedTaskCount()).as("backoffs ran on the client's timer").isPositive();

    log.clear();
    client.putAsync(b("k"), b("y")).get(5, TimeUnit.SECONDS);
    assertThat(log).extracting(Call::clientId, Call::sequence).containsOnly(tuple(101L, 2L));
  }

  @Test
  void blockingCallsWaitOutTheirBackoffsOnTheCallingThreadNotTheTimer() throws Exception {
    List<String> a = start("s1");
    AtomicInteger n = new AtomicInteger();
    node("s1").behavior = writesOnly(c -> n.getAndIncrement() < 3 ? DROP : ok());
    KvClient client = client(a);

    client.put("k", "v");

    assertThat(writesAndReads()).hasSize(4);
    assertThat(timer.getTaskCount()).isZero();
  }

  @Test
  void aWriteWhoseServerNeverAnswersEndsUnknownAtItsDeadline() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HANG);
    KvClient client = client(a, Duration.ofMillis(500));

    long t0 = System.nanoTime();
    CompletableFuture<Void> f = client.deleteAsync(b("k")).thenApply(x -> null);
    assertThat(f).as("the caller is not blocked").isNotDone();
    Throwable e = failure(f);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(300L, 3000L);
    assertThat(e).isInstanceOf(OutcomeUnknownException.class);
    assertThat(((KvException) e).status()).isEqualTo(Status.TIMEOUT);
    assertThat(e.getMessage()).contains("outcome unknown").contains("no answer within");
  }

  @Test
  void aReadThatTimesOutFailsDefinitely() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = c -> HANG;
    KvClient client = client(a, Duration.ofMillis(300));

    Throwable e = failure(client.getAsync(b("k")));
    assertThat(e).isExactlyInstanceOf(KvException.class);
    assertThat(((KvException) e).status()).isEqualTo(Status.TIMEOUT);
  }

  @Test
  void serverErrorsSurfaceAsTheFuturesException() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> status(Status.INVALID_ARGUMENT, "the key is empty"));
    KvClient client = client(a);

    Throwable e = failure(client.putAsync(b(""), b("v")));
    assertThat(e).isExactlyInstanceOf(KvException.class).hasMessage("the key is empty");
    assertThat(((KvException) e).status()).isEqualTo(Status.INVALID_ARGUMENT);
    assertThatThrownBy(() -> client.putAsync(b(""), b("v")).join())
        .hasCauseExactlyInstanceOf(KvException.class);
  }

  @Test
  void noKeyIsAResult() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> status(Status.NO_KEY, "no such key"));
    KvClient client = client(a);

    assertThat(client.getAsync(b("k")).get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(client.deleteAsync(b("k")).get(5, TimeUnit.SECONDS)).isFalse();
    assertThat(client.directGetAsync(addr("s1"), b("k")).get(5, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void writesAreSentOneAtATimeInCallOrder() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    KvClient client = patientClient(a);

    List<CompletableFuture<?>> fs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      fs.add(client.putAsync(b("k" + i), b("v")));
    }
    fs.add(client.deleteAsync(b("k0")));
    for (int i = 1; i <= 6; i++) {
      Held h = node("s1").held.poll(5, TimeUnit.SECONDS);
      assertThat(h).as("write %d was sent", i).isNotNull();
      assertThat(node("s1").held).as("nothing else in flight").isEmpty();
      assertThat(h.call.sequence()).isEqualTo(i);
      assertThat(fs.get(i - 1)).isNotDone();
      h.answer(ok());
      fs.get(i - 1).get(5, TimeUnit.SECONDS);
    }
    assertThat(writesAndReads())
        .extracting(Call::key)
        .containsExactly("k0", "k1", "k2", "k3", "k4", "k0");
    assertThat(maxWritesInFlight).hasValue(1);
  }

  /** The counter the test above relies on does see overlapping writes (of two sessions). */
  @Test
  void theInFlightCounterSeesOverlappingWrites() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    CompletableFuture<Void> f1 = patientClient(a).putAsync(b("k"), b("v"));
    CompletableFuture<Void> f2 = patientClient(a).putAsync(b("k"), b("v"));
    Held h1 = node("s1").held.poll(5, TimeUnit.SECONDS);
    Held h2 = node("s1").held.poll(5, TimeUnit.SECONDS);
    assertThat(maxWritesInFlight).hasValue(2);
    h1.answer(ok());
    h2.answer(ok());
    CompletableFuture.allOf(f1, f2).get(5, TimeUnit.SECONDS);
  }

  @Test
  void readsRunBesideAWriteInFlight() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = c -> c.method().equals("PUT") ? HOLD : FakeKvService.ok("v");
    KvClient client = patientClient(a);

    CompletableFuture<Void> w = client.putAsync(b("k"), b("w"));
    Held h = node("s1").held.poll(5, TimeUnit.SECONDS);
    assertThat(client.getAsync(b("k")).get(5, TimeUnit.SECONDS)).isPresent();
    assertThat(w).isNotDone();
    h.answer(ok());
    w.get(5, TimeUnit.SECONDS);
  }

  @Test
  void manyCallsInFlightNeedNoThreadEach() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = c -> HOLD;
    KvClient client = patientClient(a);
    int before = Thread.activeCount();

    List<CompletableFuture<Optional<byte[]>>> fs = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      fs.add(client.getAsync(b("k" + i)));
    }

    assertThat(node("s1").held).as("all 500 reached the server at once").hasSize(500);
    assertThat(Thread.activeCount() - before).isLessThan(10);
    for (Held h : node("s1").held) {
      h.answer(FakeKvService.ok("v"));
    }
    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
  }

  @Test
  void cancellingAWriteStopsItAndTheNextOneGoesOn() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    KvClient client = patientClient(a);

    CompletableFuture<Void> first = client.putAsync(b("k"), b("1"));
    CompletableFuture<Void> second = client.putAsync(b("k"), b("2"));
    Held h1 = node("s1").held.poll(5, TimeUnit.SECONDS);
    first.cancel(false);

    Held h2 = node("s1").held.poll(5, TimeUnit.SECONDS);
    assertThat(h1.cancelled).as("the call was cancelled").isTrue();
    assertThat(h2.call.sequence()).isEqualTo(2L);
    h2.answer(ok());
    second.get(5, TimeUnit.SECONDS);
    assertThatThrownBy(first::join).isInstanceOf(CancellationException.class);
  }

  @Test
  void closingRefusesQueuedWritesAndEndsTheOneInFlight() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    KvClient client = patientClient(a);

    CompletableFuture<Void> inFlight = client.putAsync(b("k"), b("1"));
    CompletableFuture<Void> queued = client.putAsync(b("k"), b("2"));
    node("s1").held.poll(5, TimeUnit.SECONDS);
    client.close();

    assertThat(failure(queued))
        .isExactlyInstanceOf(KvException.class)
        .hasMessageContaining("not sent: the client was closed");
    assertThat(failure(inFlight)).isInstanceOf(OutcomeUnknownException.class);
    assertThatThrownBy(() -> client.getAsync(b("k"))).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void blockingAndAsyncWritesShareOneQueue() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    KvClient client = patientClient(a);

    CompletableFuture<Void> async = client.putAsync(b("k"), b("1"));
    Held h1 = node("s1").held.poll(5, TimeUnit.SECONDS);
    AtomicReference<Throwable> blockingError = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                client.put("k", "2");
              } catch (Throwable e) {
                blockingError.set(e);
              }
            });
    t.start();
    // The blocking write waits its turn: nothing reaches the server before the first is answered.
    assertThat(node("s1").held.poll(200, TimeUnit.MILLISECONDS)).isNull();
    h1.answer(ok());
    Held h2 = node("s1").held.poll(5, TimeUnit.SECONDS);
    assertThat(h2.call.sequence()).isEqualTo(2L);
    h2.answer(ok());
    t.join(5000);
    assertThat(blockingError).hasValue(null);
    async.get(5, TimeUnit.SECONDS);
  }

  @Test
  void anInterruptedBlockingWriteEndsSoonAndKeepsTheInterrupt() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HOLD);
    KvClient client = patientClient(a);
    AtomicReference<Throwable> error = new AtomicReference<>();
    AtomicReference<Boolean> interruptKept = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                client.put("k", "v");
              } catch (Throwable e) {
                error.set(e);
              }
              interruptKept.set(Thread.currentThread().isInterrupted());
            });
    t.start();
    Held h = node("s1").held.poll(5, TimeUnit.SECONDS);
    t.interrupt();
    t.join(5000);

    assertThat(t.isAlive()).isFalse();
    assertThat(error.get()).isInstanceOf(OutcomeUnknownException.class);
    assertThat(interruptKept).hasValue(true);
    assertThat(h.cancelled).isTrue();
  }
}
