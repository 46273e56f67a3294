package io.raftkv.sim.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.Operation;
import io.raftkv.node.Compaction;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The course's kvraft (3A) scenarios on the simulator, with {@link SimKvCluster} (the server's node
 * runtime, KV state machine and KV service on every node, clients that retry with KvClient's
 * policy): the shared loop of the labs' GenericTest (3 iterations of client traffic, partitions
 * re-drawn every 1-1.2 s from 1 s, all servers crashed and restarted at the end of each iteration;
 * then every client's key holds each of its appends exactly once, in order) and the whole history
 * checked linearizable; plus UnreliableOneKey, OnePartition and Speed. Times are simulated; a
 * heartbeat is 100 ms as in the labs, and iterations last the labs' 5 s of traffic. Seeds are
 * fixed: a failure replays exactly.
 */
class KvScenariosTest {
  static final long TRAFFIC_MS = 5_000;

  // ---------------------------------------------------------------- the shared loop

  /** One client of the loop: the labs' GenericTest client function. */
  private static final class LoopClient implements SimKvClient.Driver {
    final SimKvCluster h;
    final int cli;
    final int nclients;
    final boolean randomKeys;
    final boolean checkPredictions;
    boolean started;
    boolean stop;
    int j;
    String last = "";
    String pendingValue;
    int mismatches;

    LoopClient(
        SimKvCluster h, int cli, int nclients, boolean randomKeys, boolean checkPredictions) {
      this.h = h;
      this.cli = cli;
      this.nclients = nclients;
      this.randomKeys = randomKeys;
      this.checkPredictions = checkPredictions;
    }

    @Override
    public KvInput next(SimKvClient clerk) {
      if (!started) {
        started = true;
        if (!randomKeys) {
          return KvInput.put(Integer.toString(cli), last);
        }
      }
      if (stop) {
        return null;
      }
      String key =
          randomKeys ? Integer.toString(h.random().nextInt(nclients)) : Integer.toString(cli);
      String nv = "x " + cli + " " + j + " y";
      if (h.random().nextInt(1000) < 500) {
        pendingValue = nv;
        return KvInput.append(key, nv);
      } else if (randomKeys && h.random().nextInt(1000) < 100) {
        pendingValue = nv;
        return KvInput.put(key, nv);
      }
      return KvInput.get(key);
    }

    @Override
    public void done(SimKvClient clerk, KvInput op, KvOutput out) {
      if (op instanceof KvInput.Append) {
        if (!randomKeys) {
          last = last + pendingValue;
        }
        j++;
      } else if (op instanceof KvInput.Put && randomKeys) {
        j++;
      } else if (op instanceof KvInput.Get && !randomKeys) {
        String got = out.status() == KvOutput.Status.VALUE ? out.value() : null;
        if (!last.equals(got)) {
          mismatches++;
          if (checkPredictions) {
            fail("get wrong value, key %d, wanted:\n%s\n, got\n%s\n%s", cli, last, got, h.replay());
          }
        }
      }
    }
  }

  /** Every append of client {@code cli} (0..count-1) is in {@code v} exactly once, in order. */
  static void checkClntAppends(int cli, String v, int count) {
    int lastOff = -1;
    for (int j = 0; j < count; j++) {
      String wanted = "x " + cli + " " + j + " y";
      int off = v.indexOf(wanted);
      if (off < 0) {
        fail("%d missing element %s in Append result %s", cli, wanted, v);
      }
      int off1 = v.lastIndexOf(wanted);
      if (off1 != off) {
        fail("duplicate element %s in Append result", wanted);
      }
      if (off <= lastOff) {
        fail("wrong order for element %s in Append result", wanted);
      }
      lastOff = off;
    }
  }

  record LoopResult(CheckResult check, int mismatches, int operations) {}

  /** The labs' GenericTest loop without a bound on the persisted log (3A). */
  static LoopResult genericLoop(
      SimKvCluster h,
      int nclients,
      boolean crash,
      boolean partitions,
      boolean randomKeys,
      boolean checkAppends) {
    return genericLoop(h, nclients, crash, partitions, randomKeys, checkAppends, -1);
  }

  /**
   * The labs' GenericTest: {@code nclients} clients for 3 iterations; checks the appends after each
   * iteration (fixed keys) and, if {@code maxRaftState} is positive (3B), that no node's persisted
   * log exceeds 8 times it; returns the linearizability verdict of the whole history.
   */
  static LoopResult genericLoop(
      SimKvCluster h,
      int nclients,
      boolean crash,
      boolean partitions,
      boolean randomKeys,
      boolean checkAppends,
      long maxRaftState) {
    SimKvClient ck = h.makeClient();
    int mismatches = 0;
    for (int iter = 0; iter < 3; iter++) {
      List<LoopClient> loops = new ArrayList<>();
      List<SimKvClient> clerks = new ArrayList<>();
      for (int cli = 0; cli < nclients; cli++) {
        SimKvClient c = h.makeClient();
        LoopClient lc = new LoopClient(h, cli, nclients, randomKeys, checkAppends);
        c.setDriver(lc);
        c.kick();
        loops.add(lc);
        clerks.add(c);
      }
      if (partitions) {
        // Let the clients perform some operations without interruption.
        h.sleep(1_000);
        long end = h.cluster().now() + TRAFFIC_MS - 1_000;
        while (h.cluster().now() < end) {
          int[] groups = new int[h.size()];
          int inA = 0;
          for (int i = 0; i < h.size(); i++) {
            groups[i] = h.random().nextInt(2);
            inA += groups[i] == 0 ? 1 : 0;
          }
          int[] a = new int[inA];
          int[] b = new int[h.size() - inA];
          for (int i = 0, ia = 0, ib = 0; i < h.size(); i++) {
            if (groups[i] == 0) {
              a[ia++] = i;
            } else {
              b[ib++] = i;
            }
          }
          h.partition(a, b);
          long pause = SimKvCluster.ELECTION_TIMEOUT_MS + h.random().nextLong(200);
          h.sleep(Math.min(pause, end - h.cluster().now()));
        }
      } else {
        h.sleep(TRAFFIC_MS);
      }
      loops.forEach(lc -> lc.stop = true);
      if (partitions) {
        h.connectAll();
        // Wait for a while for servers to shut down, since shutdown isn't a real crash and isn't
        // instantaneous (the labs' comment; here: let a leader emerge).
        h.sleep(SimKvCluster.ELECTION_TIMEOUT_MS);
      }
      if (crash) {
        // As the labs: the servers go down while the clients' last operations may be in flight.
        h.crashAll();
        h.sleep(SimKvCluster.ELECTION_TIMEOUT_MS);
        h.restartAll();
      }
      if (!h.runUntil(() -> clerks.stream().allMatch(SimKvClient::idle), 30_000)) {
        fail("clients did not finish their last operation%s", h.replay());
      }
      for (int cli = 0; cli < nclients; cli++) {
        mismatches += loops.get(cli).mismatches;
        KvOutput v = h.call(ck, KvInput.get(Integer.toString(cli)));
        if (checkAppends) {
          assertThat(v.status()).isEqualTo(KvOutput.Status.VALUE);
          checkClntAppends(cli, v.value(), loops.get(cli).j);
        }
      }
      if (maxRaftState > 0) {
        // Once the servers have processed every request and had time to snapshot.
        checkLogSize(h, maxRaftState);
      }
    }
    return new LoopResult(h.checkLinearizable(), mismatches, h.recorder().history().size());
  }

  /** The labs' bound on the persisted Raft state: 8 times maxraftstate. */
  static void checkLogSize(SimKvCluster h, long maxRaftState) {
    long size = h.logSize();
    if (size > 8 * maxRaftState) {
      fail("logs were not trimmed (%d > 8*%d)%s", size, maxRaftState, h.replay());
    }
  }

  /** The labs' GenericTest without snapshots (3A). */
  static void genericTest(
      long seed,
      int nclients,
      int servers,
      boolean unreliable,
      boolean crash,
      boolean partitions,
      boolean randomKeys) {
    genericTest(seed, nclients, servers, unreliable, crash, partitions, -1, randomKeys);
  }

  /**
   * The labs' GenericTest: the shared loop on a new cluster, then the history checked. With {@code
   * maxRaftState} positive (3B) the servers snapshot as {@link
   * KvSnapshotScenariosTest#compaction(long)} says and the loop bounds their persisted logs.
   */
  static void genericTest(
      long seed,
      int nclients,
      int servers,
      boolean unreliable,
      boolean crash,
      boolean partitions,
      long maxRaftState,
      boolean randomKeys) {
    Compaction compaction =
        maxRaftState > 0 ? KvSnapshotScenariosTest.compaction(maxRaftState) : Compaction.OFF;
    try (SimKvCluster h = SimKvCluster.course(servers, unreliable, seed, compaction)) {
      LoopResult r =
          genericLoop(h, nclients, crash, partitions, randomKeys, !randomKeys, maxRaftState);
      if (maxRaftState > 0) {
        // The bound means something only if the servers did snapshot.
        assertThat(h.snapshotSize()).as("snapshots taken" + h.replay()).isPositive();
      }
      if (unreliable) {
        // The faults really bit: some attempts failed and were retried.
        assertThat(h.retries()).as("retries").isPositive();
      }
      assertThat(r.check().verdict())
          .as("%d operations: %s%s", r.operations(), r.check(), h.replay())
          .isEqualTo(CheckResult.Verdict.OK);
    }
  }

  static void assertLinearizable(SimKvCluster h) {
    CheckResult r = h.checkLinearizable();
    assertThat(r.verdict())
        .as("history of %d operations: %s%s", h.recorder().history().size(), r, h.replay())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  // ---------------------------------------------------------------- the scenarios

  @Test
  void basic() {
    genericTest(3101, 1, 5, false, false, false, false);
  }

  @Test
  void concurrent() {
    genericTest(3102, 5, 5, false, false, false, false);
  }

  @Test
  void unreliable() {
    genericTest(3103, 5, 5, true, false, false, false);
  }

  @Test
  void manyPartitionsOneClient() {
    genericTest(3104, 1, 5, false, false, true, false);
  }

  @Test
  void manyPartitionsManyClients() {
    genericTest(3105, 5, 5, false, false, true, false);
  }

  @Test
  void persistOneClient() {
    genericTest(3106, 1, 5, false, true, false, false);
  }

  @Test
  void persistConcurrent() {
    genericTest(3107, 5, 5, false, true, false, false);
  }

  @Test
  void persistConcurrentUnreliable() {
    genericTest(3108, 5, 5, true, true, false, false);
  }

  @Test
  void persistPartition() {
    genericTest(3109, 5, 5, false, true, true, false);
  }

  @Test
  void persistPartitionUnreliable() {
    genericTest(3110, 5, 5, true, true, true, false);
  }

  @Test
  void persistPartitionUnreliableLinearizable() {
    genericTest(3111, 15, 7, true, true, true, true);
  }

  /** 5 clients x 10 appends to one key, unreliable: all 50 present once, in per-client order. */
  @Test
  void unreliableOneKey() {
    unreliableOneKey(3112);
  }

  static void unreliableOneKey(long seed) {
    try (SimKvCluster h = SimKvCluster.course(3, true, seed)) {
      SimKvClient ck = h.makeClient();
      h.call(ck, KvInput.put("k", ""));
      int nclient = 5;
      int upto = 10;
      List<SimKvClient> clerks = new ArrayList<>();
      for (int me = 0; me < nclient; me++) {
        SimKvClient c = h.makeClient();
        int cli = me;
        int[] sent = {0};
        c.setDriver(
            new SimKvClient.Driver() {
              @Override
              public KvInput next(SimKvClient clerk) {
                return sent[0] < upto
                    ? KvInput.append("k", "x " + cli + " " + sent[0]++ + " y")
                    : null;
              }

              @Override
              public void done(SimKvClient clerk, KvInput op, KvOutput out) {}
            });
        c.kick();
        clerks.add(c);
      }
      assertThat(h.runUntil(() -> clerks.stream().allMatch(c -> c.completed() == upto), 60_000))
          .as("appends completed" + h.replay())
          .isTrue();
      KvOutput v = h.call(ck, KvInput.get("k"));
      for (int me = 0; me < nclient; me++) {
        checkClntAppends(me, v.value(), upto);
      }
      assertThat(v.value().split(" y", -1)).hasSize(nclient * upto + 1);
      assertAppendOrderRespectsRealTime(h.recorder().history().operations(), v.value());
    }
  }

  /**
   * Linearizability of a history of appends to one key read once at the end, decided directly: the
   * final value fixes the order of the appends, which must respect real time (an append that
   * returned before another was called comes first). The generic checker gives up on this shape
   * (6.9 million states in 20 s: with nothing read until the end, every interleaving of the five
   * clients' appends that real time allows is a distinct state), so this is what it would decide.
   */
  static void assertAppendOrderRespectsRealTime(
      List<Operation<KvInput, KvOutput>> history, String finalValue) {
    List<Operation<KvInput, KvOutput>> appends = new ArrayList<>();
    for (Operation<KvInput, KvOutput> op : history) {
      assertThat(op.outcomeKnown()).as("%s completed", op).isTrue();
      if (op.input() instanceof KvInput.Append) {
        appends.add(op);
      }
    }
    for (Operation<KvInput, KvOutput> a : appends) {
      int pa = finalValue.indexOf(((KvInput.Append) a.input()).value());
      assertThat(pa).as("%s in the final value", a).isGreaterThanOrEqualTo(0);
      for (Operation<KvInput, KvOutput> b : appends) {
        if (a.returnTime() < b.callTime()) {
          int pb = finalValue.indexOf(((KvInput.Append) b.input()).value());
          assertThat(pa).as("%s returned before %s was called", a, b).isLessThan(pb);
        }
      }
    }
  }

  /**
   * The old leader in a 2-server minority: the majority serves Put and Get; a Put and a Get in the
   * minority do not complete within 1 s; after healing they complete within 3 s (after the labs'
   * election-timeout pause) and the minority Put's value is final.
   */
  @Test
  void onePartition() {
    onePartition(3113);
  }

  /**
   * The labs' OnePartition split of 5 servers: the current leader and one other in a minority of
   * two, the other three in the majority. Returns {majority, minority}.
   */
  static int[][] leaderToMinority(SimKvCluster h) {
    int leader = h.cluster().currentLeader();
    assertThat(leader).as("a leader after the first Put").isGreaterThanOrEqualTo(0);
    int other = (leader + 1) % 5;
    int[] minority = {leader, other};
    int[] majority = new int[3];
    for (int i = 0, k = 0; i < 5; i++) {
      if (i != leader && i != other) {
        majority[k++] = i;
      }
    }
    h.partition(majority, minority);
    return new int[][] {majority, minority};
  }

  static void onePartition(long seed) {
    try (SimKvCluster h = SimKvCluster.course(5, false, seed)) {
      SimKvClient ck = h.makeClient();
      h.call(ck, KvInput.put("1", "13"));
      int[][] sides = leaderToMinority(h);
      int[] p1 = sides[0];
      int[] p2 = sides[1];
      SimKvClient ckp1 = h.makeClient();
      ckp1.connectTo(p1);
      SimKvClient ckp2a = h.makeClient();
      ckp2a.connectTo(p2);
      SimKvClient ckp2b = h.makeClient();
      ckp2b.connectTo(p2);

      // Progress in majority.
      h.call(ckp1, KvInput.put("1", "14"));
      assertThat(h.call(ckp1, KvInput.get("1"))).isEqualTo(KvOutput.value("14"));

      // No progress in minority.
      ckp2a.start(KvInput.put("1", "15"));
      ckp2b.start(KvInput.get("1"));
      h.sleep(SimKvCluster.ELECTION_TIMEOUT_MS);
      assertThat(ckp2a.completed()).as("Put in minority completed").isZero();
      assertThat(ckp2b.completed()).as("Get in minority completed").isZero();
      assertThat(h.call(ckp1, KvInput.get("1"))).isEqualTo(KvOutput.value("14"));
      h.call(ckp1, KvInput.put("1", "16"));
      assertThat(h.call(ckp1, KvInput.get("1"))).isEqualTo(KvOutput.value("16"));

      // Completion after heal.
      h.connectAll();
      ckp2a.connectAll();
      ckp2b.connectAll();
      h.sleep(SimKvCluster.ELECTION_TIMEOUT_MS);
      assertThat(h.runUntil(() -> ckp2a.completed() == 1 && ckp2b.completed() == 1, 3_000))
          .as("minority Put and Get complete after heal" + h.replay())
          .isTrue();
      assertThat(h.call(ck, KvInput.get("1"))).isEqualTo(KvOutput.value("15"));
      assertLinearizable(h);
    }
  }

  /** 3 servers, 1 client: 1,000 sequential appends at three or more per heartbeat interval. */
  @Test
  void speed() {
    speed(3114);
  }

  static void speed(long seed) {
    speed(seed, Compaction.OFF);
  }

  static void speed(long seed, Compaction compaction) {
    try (SimKvCluster h = SimKvCluster.course(3, false, seed, compaction)) {
      SimKvClient ck = h.makeClient();
      // Wait until the first op completes: a leader is elected and the servers serve.
      h.call(ck, KvInput.get("x"));
      int numOps = 1_000;
      long start = h.cluster().now();
      for (int i = 0; i < numOps; i++) {
        h.call(ck, KvInput.append("x", "x 0 " + i + " y"));
      }
      long dur = h.cluster().now() - start;
      KvOutput v = h.call(ck, KvInput.get("x"));
      checkClntAppends(0, v.value(), numOps);
      assertThat(dur)
          .as("%d ms for %d appends (%.1f ms/op)", dur, numOps, dur / (double) numOps)
          .isLessThanOrEqualTo(numOps * SimKvCluster.HEARTBEAT_MS / 3);
      if (compaction.enabled()) {
        assertThat(h.snapshotSize()).as("snapshots taken" + h.replay()).isPositive();
      }
      assertLinearizable(h);
    }
  }

  /** The same seed gives the same history, operation for operation (clerks included). */
  @Test
  void sameSeedSameHistory() {
    List<String> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (SimKvCluster h = SimKvCluster.course(5, true, 3117)) {
        genericLoop(h, 3, true, true, false, true);
        runs.add(h.recorder().history().operations().toString());
      }
    }
    assertThat(runs.get(1)).isEqualTo(runs.get(0));
  }

  // ---------------------------------------------------------------- the harness can fail

  /**
   * A deliberately broken runtime whose nodes answer GET from their local state without ReadIndex:
   * the old leader, cut off in a minority with a client, still answers, and returns the value the
   * majority has since overwritten. The client sees the stale value and the checker says ILLEGAL.
   */
  @Test
  void aReadServedWithoutReadIndexIsCaught() {
    try (SimKvCluster h = SimKvCluster.course(5, false, 3115)) {
      h.breakReadsForTesting();
      SimKvClient ck = h.makeClient();
      h.call(ck, KvInput.put("1", "13"));
      int[][] sides = leaderToMinority(h);
      int[] p1 = sides[0];
      int[] p2 = sides[1];
      SimKvClient ckp1 = h.makeClient();
      ckp1.connectTo(p1);
      SimKvClient ckp2 = h.makeClient();
      ckp2.connectTo(p2);
      h.call(ckp1, KvInput.put("1", "14"));
      assertThat(h.call(ckp2, KvInput.get("1")))
          .as("the stale read")
          .isEqualTo(KvOutput.value("13"));
      CheckResult r = h.checkLinearizable();
      assertThat(r.verdict()).as(r.toString()).isEqualTo(CheckResult.Verdict.ILLEGAL);
    }
  }

  /**
   * A deliberately broken client that sends each retry of a write under a fresh session: with
   * replies lost, a retried append whose first attempt was applied applies again, and the client's
   * next read of its key (or the final check of every client's appends) finds the duplicate.
   */
  @Test
  void aRetryWithAFreshSessionIsCaught() {
    try (SimKvCluster h = SimKvCluster.course(5, true, 3118)) {
      h.breakSessionsForTesting();
      // Either check may see it first: a client's own read of its key, or the final check.
      assertThatThrownBy(() -> genericLoop(h, 5, false, false, false, true))
          .isInstanceOf(AssertionError.class)
          .satisfies(
              e ->
                  assertThat(e.getMessage()).containsAnyOf("duplicate element", "get wrong value"));
    }
  }
}
