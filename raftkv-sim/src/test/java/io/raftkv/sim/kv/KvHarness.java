package io.raftkv.sim.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.HistoryRecorder;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvModel;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.kvs.Status;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.sim.ClusterObserver;
import io.raftkv.sim.SafetyCheckers;
import io.raftkv.sim.SimCluster;
import io.raftkv.sim.SimConfig;
import io.raftkv.sim.Violation;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.MemoryKvEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The course's kvraft harness (config.go and the clerk of the labs) on the simulator: one real
 * {@link KvStateMachine} (the server's, over a {@link MemoryKvEngine} instead of RocksDB) per node
 * instance (a restarted node gets an empty one and re-applies its log from index 1, as the observer
 * sees it), and clerks that behave like raftkv's KvClient.
 *
 * <p>A clerk has a random client id and numbers its writes 1, 2, 3...; it proposes a write as a
 * {@link KvCommand} to the node it believes is leader, and the write completes when that node
 * applies an entry with the clerk's (client id, sequence), with that entry's result (the cached one
 * for a duplicate). When the node refuses (not leader, down), applies another entry at the proposed
 * index, crashes, or 500 ms pass, the clerk retries the SAME (id, sequence) at the next node. A Get
 * asks the node for a ReadIndex, waits for the node to apply up to it and reads the node's local
 * state machine; it retries the same way. Clerks are cooperative: each has a wake-up time, the
 * observer wakes the clerk an event concerns, and simulated time runs from one wake-up to the next,
 * so runs are reproducible from the seed.
 *
 * <p>With an unreliable network, the clerk-to-server "RPCs" are unreliable too, as in the labs: one
 * request in ten is lost (the clerk hears nothing for up to 100 ms) and one reply in ten is lost
 * (the write or read happened, the clerk does not learn it and retries).
 *
 * <p>Every operation is recorded in a {@link HistoryRecorder} on simulated time; {@link
 * #checkLinearizable()} runs the checker with {@link KvModel}. The simulator's safety checkers run
 * all along; {@link #close()} fails on any violation.
 */
final class KvHarness implements AutoCloseable {
  static final long TICK_MS = 10;

  /** The labs' heartbeat: 100 ms (10 ticks). */
  static final long HEARTBEAT_MS = 100;

  /** The labs' electionTimeout: the time a test allows for an election. */
  static final long ELECTION_TIMEOUT_MS = 1000;

  /** How long a clerk waits for one attempt before trying another node. */
  static final long ATTEMPT_TIMEOUT_MS = 500;

  final SimCluster cluster;
  final SplittableRandom random;
  final int n;
  final long seed;
  final HistoryRecorder<KvInput, KvOutput> recorder;
  private final KvStateMachine[] machines;
  private final int[] generation;
  private final SafetyCheckers safety;
  private final List<Clerk> clerks = new ArrayList<>();
  private boolean unreliable;
  private boolean woken;
  private long nextContext = 1;

  /** Attempts a clerk made after an earlier attempt of the same operation failed or timed out. */
  int retries;

  /** Entries applied (on any node) that were retries of a write already applied: deduplicated. */
  int duplicatesApplied;

  /**
   * Test only (proves the harness can fail): Gets read any node's local state at once, without
   * ReadIndex, as a broken server serving reads from followers would.
   */
  boolean brokenReads;

  KvHarness(int servers, boolean unreliable, long seed) {
    this.seed = seed;
    this.n = servers;
    this.random = new SplittableRandom(seed ^ 0x3A3A3AL);
    List<Integer> voters = new ArrayList<>();
    for (int i = 0; i < servers; i++) {
      voters.add(i);
    }
    // As LabHarness: heartbeat every 100 ms, election timeout 300-600 ms.
    RaftConfig raft =
        RaftConfig.defaults(0, voters)
            .withElectionTimeout(30, 60)
            .withHeartbeat((int) (HEARTBEAT_MS / TICK_MS));
    this.cluster = new SimCluster(new SimConfig(servers, TICK_MS, raft), seed);
    this.recorder = new HistoryRecorder<>(cluster::now);
    this.machines = new KvStateMachine[servers];
    this.generation = new int[servers];
    for (int i = 0; i < servers; i++) {
      machines[i] = newMachine();
    }
    this.safety = SafetyCheckers.attach(cluster);
    cluster.addObserver(new Observer());
    setUnreliable(unreliable);
  }

  void setUnreliable(boolean on) {
    unreliable = on;
    cluster.setUnreliable(on);
  }

  // ---------------------------------------------------------------- the servers' side

  private final class Observer implements ClusterObserver {
    @Override
    public void restarted(long time, int node, List<Entry> log, HardState hardState) {
      machines[node] = newMachine();
      generation[node]++;
    }

    @Override
    public void crashed(long time, int node) {
      generation[node]++;
      for (Clerk c : clerks) {
        if (c.phase != Phase.IDLE && c.phase != Phase.SEND && c.node == node) {
          c.failed = true;
          wake(c);
        }
      }
    }

    @Override
    public void entryApplied(long time, int node, Entry entry) {
      List<KvStateMachine.Applied> results = machines[node].apply(List.of(entry)).results();
      if (results.isEmpty()) {
        return;
      }
      KvStateMachine.Applied a = results.get(0);
      if (a.duplicate()) {
        duplicatesApplied++;
      }
      for (Clerk c : clerks) {
        if (c.node != node || c.nodeGeneration != generation[node]) {
          continue;
        }
        if (c.phase == Phase.WAIT_WRITE && c.result == null) {
          if (a.clientId() == c.clientId && a.sequence() == c.seq) {
            c.result = a;
            wake(c);
          } else if (a.index() >= c.index) {
            c.failed = true; // another entry took the index: leadership was lost
            wake(c);
          }
        } else if (c.phase == Phase.WAIT_READ && c.readIndex > 0 && a.index() >= c.readIndex) {
          wake(c);
        }
      }
    }

    @Override
    public void readStateEmitted(
        long time, int node, long context, long index, long maxCommitAtRequest) {
      for (Clerk c : clerks) {
        if (c.phase == Phase.WAIT_READ && c.node == node && c.context == context) {
          c.readIndex = index;
          wake(c);
        }
      }
    }
  }

  private void wake(Clerk c) {
    c.wakeAt = cluster.now();
    woken = true;
  }

  /** Node {@code i}'s current state machine (read-only use). */
  KvStateMachine machine(int i) {
    return machines[i];
  }

  /** The server's state machine, in memory, with the server's default options. */
  private static KvStateMachine newMachine() {
    return new KvStateMachine(new MemoryKvEngine(), KvStateMachine.Options.defaults());
  }

  // ---------------------------------------------------------------- clerks

  enum Phase {
    IDLE,
    SEND,
    WAIT_WRITE,
    WAIT_READ,
    REPLY_LOST
  }

  /** What a clerk does next when it is idle: the workload of a test. */
  interface Driver {
    /** The next operation, or null to stay idle. */
    KvInput next(Clerk clerk);

    /** {@code op} returned {@code out}. */
    void done(Clerk clerk, KvInput op, KvOutput out);
  }

  /** A client, as KvClient: one outstanding operation, retried until it completes. */
  final class Clerk {
    final int id;
    final long clientId;
    Driver driver;
    long seq;
    int leader;

    /** The servers this clerk can reach (the labs' ConnectClient); null = all. */
    boolean[] reachable;

    Phase phase = Phase.IDLE;
    KvInput op;
    int handle;
    long wakeAt = Long.MAX_VALUE;
    int node = -1;
    int nodeGeneration;
    long index;
    long context;
    long readIndex;
    long deadline;
    boolean failed;
    KvStateMachine.Applied result;
    KvOutput lastOutput;
    int completed;

    Clerk(int id) {
      this.id = id;
      long cid = 0;
      while (cid == 0) {
        cid = random.nextLong();
      }
      this.clientId = cid;
      this.leader = random.nextInt(n);
    }

    boolean idle() {
      return phase == Phase.IDLE;
    }

    void connectTo(int... servers) {
      reachable = new boolean[n];
      for (int s : servers) {
        reachable[s] = true;
      }
    }

    void connectAll() {
      reachable = null;
    }

    /** Starts {@code input} now (the clerk must be idle). */
    void start(KvInput input) {
      if (phase != Phase.IDLE) {
        throw new IllegalStateException("clerk " + id + " is busy with " + op);
      }
      op = input;
      if (!(input instanceof KvInput.Get)) {
        seq++;
      }
      handle = recorder.invoke(id, input);
      phase = Phase.SEND;
      wakeAt = cluster.now();
      woken = true;
    }

    void step() {
      long now = cluster.now();
      switch (phase) {
        case IDLE -> {
          wakeAt = Long.MAX_VALUE;
          KvInput next = driver == null ? null : driver.next(this);
          if (next != null) {
            start(next);
            send();
          }
        }
        case SEND -> send();
        case REPLY_LOST -> {
          leader = (leader + 1) % n;
          retries++;
          send();
        }
        case WAIT_WRITE -> {
          if (result != null) {
            if (unreliable && random.nextInt(10) == 0) {
              lostReply();
            } else {
              finish(toOutput(result));
            }
          } else if (failed || now >= deadline) {
            leader = (leader + 1) % n;
            retries++;
            send();
          } else {
            wakeAt = deadline;
          }
        }
        case WAIT_READ -> {
          if (!failed && readIndex > 0 && machines[node].appliedIndex() >= readIndex) {
            if (unreliable && random.nextInt(10) == 0) {
              lostReply();
            } else {
              finish(read(node));
            }
          } else if (failed || now >= deadline) {
            leader = (leader + 1) % n;
            retries++;
            send();
          } else {
            wakeAt = deadline;
          }
        }
      }
    }

    private void lostReply() {
      phase = Phase.REPLY_LOST;
      wakeAt = cluster.now() + 1 + random.nextLong(26);
    }

    private KvOutput read(int server) {
      Optional<byte[]> v = machines[server].get(ByteString.copyFromUtf8(op.key()).toByteArray());
      return v.map(b -> KvOutput.value(ByteString.copyFrom(b).toStringUtf8()))
          .orElse(KvOutput.noKey());
    }

    private KvOutput toOutput(KvStateMachine.Applied a) {
      if (a.status() == Status.OK) {
        return KvOutput.ok();
      }
      if (a.status() == Status.NO_KEY) {
        return KvOutput.noKey();
      }
      fail("clerk %d: %s failed: %s%s", id, op, a.result(), replay());
      return null;
    }

    private void finish(KvOutput out) {
      recorder.complete(handle, out);
      KvInput done = op;
      phase = Phase.IDLE;
      op = null;
      node = -1;
      lastOutput = out;
      completed++;
      wakeAt = cluster.now();
      woken = true;
      if (driver != null) {
        driver.done(this, done, out);
      }
    }

    /** One attempt: the first reachable node from the leader guess that takes the request. */
    private void send() {
      long now = cluster.now();
      failed = false;
      result = null;
      readIndex = 0;
      if (unreliable && random.nextInt(10) == 0) {
        // The request is lost: the labs' RPC fails after a short while.
        phase = Phase.REPLY_LOST;
        wakeAt = now + 1 + random.nextLong(100);
        return;
      }
      if (brokenReads && op instanceof KvInput.Get) {
        // Any node at all, as a follower serving reads from its local state would.
        int start = random.nextInt(n);
        for (int k = 0; k < n; k++) {
          int s = (start + k) % n;
          if ((reachable == null || reachable[s]) && cluster.isUp(s)) {
            finish(read(s));
            return;
          }
        }
      }
      for (int k = 0; k < n; k++) {
        int s = (leader + k) % n;
        if ((reachable != null && !reachable[s]) || !cluster.isUp(s)) {
          continue;
        }
        if (op instanceof KvInput.Get) {
          long ctx = nextContext++;
          if (cluster.readIndex(s, ctx)) {
            leader = s;
            node = s;
            nodeGeneration = generation[s];
            context = ctx;
            deadline = now + ATTEMPT_TIMEOUT_MS;
            phase = Phase.WAIT_READ;
            wakeAt = deadline;
            return;
          }
        } else {
          long i = cluster.propose(s, command().toByteString());
          if (i > 0) {
            leader = s;
            node = s;
            nodeGeneration = generation[s];
            index = i;
            deadline = now + ATTEMPT_TIMEOUT_MS;
            phase = Phase.WAIT_WRITE;
            wakeAt = deadline;
            return;
          }
        }
      }
      // No leader reachable: try again soon, as the labs' clerk after a round of refusals.
      phase = Phase.SEND;
      wakeAt = now + HEARTBEAT_MS;
    }

    private KvCommand command() {
      KvCommand.Builder b =
          KvCommand.newBuilder()
              .setClientId(clientId)
              .setSequence(seq)
              .setLeaderTimeMillis(cluster.now());
      ByteString key = ByteString.copyFromUtf8(op.key());
      if (op instanceof KvInput.Put p) {
        b.setPut(
            KvCommand.Put.newBuilder().setKey(key).setValue(ByteString.copyFromUtf8(p.value())));
      } else if (op instanceof KvInput.Append a) {
        b.setAppend(
            KvCommand.Append.newBuilder().setKey(key).setValue(ByteString.copyFromUtf8(a.value())));
      } else {
        b.setDelete(KvCommand.Delete.newBuilder().setKey(key));
      }
      return b.build();
    }
  }

  Clerk makeClerk() {
    Clerk c = new Clerk(clerks.size());
    clerks.add(c);
    return c;
  }

  // ---------------------------------------------------------------- time

  /** Runs the cluster and the clerks until {@code cond} holds or {@code maxMs} pass. */
  boolean runUntil(BooleanSupplier cond, long maxMs) {
    long end = cluster.now() + maxMs;
    while (true) {
      stepDueClerks();
      failFast();
      if (cond.getAsBoolean()) {
        return true;
      }
      long now = cluster.now();
      if (now >= end) {
        return false;
      }
      long next = end;
      for (Clerk c : clerks) {
        next = Math.min(next, c.wakeAt);
      }
      woken = false;
      cluster.runUntil(() -> woken, Math.max(0, next - now));
    }
  }

  void sleep(long ms) {
    runUntil(() -> false, ms);
  }

  private void stepDueClerks() {
    for (int rounds = 0; ; rounds++) {
      boolean any = false;
      for (Clerk c : clerks) {
        if (c.wakeAt <= cluster.now()) {
          any = true;
          c.step();
        }
      }
      if (!any) {
        return;
      }
      if (rounds > 10_000) {
        fail("clerks keep waking at %d without progress%s", cluster.now(), replay());
      }
    }
  }

  /**
   * Runs {@code op} on {@code clerk} to completion (within {@code maxMs}), as the labs' Put/Get.
   */
  KvOutput call(Clerk clerk, KvInput op, long maxMs) {
    int before = clerk.completed;
    clerk.start(op);
    if (!runUntil(() -> clerk.completed > before, maxMs)) {
      fail("%s by clerk %d did not complete in %d ms%s", op, clerk.id, maxMs, replay());
    }
    return clerk.lastOutput;
  }

  KvOutput call(Clerk clerk, KvInput op) {
    return call(clerk, op, 30_000);
  }

  // ---------------------------------------------------------------- faults

  /** Splits the servers into two groups (the labs' partition). */
  void partition(int[] a, int[] b) {
    cluster.partition(a, b);
  }

  void connectAll() {
    cluster.heal();
  }

  void crashAll() {
    for (int i = 0; i < n; i++) {
      cluster.crash(i);
    }
  }

  void restartAll() {
    for (int i = 0; i < n; i++) {
      cluster.restart(i);
    }
  }

  // ---------------------------------------------------------------- checks

  CheckResult checkLinearizable() {
    return LinearizabilityChecker.withBudget(Duration.ofSeconds(20))
        .check(new KvModel(), recorder.history());
  }

  void assertLinearizable() {
    CheckResult r = checkLinearizable();
    assertThat(r.verdict())
        .as("history of %d operations: %s%s", recorder.history().size(), r, replay())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  String replay() {
    StringBuilder sb =
        new StringBuilder(" (replay: seed " + seed + ") at " + cluster.now() + " ms:");
    for (int i = 0; i < n; i++) {
      Raft r = cluster.raft(i);
      sb.append("\n  node ").append(i).append(' ').append(r == null ? "down" : r.status());
      sb.append(" applied ").append(machines[i].appliedIndex());
    }
    return sb.toString();
  }

  private void failFast() {
    List<Violation> v = safety.violations();
    if (!v.isEmpty()) {
      fail(v.get(0) + replay());
    }
  }

  @Override
  public void close() {
    failFast();
  }
}
