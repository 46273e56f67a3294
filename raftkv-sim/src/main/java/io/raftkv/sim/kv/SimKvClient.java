package io.raftkv.sim.kv;

import com.google.protobuf.ByteString;
import io.raftkv.client.KvException;
import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.client.retry.ServerRouting;
import io.raftkv.client.retry.WriteSession;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A simulated client: one outstanding operation at a time, routed and retried by {@link
 * RetryPolicy} exactly as {@link io.raftkv.client.KvClient} does (leader memory, hints, backoff,
 * sessions registered through the log before the first write and after an expiry, the same (client
 * id, sequence) on every retry, unknown outcomes), over the simulated client links of its {@link
 * SimKvCluster}. Each client knows the servers in its own random order.
 *
 * <p>A write whose outcome is unknown stays open in the history: it may have taken effect at any
 * point after its call, or never. A read without an answer and a write that failed definitely are
 * left out: they took no effect (a write that did would make the history fail the check).
 *
 * <p>Thread-safety: none; one simulation thread.
 */
public final class SimKvClient {

  /** What a client does next when it is idle: the workload of a test. */
  public interface Driver {
    /** The next operation, or null to stay idle. */
    KvInput next(SimKvClient client);

    /** {@code op} ended: {@code out} is its answer, or null if it has none (see lastError). */
    void done(SimKvClient client, KvInput op, KvOutput out);
  }

  private final SimKvCluster kv;
  private final int id;
  private final SplittableRandom random;
  private final ServerRouting routing;
  private final WriteSession session;
  private Driver driver;

  /** The servers this client can reach (the labs' ConnectClient); null = all. */
  private boolean[] reachable;

  private KvInput op;
  private RetryPolicy.Operation retry;
  private int handle;
  private boolean busy;

  /** Numbers attempts, so that an answer to an abandoned attempt is ignored. */
  private long attempt;

  private int attemptNode = -1;
  private int completed;
  private KvOutput lastOutput;
  private KvException lastError;

  SimKvClient(SimKvCluster kv, int id, SplittableRandom random) {
    this.kv = kv;
    this.id = id;
    this.random = random;
    List<String> servers = new ArrayList<>();
    for (int i = 0; i < kv.size(); i++) {
      servers.add(SimKvCluster.address(i));
    }
    for (int i = servers.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      servers.set(i, servers.set(j, servers.get(i)));
    }
    this.routing = new ServerRouting(servers);
    this.session = new WriteSession();
  }

  public int id() {
    return id;
  }

  public boolean idle() {
    return !busy;
  }

  /** Operations ended (with or without an answer). */
  public int completed() {
    return completed;
  }

  /** The last operation's answer, or null if it ended without one. */
  public KvOutput lastOutput() {
    return lastOutput;
  }

  /** Why the last operation ended without an answer. */
  public KvException lastError() {
    return lastError;
  }

  public void setDriver(Driver driver) {
    this.driver = driver;
  }

  /** Restricts the client to these servers (the labs' ConnectClient). */
  public void connectTo(int... servers) {
    reachable = new boolean[kv.size()];
    for (int s : servers) {
      reachable[s] = true;
    }
  }

  public void connectAll() {
    reachable = null;
  }

  /** Asks the driver for an operation now, if idle. */
  public void kick() {
    kv.cluster().schedule(kv.cluster().now(), this::next);
  }

  private void next() {
    if (!busy && driver != null) {
      KvInput input = driver.next(this);
      if (input != null) {
        start(input);
      }
    }
  }

  /** Starts {@code input} now (the client must be idle). */
  public void start(KvInput input) {
    if (busy) {
      throw new IllegalStateException("client " + id + " is busy with " + op);
    }
    busy = true;
    op = input;
    handle = kv.recorder().invoke(id, input);
    long now = nanos();
    retry =
        input instanceof KvInput.Get
            ? kv.settings().clientPolicy().read("GET", routing, null, now, random)
            : kv.settings().clientPolicy().write(name(input), routing, session, now, random);
    send(false);
  }

  // ---------------------------------------------------------------- one attempt

  private void send(boolean isRetry) {
    long a = ++attempt;
    String server = retry.target();
    int node = SimKvCluster.nodeOf(server);
    long now = kv.cluster().now();
    long budgetMs = Math.max(1, (retry.attemptBudgetNanos(nanos()) + 999_999) / 1_000_000);
    kv.cluster()
        .schedule(
            now + budgetMs,
            () ->
                answer(
                    a,
                    RetryPolicy.Answer.transportFailure(
                        server,
                        Status.TIMEOUT,
                        server + ": no answer within " + budgetMs + " ms")));
    Object request = request(isRetry);
    if (kv.unreliable() && random.nextInt(10) == 0) {
      failSoon(a, server, "request lost");
      return;
    }
    if (reachable != null && !reachable[node]) {
      failSoon(a, server, "unreachable");
      return;
    }
    // At least a millisecond on the way: a node that commits alone (a one-voter configuration)
    // would otherwise answer clients that ask again at once, and simulated time would stand still.
    long delay = 1 + (kv.unreliable() ? random.nextLong(27) : 0);
    kv.cluster()
        .schedule(
            now + delay,
            () -> {
              if (a != attempt) {
                return;
              }
              attemptNode = node;
              boolean up =
                  kv.deliver(
                      node,
                      request,
                      response -> reply(a, server, response, kv.unreliable() ? random : null));
              if (!up) {
                attemptNode = -1;
                failSoon(a, server, "connection refused");
              }
            });
  }

  /** A call that fails in transport a little later (the labs' RPC returning false). */
  private void failSoon(long a, String server, String why) {
    long later = 1 + random.nextLong(100);
    kv.cluster()
        .schedule(
            kv.cluster().now() + later,
            () ->
                answer(
                    a,
                    RetryPolicy.Answer.transportFailure(
                        server, Status.UNAVAILABLE, server + ": " + why)));
  }

  private void reply(long a, String server, KvResponse response, SplittableRandom lossy) {
    if (a == attempt) {
      attemptNode = -1; // answered: a crash from now on does not reset this call
    }
    if (lossy != null && lossy.nextInt(10) == 0) {
      failSoon(a, server, "reply lost");
      return;
    }
    long delay = lossy != null ? lossy.nextLong(27) : 0;
    kv.cluster()
        .schedule(
            kv.cluster().now() + delay,
            () -> answer(a, RetryPolicy.Answer.of(server, response), response));
  }

  /** The node an attempt was delivered to crashed: its connection resets. */
  void nodeCrashed(int node) {
    if (busy && attemptNode == node) {
      long a = attempt;
      String server = SimKvCluster.address(node);
      kv.cluster()
          .schedule(
              kv.cluster().now() + 1,
              () ->
                  answer(
                      a,
                      RetryPolicy.Answer.transportFailure(
                          server, Status.UNAVAILABLE, server + ": connection reset")));
    }
  }

  private void answer(long a, RetryPolicy.Answer answer) {
    answer(a, answer, null);
  }

  /** {@code response}: the server's, or null for a transport failure. */
  private void answer(long a, RetryPolicy.Answer answer, KvResponse response) {
    if (a != attempt || !busy) {
      return; // an abandoned attempt
    }
    attempt++; // no later answer to this attempt counts
    attemptNode = -1;
    RetryPolicy.Decision d = retry.onAnswer(answer, nanos());
    switch (d.kind()) {
      case DONE -> finish(output(response), null);
      case FAIL -> finish(null, d.error());
      case RETRY -> {
        kv.retries++;
        long delayMs = (d.delayNanos() + 999_999) / 1_000_000;
        kv.cluster().schedule(kv.cluster().now() + delayMs, () -> send(true));
      }
    }
  }

  private KvOutput output(KvResponse r) {
    if (r.getStatus() == Status.NO_KEY) {
      return KvOutput.noKey();
    }
    return op instanceof KvInput.Get ? KvOutput.value(r.getValue().toStringUtf8()) : KvOutput.ok();
  }

  private void finish(KvOutput out, KvException error) {
    if (out != null) {
      kv.recorder().complete(handle, out);
    } else if (!error.outcomeUnknown()) { // an unknown write stays open: it may have applied
      // A read without an answer, or a write refused definitely: no effect (KvClient's contract,
      // which the check then verifies).
      kv.recorder().discard(handle);
    }
    KvInput done = op;
    busy = false;
    op = null;
    lastOutput = out;
    lastError = error;
    completed++;
    if (driver != null) {
      driver.done(this, done, out);
      kick();
    }
  }

  // ---------------------------------------------------------------- requests

  private Object request(boolean isRetry) {
    ByteString key = ByteString.copyFromUtf8(op.key());
    if (op instanceof KvInput.Get) {
      return GetRequest.newBuilder().setKey(key).build();
    }
    if (retry.registering()) {
      return RegisterClientRequest.getDefaultInstance();
    }
    SessionHeader s = retry.session();
    if (isRetry && kv.sessionsBroken()) {
      s = SessionHeader.getDefaultInstance(); // no session: applied each time it reaches the log
    }
    if (op instanceof KvInput.Put p) {
      return PutRequest.newBuilder()
          .setSession(s)
          .setKey(key)
          .setValue(ByteString.copyFromUtf8(p.value()))
          .build();
    }
    if (op instanceof KvInput.Append ap) {
      return AppendRequest.newBuilder()
          .setSession(s)
          .setKey(key)
          .setValue(ByteString.copyFromUtf8(ap.value()))
          .build();
    }
    return DeleteRequest.newBuilder().setSession(s).setKey(key).build();
  }

  private static String name(KvInput op) {
    if (op instanceof KvInput.Put) {
      return "PUT";
    }
    return op instanceof KvInput.Append ? "APPEND" : "DELETE";
  }

  private long nanos() {
    return kv.cluster().now() * 1_000_000L;
  }
}
