package io.raftkv.client;

import static io.raftkv.client.FakeKvService.DROP;
import static io.raftkv.client.FakeKvService.HANG;
import static io.raftkv.client.FakeKvService.notLeader;
import static io.raftkv.client.FakeKvService.ok;
import static io.raftkv.client.FakeKvService.status;
import static io.raftkv.client.FakeKvService.writesOnly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.raftkv.client.FakeKvService.Call;
import io.raftkv.proto.kvs.Status;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KvClientTest {
  private final String prefix = "kv-" + UUID.randomUUID() + "-";
  private final List<Call> log = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, FakeKvService> nodes = new HashMap<>();
  private final List<Server> servers = new ArrayList<>();
  private final List<KvClient> clients = new ArrayList<>();
  private final AtomicLong ids = new AtomicLong(100);

  @AfterEach
  void tearDown() {
    clients.forEach(KvClient::close);
    servers.forEach(Server::shutdownNow);
  }

  /** Starts fake servers with these names (addresses); returns their full addresses. */
  private List<String> start(String... names) throws IOException {
    List<String> addresses = new ArrayList<>();
    for (String n : names) {
      String address = prefix + n;
      FakeKvService svc = new FakeKvService(address, log, ids);
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
    KvClient c =
        KvClient.builder(addresses)
            .timeout(timeout)
            .attemptTimeout(Duration.ofMillis(200))
            .initialBackoff(Duration.ofMillis(1))
            .maxBackoff(Duration.ofMillis(20))
            .channelFactory(a -> InProcessChannelBuilder.forName(a).directExecutor().build())
            .build();
    clients.add(c);
    return c;
  }

  private KvClient client(List<String> addresses) {
    return client(addresses, Duration.ofSeconds(5));
  }

  private List<String> serversCalled() {
    synchronized (log) {
      return log.stream().map(Call::server).toList();
    }
  }

  /** The calls but registrations. */
  private List<Call> writesAndReads() {
    synchronized (log) {
      return log.stream().filter(c -> !c.method().equals(FakeKvService.REGISTER)).toList();
    }
  }

  @Test
  void followsTheLeaderHintAndRemembersTheLeader() throws Exception {
    List<String> a = start("s1", "s2", "s3");
    node("s1").behavior = c -> notLeader(addr("s3"));
    node("s2").behavior = c -> notLeader(addr("s3"));
    node("s3").behavior = c -> FakeKvService.ok("v");
    KvClient client = client(a);

    assertThat(client.get("k")).contains("v");
    assertThat(serversCalled()).containsExactly(addr("s1"), addr("s3"));
    assertThat(client.leader()).isEqualTo(addr("s3"));

    client.put("k", "w"); // registers first, at the leader it knows
    assertThat(serversCalled()).containsExactly(addr("s1"), addr("s3"), addr("s3"), addr("s3"));
    assertThat(log.get(2).method()).isEqualTo(FakeKvService.REGISTER);
  }

  @Test
  void learnsALeaderThatWasNotInTheList() throws Exception {
    start("s1", "s2");
    node("s1").behavior = c -> notLeader(addr("s2"));
    KvClient client = client(List.of(addr("s1")));

    client.put("k", "v"); // the registration follows the hint; the write goes where it succeeded
    assertThat(serversCalled()).containsExactly(addr("s1"), addr("s2"), addr("s2"));
  }

  @Test
  void triesTheNextServerOnNotLeaderWithoutAHint() throws Exception {
    List<String> a = start("s1", "s2", "s3");
    node("s1").behavior = c -> notLeader("");
    node("s2").behavior = c -> notLeader("");
    KvClient client = client(a);

    client.put("k", "v");
    assertThat(serversCalled()).containsExactly(addr("s1"), addr("s2"), addr("s3"), addr("s3"));
    assertThat(client.leader()).isEqualTo(addr("s3"));
  }

  @Test
  void aLeaderThatStopsLeadingIsForgotten() throws Exception {
    List<String> a = start("s1", "s2");
    KvClient client = client(a);
    client.put("k", "v");
    assertThat(client.leader()).isEqualTo(addr("s1"));

    node("s1").behavior = c -> notLeader("");
    client.put("k", "v");
    assertThat(client.leader()).isEqualTo(addr("s2"));
  }

  @Test
  void retriesAWriteWithTheSameSessionAfterUnavailableTimeoutAndTransportFailures()
      throws Exception {
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

    client.append("k", "x");

    List<Call> calls = writesAndReads();
    assertThat(calls).hasSizeGreaterThanOrEqualTo(3);
    assertThat(calls).extracting(Call::clientId).containsOnly(101L);
    assertThat(calls).extracting(Call::sequence).containsOnly(1L);
    assertThat(calls.get(calls.size() - 1).server()).isEqualTo(addr("s1"));

    log.clear();
    client.put("k", "y");
    assertThat(log)
        .as("no second registration")
        .extracting(Call::clientId, Call::sequence)
        .containsOnly(tuple(101L, 2L));
  }

  @Test
  void readsAreRetriedAndCarryNoSession() throws Exception {
    List<String> a = start("s1");
    AtomicInteger n = new AtomicInteger();
    node("s1").behavior = c -> n.getAndIncrement() < 2 ? DROP : FakeKvService.ok("v");
    KvClient client = client(a);

    assertThat(client.get("k")).contains("v");
    assertThat(log).hasSize(3).extracting(Call::clientId).containsOnly(0L);
  }

  @Test
  void aWriteThatTimesOutUntilTheDeadlineHasAnUnknownOutcome() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> status(Status.TIMEOUT, "no outcome within 5000 ms"));
    KvClient client = client(a, Duration.ofMillis(300));

    assertThatThrownBy(() -> client.put("k", "v"))
        .isInstanceOf(OutcomeUnknownException.class)
        .satisfies(
            e -> {
              KvException k = (KvException) e;
              assertThat(k.outcomeUnknown()).isTrue();
              assertThat(k.status()).isEqualTo(Status.TIMEOUT);
              assertThat(k.getMessage()).contains("outcome unknown").contains("5000 ms");
            });
    assertThat(writesAndReads()).hasSizeGreaterThan(1);
    assertThat(writesAndReads())
        .extracting(Call::clientId, Call::sequence)
        .containsOnly(tuple(101L, 1L));
  }

  @Test
  void aWriteWhoseServerNeverAnswersHasAnUnknownOutcome() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> HANG);
    KvClient client = client(a, Duration.ofMillis(500));

    long t0 = System.nanoTime();
    assertThatThrownBy(() -> client.delete("k")).isInstanceOf(OutcomeUnknownException.class);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(300L, 3000L);
  }

  @Test
  void aWriteThatNoServerTookFailsDefinitely() throws Exception {
    List<String> a = start("s1", "s2");
    node("s1").behavior = c -> notLeader("");
    node("s2").behavior = c -> notLeader("");
    KvClient client = client(a, Duration.ofMillis(200));

    assertThatThrownBy(() -> client.put("k", "v"))
        .isExactlyInstanceOf(KvException.class)
        .satisfies(
            e -> {
              assertThat(((KvException) e).status()).isEqualTo(Status.UNAVAILABLE);
              assertThat(e.getMessage()).contains("no leader found");
            });
  }

  @Test
  void aReadThatTimesOutFailsWithoutUnknownOutcome() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = c -> status(Status.TIMEOUT, "no outcome within 5000 ms");
    KvClient client = client(a, Duration.ofMillis(200));

    assertThatThrownBy(() -> client.get("k"))
        .isExactlyInstanceOf(KvException.class)
        .satisfies(e -> assertThat(((KvException) e).status()).isEqualTo(Status.TIMEOUT));
  }

  @Test
  void unreachableServersAreSkipped() throws Exception {
    start("s2");
    KvClient client = client(List.of(addr("dead"), addr("s2")));

    client.put("k", "v");
    assertThat(client.leader()).isEqualTo(addr("s2"));
  }

  @Test
  void theClientRegistersLazilyOnItsFirstWriteOnly() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = c -> c.method().equals("GET") ? FakeKvService.ok("v") : ok();
    KvClient client = client(a);
    client.get("k");
    assertThat(client.clientId()).as("reads need no session").isZero();
    client.put("k", "v");
    client.append("k", "w");
    assertThat(log)
        .extracting(Call::method, Call::clientId, Call::sequence)
        .containsExactly(
            tuple("GET", 0L, 0L),
            tuple(FakeKvService.REGISTER, 0L, 0L),
            tuple("PUT", 101L, 1L),
            tuple("APPEND", 101L, 2L));
    assertThat(client.clientId()).isEqualTo(101L);
  }

  @Test
  void sessionExpiredOnAFirstAttemptRegistersANewSessionAndResends() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior =
        c ->
            c.clientId() == 101L && c.sequence() == 2L
                ? status(Status.SESSION_EXPIRED, "session 101 is unknown")
                : ok();
    KvClient client = client(a);
    client.put("k", "v"); // registers 101, sequence 1
    client.put("k", "v"); // 101/2 expired -> registers 102, 102/1
    assertThat(log)
        .extracting(Call::method, Call::clientId, Call::sequence)
        .containsExactly(
            tuple(FakeKvService.REGISTER, 0L, 0L),
            tuple("PUT", 101L, 1L),
            tuple("PUT", 101L, 2L),
            tuple(FakeKvService.REGISTER, 0L, 0L),
            tuple("PUT", 102L, 1L));
    assertThat(client.clientId()).isEqualTo(102L);
    assertThat(client.lastSequence()).isEqualTo(1L);
  }

  @Test
  void sessionExpiredAfterAnAttemptThatMayHaveAppliedIsAnUnknownOutcome() throws Exception {
    List<String> a = start("s1");
    AtomicInteger n = new AtomicInteger();
    node("s1").behavior =
        writesOnly(
            c ->
                switch (n.getAndIncrement()) {
                  case 0 -> status(Status.TIMEOUT, "no outcome within 5000 ms");
                  case 1 -> status(Status.SESSION_EXPIRED, "session expired");
                  default -> ok();
                });
    KvClient client = client(a);

    assertThatThrownBy(() -> client.append("k", "x"))
        .isInstanceOf(OutcomeUnknownException.class)
        .satisfies(e -> assertThat(((KvException) e).status()).isEqualTo(Status.SESSION_EXPIRED));
    assertThat(client.clientId()).as("the session is gone; none registered yet").isZero();

    client.append("k", "y"); // registers 102 first
    assertThat(log.get(log.size() - 1))
        .extracting(Call::clientId, Call::sequence)
        .isEqualTo(List.of(102L, 1L));
  }

  @Test
  void noKeyIsAResultNotAnError() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> status(Status.NO_KEY, "no such key"));
    KvClient client = client(a);

    assertThat(client.get("k")).isEmpty();
    assertThat(client.delete("k")).isFalse();
    assertThat(client.directGet(addr("s1"), new byte[] {'k'})).isEmpty();
  }

  @Test
  void invalidArgumentFailsAtOnceWithTheServersMessage() throws Exception {
    List<String> a = start("s1");
    node("s1").behavior = writesOnly(c -> status(Status.INVALID_ARGUMENT, "the key is empty"));
    KvClient client = client(a);

    assertThatThrownBy(() -> client.put("", "v"))
        .isExactlyInstanceOf(KvException.class)
        .hasMessage("the key is empty")
        .satisfies(e -> assertThat(((KvException) e).status()).isEqualTo(Status.INVALID_ARGUMENT));
    assertThat(writesAndReads()).hasSize(1);
  }

  @Test
  void directGetReadsTheNamedServerOnly() throws Exception {
    List<String> a = start("s1", "s2");
    node("s2").behavior = c -> FakeKvService.ok("stale");
    KvClient client = client(a);

    assertThat(client.directGet(addr("s2"), "k".getBytes()))
        .hasValueSatisfying(v -> assertThat(new String(v)).isEqualTo("stale"));
    assertThat(serversCalled()).containsExactly(addr("s2"));
    assertThat(log.get(0).method()).isEqualTo("DIRECT_GET");
  }

  @Test
  void concurrentWritesGetConsecutiveSequencesOfOneSession() throws Exception {
    List<String> a = start("s1");
    KvClient client = client(a);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        fs.add(
            pool.submit(
                () -> {
                  client.put("k", "v");
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get(10, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(writesAndReads()).extracting(Call::clientId).containsOnly(101L);
    assertThat(writesAndReads())
        .extracting(Call::sequence)
        .containsExactlyInAnyOrderElementsOf(range(1, 64));
    assertThat(log).hasSize(65);
  }

  @Test
  void aClosedClientRefusesWork() throws Exception {
    KvClient client = client(start("s1"));
    client.close();
    assertThatThrownBy(() -> client.get("k")).isInstanceOf(IllegalStateException.class);
  }

  private static List<Long> range(long from, long to) {
    List<Long> r = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      r.add(i);
    }
    return r;
  }

  private static org.assertj.core.groups.Tuple tuple(Object... values) {
    return org.assertj.core.groups.Tuple.tuple(values);
  }
}
