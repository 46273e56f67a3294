package io.raftkv.sim.course;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.raftkv.node.Compaction;
import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.sim.ClusterObserver;
import io.raftkv.sim.SafetyChecker;
import io.raftkv.sim.SafetyCheckers;
import io.raftkv.sim.SimApp;
import io.raftkv.sim.SimCluster;
import io.raftkv.sim.SimConfig;
import io.raftkv.sim.Violation;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The course's Raft test harness (config.go of the labs), on the simulator: the same helpers
 * (checkOneLeader, one, nCommitted, crash and restart), the same waits and budgets, in simulated
 * milliseconds. As in the labs, a heartbeat is 100 ms and an election timeout a few hundred ms.
 *
 * <p>One deliberate difference: a new leader appends a no-op entry (§8), so commands do not start
 * at index 1; scenarios that check exact indexes check them relative to the leader's no-op.
 *
 * <p>Every applied entry is checked as the labs do (same command at an index on every server, in
 * order), and the simulator's safety checkers run after every event; {@link #close()} fails on any
 * violation and prints the seed.
 */
final class LabHarness implements AutoCloseable {
  /** The labs' RaftElectionTimeout: the time a test allows for an election. */
  static final long ELECTION_TIMEOUT_MS = 1000;

  static final long TICK_MS = 10;

  final SimCluster cluster;
  final SplittableRandom random;
  final int n;
  private final boolean[] connected;

  /** index -> command per server, kept across restarts as the labs' cfg.logs. */
  private final List<Map<Long, ByteString>> logs = new ArrayList<>();

  /** The applied index each server's current instance started with, before its first turn. */
  private final long[] appliedAtStart;

  private final List<SafetyChecker> checkers;
  private final List<String> applyErrors = new ArrayList<>();
  private final long seed;

  LabHarness(int servers, boolean unreliable, long seed) {
    this(servers, unreliable, seed, Compaction.OFF);
  }

  /**
   * A cluster whose nodes snapshot and compact their logs as {@code compaction} says (the labs' 2D
   * config, whose applier snapshots every SnapShotInterval entries).
   */
  LabHarness(int servers, boolean unreliable, long seed, Compaction compaction) {
    this.seed = seed;
    this.n = servers;
    this.random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    List<Integer> voters = new ArrayList<>();
    for (int i = 0; i < servers; i++) {
      voters.add(i);
    }
    // Heartbeat every 100 ms (the labs allow at most 10/s), election timeout 300-600 ms.
    RaftConfig raft = RaftConfig.defaults(0, voters).withElectionTimeout(30, 60).withHeartbeat(10);
    this.appliedAtStart = new long[servers]; // before the cluster: its nodes start at once
    this.cluster =
        new SimCluster(new SimConfig(servers, TICK_MS, raft, compaction), seed, new Entries());
    this.connected = new boolean[servers];
    java.util.Arrays.fill(connected, true);
    for (int i = 0; i < servers; i++) {
      logs.add(new HashMap<>());
    }
    this.checkers = SafetyCheckers.attach(cluster).checkers();
    cluster.addObserver(new ApplyChecker());
    cluster.setUnreliable(unreliable);
  }

  /** The core alone (as {@link SimApp#ENTRIES}), noting where each new instance starts. */
  private final class Entries implements SimApp {
    @Override
    public NodeRuntime.StateMachine<?> newStateMachine(int node, Object image) {
      return SimApp.ENTRIES.newStateMachine(node, image);
    }

    @Override
    public void started(int node, NodeRuntime<?> runtime) {
      appliedAtStart[node] = runtime.appliedIndex();
    }
  }

  /**
   * The labs' applier check (applierSnap): no two servers apply different commands at one index.
   * That each instance applies in order from the snapshot it was loaded from (their lastApplied
   * check: an entry a snapshot covers is never delivered again) is the State Machine Safety
   * checker's, attached in the constructor.
   */
  private final class ApplyChecker implements ClusterObserver {
    @Override
    public void entryApplied(long time, int node, Entry entry) {
      ByteString cmd = command(entry);
      long index = entry.getIndex();
      for (int j = 0; j < n; j++) {
        ByteString other = logs.get(j).get(index);
        if (other != null && !other.equals(cmd)) {
          applyErrors.add(
              "commit index="
                  + index
                  + " server="
                  + node
                  + " "
                  + show(cmd)
                  + " != server="
                  + j
                  + " "
                  + show(other));
        }
      }
      if (index > 1 && !logs.get(node).containsKey(index - 1)) {
        applyErrors.add("server " + node + " apply out of order " + index);
      }
      logs.get(node).put(index, cmd);
    }

    /**
     * The labs' ingestSnap: the server's record of applied commands becomes the snapshot's (a
     * follower that caught up by snapshot counts as having committed what it holds).
     */
    @Override
    public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
      Map<Long, ByteString> applied = new HashMap<>();
      for (Entry e : log.subList(0, (int) snapshotIndex)) {
        applied.put(e.getIndex(), command(e));
      }
      logs.set(node, applied);
    }
  }

  private static ByteString command(Entry e) {
    return e.getType() == EntryType.ENTRY_NOOP ? ByteString.copyFromUtf8("<no-op>") : e.getData();
  }

  static String show(ByteString cmd) {
    return cmd.size() > 32 ? cmd.substring(0, 32).toStringUtf8() + "..." : cmd.toStringUtf8();
  }

  static ByteString cmd(long value) {
    return ByteString.copyFromUtf8(Long.toString(value));
  }

  ByteString randomCmd() {
    return cmd(random.nextLong(1L << 40));
  }

  // ---------------------------------------------------------------- time and faults

  void sleep(long ms) {
    cluster.runFor(ms);
    failFast();
  }

  boolean connected(int i) {
    return connected[i];
  }

  boolean up(int i) {
    return cluster.isUp(i);
  }

  void disconnect(int i) {
    connected[i] = false;
    cluster.disconnect(i);
  }

  /** As the labs' connect: links i with every server that is itself connected, no more. */
  void connect(int i) {
    connected[i] = true;
    for (int j = 0; j < n; j++) {
      if (j != i && connected[j]) {
        cluster.link(i, j);
      }
    }
  }

  /** The labs' crash1: disconnect and drop the instance; its persisted state survives. */
  void crash(int i) {
    disconnect(i);
    cluster.crash(i);
  }

  /** The labs' start1: (crash if needed and) build a fresh instance from the persisted state. */
  void start(int i) {
    cluster.crash(i);
    cluster.restart(i);
  }

  void setUnreliable(boolean on) {
    cluster.setUnreliable(on);
  }

  // ---------------------------------------------------------------- the labs' checks

  /**
   * Start(command) on server i: the index, or 0 if it is not (or no longer) an accepting leader.
   */
  long startCommand(int i, ByteString command) {
    return cluster.propose(i, command);
  }

  long term(int i) {
    Raft r = cluster.raft(i);
    return r == null ? -1 : r.term();
  }

  boolean isLeader(int i) {
    Raft r = cluster.raft(i);
    return r != null && r.role() == Role.LEADER;
  }

  /** Polls for one leader among connected servers; fails if a term has two, or none appears. */
  int checkOneLeader() {
    for (int iter = 0; iter < 10; iter++) {
      sleep(450 + random.nextLong(100));
      Map<Long, List<Integer>> leaders = new java.util.TreeMap<>();
      for (int i = 0; i < n; i++) {
        if (connected[i] && isLeader(i)) {
          leaders.computeIfAbsent(term(i), t -> new ArrayList<>()).add(i);
        }
      }
      long lastTerm = -1;
      for (Map.Entry<Long, List<Integer>> e : leaders.entrySet()) {
        if (e.getValue().size() > 1) {
          fail(
              "term %d has %d (>1) leaders: %s%s",
              e.getKey(), e.getValue().size(), e.getValue(), replay());
        }
        lastTerm = Math.max(lastTerm, e.getKey());
      }
      if (!leaders.isEmpty()) {
        return leaders.get(lastTerm).get(0);
      }
    }
    fail("expected one leader, got none" + replay());
    return -1;
  }

  /** All connected servers agree on the term; returns it. */
  long checkTerms() {
    long term = -1;
    for (int i = 0; i < n; i++) {
      if (connected[i] && up(i)) {
        long t = term(i);
        if (term == -1) {
          term = t;
        } else if (term != t) {
          fail("servers disagree on term: %d vs %d%s", term, t, replay());
        }
      }
    }
    return term;
  }

  void checkNoLeader() {
    for (int i = 0; i < n; i++) {
      if (connected[i] && isLeader(i)) {
        fail("expected no leader, but %d claims to be leader%s", i, replay());
      }
    }
  }

  record Committed(int count, ByteString command) {}

  /** How many servers think the entry at {@code index} is committed (have applied it). */
  Committed nCommitted(long index) {
    failFast();
    int count = 0;
    ByteString cmd = null;
    for (int i = 0; i < n; i++) {
      ByteString c = logs.get(i).get(index);
      if (c != null) {
        if (count > 0 && !c.equals(cmd)) {
          fail(
              "committed values do not match: index %d, %s, %s%s",
              index, show(cmd), show(c), replay());
        }
        count++;
        cmd = c;
      }
    }
    return new Committed(count, cmd);
  }

  /**
   * Waits for at least {@code count} servers to commit index; returns its command, or null if a
   * server moved past {@code startTerm} (when startTerm > -1) before that.
   */
  ByteString waitCommitted(long index, int count, long startTerm) {
    long to = 10;
    for (int iters = 0; iters < 30; iters++) {
      Committed c = nCommitted(index);
      if (c.count() >= count) {
        break;
      }
      sleep(to);
      if (to < 1000) {
        to *= 2;
      }
      if (startTerm > -1) {
        for (int i = 0; i < n; i++) {
          if (up(i) && term(i) > startTerm) {
            return null; // someone moved on; we cannot guarantee a win
          }
        }
      }
    }
    Committed c = nCommitted(index);
    if (c.count() < count) {
      fail("only %d decided for index %d; wanted %d%s", c.count(), index, count, replay());
    }
    return c.command();
  }

  /**
   * The labs' one(): offers the command to servers in turn until a leader accepts it, then waits up
   * to 2 s for {@code expectedServers} to commit it; retries for up to 10 s in all if {@code
   * retry}. Returns the index.
   */
  long one(ByteString command, int expectedServers, boolean retry) {
    long t0 = cluster.now();
    int starts = 0;
    while (cluster.now() - t0 < 10_000) {
      long index = -1;
      for (int si = 0; si < n; si++) {
        starts = (starts + 1) % n;
        if (connected[starts] && up(starts)) {
          long i1 = startCommand(starts, command);
          if (i1 > 0) {
            index = i1;
            break;
          }
        }
      }
      if (index != -1) {
        long t1 = cluster.now();
        while (cluster.now() - t1 < 2_000) {
          Committed c = nCommitted(index);
          if (c.count() > 0 && c.count() >= expectedServers && command.equals(c.command())) {
            return index;
          }
          sleep(20);
        }
        if (!retry) {
          fail("one(%s) failed to reach agreement%s", show(command), replay());
        }
      } else {
        sleep(50);
      }
    }
    fail("one(%s) failed to reach agreement%s", show(command), replay());
    return -1;
  }

  /** RPCs received by all servers so far (requests; replies are part of their RPC). */
  long rpcTotal() {
    long total = 0;
    for (int i = 0; i < n; i++) {
      total += cluster.rpcCount(i);
    }
    return total;
  }

  /**
   * The applied index server {@code i}'s current instance started from: its snapshot's index (0
   * without one), before it applied anything.
   */
  long appliedAtStart(int i) {
    return appliedAtStart[i];
  }

  /**
   * The labs' LogSize: the largest persisted Raft state of any server, up or down. Here the
   * serialized entries of its durable log after the point it was compacted to (§7).
   */
  long logSize() {
    long max = 0;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, cluster.retainedLogBytes(i));
    }
    return max;
  }

  /** The index of the last entry in {@code leader}'s log. */
  long lastIndex(int leader) {
    return cluster.raft(leader).lastIndex();
  }

  String replay() {
    return " (replay: seed " + seed + ")\n" + dump();
  }

  /** Every node's consensus state, for failure messages. */
  String dump() {
    StringBuilder sb = new StringBuilder("at " + cluster.now() + " ms:");
    for (int i = 0; i < n; i++) {
      Raft r = cluster.raft(i);
      sb.append("\n  node ").append(i).append(connected[i] ? " connected " : " cut-off ");
      sb.append(r == null ? "down" : r.status().toString());
      StringBuilder terms = new StringBuilder();
      for (Entry e : cluster.durableLog(i)) {
        terms.append(e.getTerm()).append(' ');
      }
      sb.append("\n    log terms: ").append(terms);
    }
    return sb.toString();
  }

  private void failFast() {
    if (!applyErrors.isEmpty()) {
      fail("apply error: " + applyErrors.get(0) + replay());
    }
    for (SafetyChecker c : checkers) {
      if (!c.violations().isEmpty()) {
        fail(c.violations().get(0) + replay());
      }
    }
  }

  @Override
  public void close() {
    failFast();
    List<Violation> all = new ArrayList<>();
    checkers.forEach(c -> all.addAll(c.violations()));
    assertThat(all).as("safety violations" + replay()).isEmpty();
  }
}
