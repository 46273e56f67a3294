package io.raftkv.bench;

import io.grpc.ManagedChannel;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.random.RandomGenerator;

/**
 * Failover trials on one running cluster (Figure 16 of the Raft paper): wait until the cluster is
 * stable, kill -9 the leader at a random moment within its heartbeat interval, time (1) until a
 * survivor's log says it became leader of a newer term and (2) until a write succeeds, then restart
 * the killed node (same ports and data) for the next trial.
 */
final class Failover implements AutoCloseable {

  /**
   * One trial. Times are from just before the SIGKILL; NaN if not seen within {@link #LIMIT}.
   *
   * @param killDelayMs the random wait, within one heartbeat interval, before the kill
   * @param writeServer the server that acknowledged the first write
   */
  record Trial(
      int trial,
      int killedNode,
      long oldTerm,
      double killDelayMs,
      int newLeader,
      long newTerm,
      double leaderMs,
      double firstWriteMs,
      String writeServer) {}

  /** How long a trial waits for a new leader and a write before giving up on it. */
  static final Duration LIMIT = Duration.ofSeconds(30);

  private static final Duration STABLE_LIMIT = Duration.ofSeconds(60);
  private static final byte[] KEY = "__failover__".getBytes(StandardCharsets.US_ASCII);

  private final RaftkvTarget cluster;
  private final TimingGroup group;
  private final RandomGenerator random;
  private final List<String> endpoints;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final ExecutorService pool;
  private final KvClient writer;
  private long writes;
  private final long settleNanos;

  Failover(RaftkvTarget cluster, TimingGroup group, RandomGenerator random, Duration settle) {
    this.settleNanos = settle.toNanos();
    this.cluster = cluster;
    this.group = group;
    this.random = random;
    this.endpoints = cluster.endpoints();
    for (String ep : endpoints) {
      channels.add(OkHttpChannelBuilder.forTarget(ep).usePlaintext().build());
    }
    this.pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "failover");
              t.setDaemon(true);
              return t;
            });
    // Short attempts and backoffs: a client that retries every few ms sees the new leader about
    // as soon as it can take writes; KvClient's defaults (10-500 ms backoff) would measure the
    // client instead. A write to the dead leader fails at once (connection refused).
    this.writer =
        KvClient.builder(endpoints)
            .timeout(Duration.ofSeconds(2))
            .attemptTimeout(Duration.ofMillis(500))
            .initialBackoff(Duration.ofMillis(1))
            .maxBackoff(Duration.ofMillis(5))
            .build();
  }

  /** The leader and term of a stable cluster. */
  private record Stable(int leader, long term) {}

  Trial run(int trial) throws Exception {
    sleepNanos(settleNanos);
    Stable s;
    long delayNanos;
    int attempts = 0;
    while (true) {
      s = awaitStable();
      // The leader's heartbeats run on their own clock, so a uniform wait over one interval puts
      // the kill at a uniformly random point of it, as in the paper.
      delayNanos = (long) (random.nextDouble() * group.heartbeatMs() * 1e6);
      sleepNanos(delayNanos);
      StatusResponse now = status(s.leader(), 100);
      if (now != null && now.getRole() == Role.LEADER && now.getTerm() == s.term()) {
        break;
      }
      if (++attempts >= 20) {
        throw new IllegalStateException(
            group.label() + ": leadership kept changing on its own; cluster not stable");
      }
    }
    int victim = s.leader();
    long oldTerm = s.term();

    CountDownLatch go = new CountDownLatch(1);
    Future<Object[]> write = pool.submit(() -> firstWrite(go));

    long killedAtMillis = System.currentTimeMillis();
    long killedAt = System.nanoTime();
    cluster.kill(victim);
    go.countDown();

    Object[] w = null;
    try {
      w = write.get(LIMIT.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      write.cancel(true);
    }
    ServerLogs.Leadership l = newLeader(victim, oldTerm, killedAtMillis, killedAt);
    cluster.awaitExit(victim, Duration.ofSeconds(10));
    cluster.restart(victim, STABLE_LIMIT);
    return new Trial(
        trial,
        victim,
        oldTerm,
        delayNanos / 1e6,
        l == null ? -1 : l.node(),
        l == null ? -1 : l.term(),
        // The line's time is truncated to the millisecond: count it from the middle of it.
        l == null ? Double.NaN : l.millis() + 0.5 - killedAtMillis,
        w == null ? Double.NaN : ((long) w[0] - killedAt) / 1e6,
        w == null ? "" : (String) w[1]);
  }

  /**
   * The first survivor whose log says it became leader of a term above {@code oldTerm} since the
   * kill (the line is written in the turn the node won its election), waiting for the line up to
   * {@link #LIMIT} after the kill; null if none did. Read from the logs, not by polling each
   * survivor's Status: polling every millisecond (4,000 calls a second with 5 nodes) competed for
   * the 2 cores with the very election it timed.
   */
  private ServerLogs.Leadership newLeader(
      int victim, long oldTerm, long killedAtMillis, long killedAtNanos) {
    while (true) {
      ServerLogs.Leadership first = null;
      for (int i = 0; i < endpoints.size(); i++) {
        if (i == victim) {
          continue;
        }
        ServerLogs.Leadership l =
            ServerLogs.raftkvLeadership(cluster.logFile(i), oldTerm, killedAtMillis);
        if (l != null && (first == null || l.millis() < first.millis())) {
          first = l;
        }
      }
      if (first != null || System.nanoTime() - killedAtNanos > LIMIT.toNanos()) {
        return first;
      }
      sleepNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
  }

  /**
   * PUTs in a loop from the kill on, each through the writer (which still believes in the old
   * leader, like a client that was writing before); returns {completion nanos, server} of the first
   * acknowledged one. Writes issued before the kill are not counted: the cluster is idle then, so
   * that the kill falls at a random point of a heartbeat interval as in the paper.
   */
  private Object[] firstWrite(CountDownLatch go) throws InterruptedException {
    go.await();
    long deadline = System.nanoTime() + LIMIT.toNanos();
    while (System.nanoTime() < deadline && !Thread.currentThread().isInterrupted()) {
      try {
        writer.put(KEY, value());
        return new Object[] {System.nanoTime(), writer.leader()};
      } catch (KvException e) {
        // no leader yet, or the outcome is unknown: try again with a new PUT
      }
    }
    return null;
  }

  private byte[] value() {
    return Long.toString(++writes).getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Waits until all nodes are up, agree on one leader and term, and have applied everything the
   * leader has committed (a restarted node has caught up), twice in a row 20 ms apart.
   */
  private Stable awaitStable() {
    long deadline = System.nanoTime() + STABLE_LIMIT.toNanos();
    // A write in the current term: the leader has committed its term's entries, and the writer
    // knows the leader as a client that was writing would.
    while (true) {
      try {
        writer.put(KEY, value());
        break;
      } catch (KvException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(group.label() + ": no write succeeded: " + e);
        }
        sleepNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
    }
    Stable previous = null;
    String why = "";
    while (System.nanoTime() < deadline) {
      List<StatusResponse> all = new ArrayList<>();
      for (int i = 0; i < endpoints.size(); i++) {
        all.add(status(i, 500));
      }
      Stable now = stable(all);
      if (now != null && now.equals(previous)) {
        return now;
      }
      why = now == null ? describe(all) : "";
      previous = now;
      sleepNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    throw new IllegalStateException(
        group.label() + ": cluster not stable within " + STABLE_LIMIT.toSeconds() + " s: " + why);
  }

  private static Stable stable(List<StatusResponse> all) {
    StatusResponse leader = null;
    for (StatusResponse st : all) {
      if (st == null) {
        return null;
      }
      if (st.getRole() == Role.LEADER) {
        if (leader != null) {
          return null;
        }
        leader = st;
      }
    }
    if (leader == null) {
      return null;
    }
    for (StatusResponse st : all) {
      if (st.getTerm() != leader.getTerm()
          || st.getLeaderId() != leader.getId()
          || (st != leader && st.getRole() != Role.FOLLOWER)
          || st.getAppliedIndex() < leader.getCommitIndex()) {
        return null;
      }
    }
    return new Stable(leader.getId(), leader.getTerm());
  }

  private static String describe(List<StatusResponse> all) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < all.size(); i++) {
      StatusResponse st = all.get(i);
      sb.append(i).append('=');
      sb.append(
          st == null
              ? "down"
              : st.getRole() + "/t" + st.getTerm() + "/applied " + st.getAppliedIndex());
      sb.append(' ');
    }
    return sb.toString().strip();
  }

  /** Node i's Status, or null if it does not answer within the deadline. */
  private StatusResponse status(int node, long deadlineMs) {
    try {
      return AdminGrpc.newBlockingStub(channels.get(node))
          .withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS)
          .status(StatusRequest.newBuilder().setBrief(true).build());
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static void sleepNanos(long nanos) {
    long until = System.nanoTime() + nanos;
    for (long left = nanos; left > 0; left = until - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }

  @Override
  public void close() {
    writer.close();
    pool.shutdownNow();
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
  }
}
