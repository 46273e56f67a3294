package io.raftkv.sim;

import com.google.protobuf.ByteString;
import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.Raft;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A whole Raft cluster in one thread, on simulated time, a simulated network and simulated disks,
 * driven by one seed: the same seed gives the same run, event for event. Tests and the soak runner
 * drive it through this API and watch it through {@link ClusterObserver}s (the safety checkers).
 *
 * <p>Randomness: one master {@link SplittableRandom} from the seed; the network, each node's core
 * (one split per start of the node) and the tick phases get their own splits, taken in a fixed
 * order, so adding a random decision in one place does not shift the others.
 *
 * <p>Network calls: {@link #cut}/{@link #link} act on both directions; {@link #cutOneWay}/{@link
 * #linkOneWay} on one. A crash does not disconnect a node: messages to it are dropped on arrival
 * while it is down, and its links are as they were when it restarts.
 *
 * <p>Thread-safety: none; call from one thread.
 */
public final class SimCluster {

  private record ReadKey(int node, long context) {}

  /**
   * A node that stopped itself because it lost data it had acknowledged (the core's {@code
   * DataLossException}): a distinct outcome, not a safety violation. In a scenario where no disk is
   * wiped it can only be a false detection: {@link #asUnexpected()}.
   */
  public record DataLossStop(long timeMillis, int node, String reason) {
    /** This stop as a violation of a scenario in which no node lost its data. */
    public Violation asUnexpected() {
      return new Violation(
          "Data-loss stop",
          "n" + node + " stopped although no node lost data: " + reason,
          timeMillis);
    }
  }

  private final SimConfig config;
  private final long seed;
  private final EventQueue queue = new EventQueue();
  private final SimNetwork network;
  private final SimNode[] nodes;
  private final SplittableRandom[] nodeRandoms;
  private final SplittableRandom phaseRandom;
  private final SplittableRandom resumeRandom;
  private final List<ClusterObserver> observers = new ArrayList<>();
  private final Map<ReadKey, Long> readsRequested = new HashMap<>();
  private final SimNode.Host host = new Host();
  private long maxCommit;
  private long snapshotsInstalled;
  private java.util.function.UnaryOperator<SimSnapshot> snapshotTamper = s -> s;
  private final List<DataLossStop> dataLossStops = new ArrayList<>();

  /**
   * Snapshot transfers under way (§7), by their install_snapshot message (identity: a duplicated
   * message is the same transfer).
   */
  private final Map<RaftMessage, Transfer> transfers = new java.util.IdentityHashMap<>();

  /** One snapshot on its way; the sender hears how it ended exactly once. */
  private static final class Transfer {
    final SimSnapshot snapshot;
    final int senderGeneration;
    boolean reported;

    Transfer(SimSnapshot snapshot, int senderGeneration) {
      this.snapshot = snapshot;
      this.senderGeneration = senderGeneration;
    }
  }

  /**
   * How long a snapshot transfer may take before its sender gives up (the server's stream
   * deadline), in longest election timeouts: past the delays of a healthy network, so that a lost
   * or undeliverable snapshot is retried within the time the liveness checks allow; one held back
   * by long reordering may fail and be sent again.
   */
  static final int SNAPSHOT_DEADLINE_ELECTIONS = 3;

  public SimCluster(SimConfig config, long seed) {
    this(config, seed, SimApp.ENTRIES);
  }

  /** A cluster whose nodes run {@code app} above the runtime (e.g. the KV service). */
  public SimCluster(SimConfig config, long seed, SimApp app) {
    this.config = config;
    this.seed = seed;
    SplittableRandom master = new SplittableRandom(seed);
    this.network = new SimNetwork(config.nodes(), queue, master.split(), this::deliver);
    this.phaseRandom = master.split();
    this.resumeRandom = master.split();
    this.nodes = new SimNode[config.nodes()];
    this.nodeRandoms = new SplittableRandom[config.nodes()];
    for (int i = 0; i < nodes.length; i++) {
      nodeRandoms[i] = master.split();
      nodes[i] =
          new SimNode(i, config.raftConfig(i), config.tickMillis(), config.compaction(), app, host);
    }
    for (int i = 0; i < nodes.length; i++) {
      startNode(i);
    }
  }

  // ---------------------------------------------------------------- time

  public long now() {
    return queue.now();
  }

  public long seed() {
    return seed;
  }

  public SimConfig config() {
    return config;
  }

  /**
   * For the checkers' own tests only (a check that cannot fail proves nothing): every snapshot sent
   * is replaced by {@code tamper}'s version on the wire, as a broken transfer or snapshot writer
   * would.
   */
  public void tamperWithSnapshotsForTesting(java.util.function.UnaryOperator<SimSnapshot> tamper) {
    snapshotTamper = tamper;
  }

  /** How many snapshots followers installed from their leaders (§7). */
  public long snapshotsInstalled() {
    return snapshotsInstalled;
  }

  /** How many events (ticks, deliveries) have run. */
  public long eventsProcessed() {
    return queue.processed();
  }

  /**
   * Caps the events this cluster may run; beyond it the run methods throw an IllegalStateException
   * (a message storm or livelock, not a slow test).
   */
  public void setEventLimit(long maxEvents) {
    queue.setLimit(maxEvents);
  }

  /** Runs every event due in the next {@code ms} simulated milliseconds. */
  public void runFor(long ms) {
    long end = queue.now() + ms;
    while (queue.runNext(end)) {
      // next
    }
    queue.advanceTo(end);
  }

  /**
   * Runs events until {@code cond} holds (checked now and after every event) or {@code maxMs}
   * simulated milliseconds pass.
   *
   * @return whether {@code cond} held
   */
  public boolean runUntil(BooleanSupplier cond, long maxMs) {
    long end = queue.now() + maxMs;
    if (cond.getAsBoolean()) {
      return true;
    }
    while (queue.runNext(end)) {
      if (cond.getAsBoolean()) {
        return true;
      }
    }
    queue.advanceTo(end);
    return cond.getAsBoolean();
  }

  // ---------------------------------------------------------------- nodes

  public int size() {
    return nodes.length;
  }

  public boolean isUp(int i) {
    return nodes[i].isUp();
  }

  /** The live core of node {@code i}, or null while it is down. Do not feed it inputs directly. */
  public Raft raft(int i) {
    return nodes[i].raft();
  }

  /** The live runtime of node {@code i}, or null while it is down. */
  public NodeRuntime<?> runtime(int i) {
    return nodes[i].runtime();
  }

  /** Drops node {@code i}'s instance: it never sends again and loses what it did not sync. */
  public void crash(int i) {
    if (!nodes[i].isUp()) {
      return;
    }
    nodes[i].crash();
    for (ClusterObserver o : observers) {
      o.crashed(now(), i);
    }
  }

  /**
   * Node {@code i}'s data directory is deleted: it goes down (if up) and its disk is replaced by an
   * empty one, so that {@link #restart} starts it from nothing with the same identity, as an
   * operator who deleted a follower's data directory and started it again with the same flags.
   * Outside Raft's model: the node forgot its votes and what it acknowledged.
   */
  public void wipe(int i) {
    crash(i);
    nodes[i].wipeDisk();
  }

  /**
   * For the checkers' own tests only (a check that cannot fail proves nothing): from its next
   * start, node {@code i} does not notice that it lost its data and rejoins as if its empty log
   * were all it ever had.
   */
  public void disableDataLossDetectionForTesting(int i) {
    nodes[i].disableDataLossDetectionForTesting();
  }

  /** Nodes that stopped themselves on finding their data lost, in order. */
  public List<DataLossStop> dataLossStops() {
    return List.copyOf(dataLossStops);
  }

  /** Builds a fresh instance of node {@code i} from its durable state (no-op if it is up). */
  public void restart(int i) {
    if (nodes[i].isUp()) {
      return;
    }
    startNode(i);
  }

  private void startNode(int i) {
    SimNode node = nodes[i];
    SimStorage disk = node.storage();
    List<Entry> log = disk.durableLog();
    HardState hs = disk.durableHardState();
    for (ClusterObserver o : observers) {
      o.restarted(now(), i, log, hs);
    }
    if (disk.snapshot() != null) {
      for (ClusterObserver o : observers) {
        o.snapshotLoaded(now(), i, disk.snapshot().meta().getIndex(), log);
      }
    }
    long phase = 1 + phaseRandom.nextLong(config.tickMillis());
    node.start(nodeRandoms[i].split(), now(), now() + phase);
    scheduleWake(i);
  }

  /**
   * Queues node {@code i}'s next turn at the time its runtime asks for (its next tick or request
   * deadline), as the server's loop polls its inbox until then.
   */
  private void scheduleWake(int i) {
    SimNode node = nodes[i];
    long at = node.claimNextWake();
    if (at != Long.MAX_VALUE) {
      int generation = node.generation();
      queue.at(at, () -> wake(i, generation, at));
    }
  }

  private void wake(int i, int generation, long at) {
    SimNode node = nodes[i];
    if (node.generation() != generation || !node.wakeDue(at)) {
      return;
    }
    node.turn(now(), rt -> {});
    scheduleWake(i);
  }

  /** One turn of node {@code i} with {@code input}; false if it is down. */
  private boolean turn(int i, Consumer<NodeRuntime<?>> input) {
    boolean up = nodes[i].turn(now(), input);
    scheduleWake(i);
    return up;
  }

  /**
   * Stops node {@code i} without crashing it (SIGSTOP, a long GC pause): it handles nothing until
   * {@link #resume}; messages and requests for it wait.
   */
  public void pause(int i) {
    nodes[i].pause();
  }

  /** Resumes a paused node: it handles what waited, and catches up on the ticks it owes. */
  public void resume(int i) {
    if (nodes[i].isPaused()) {
      // After SIGCONT the loop may run a turn (its owed ticks) before the network hands it what
      // waited, or handle that first: both orders happen.
      nodes[i].resume(now(), resumeRandom.nextBoolean());
    }
    scheduleWake(i);
  }

  public boolean isPaused(int i) {
    return nodes[i].isPaused();
  }

  /** Runs {@code action} at simulated time {@code atMillis} (for clients driven by the caller). */
  public void schedule(long atMillis, Runnable action) {
    queue.at(atMillis, action);
  }

  /** Ids of live nodes that believe they are leader (several may, in different terms). */
  public List<Integer> leaders() {
    List<Integer> out = new ArrayList<>();
    for (SimNode n : nodes) {
      if (n.isUp() && n.raft().role() == Role.LEADER) {
        out.add(n.id());
      }
    }
    return out;
  }

  /**
   * The live leader that no live member of its configuration has overtaken (in a higher term), or
   * -1: the one a client would end up with, ignoring stale leaders that have not noticed yet, and
   * nodes removed from the cluster that never heard of it (outside the configuration, their terms
   * do not count: chapter 4). With a fixed configuration: the leader of the highest live term.
   */
  public int currentLeader() {
    int best = -1;
    for (SimNode n : nodes) {
      if (!n.isUp() || n.raft().role() != Role.LEADER) {
        continue;
      }
      long term = n.raft().term();
      ConfState c = n.raft().configuration();
      boolean overtaken = false;
      for (SimNode m : nodes) {
        int id = m.id();
        boolean member =
            c.getVotersList().contains(id)
                || c.getVotersOutgoingList().contains(id)
                || c.getLearnersList().contains(id);
        if (member && m.isUp() && m.raft().term() > term) {
          overtaken = true;
          break;
        }
      }
      if (!overtaken && (best < 0 || term > nodes[best].raft().term())) {
        best = n.id();
      }
    }
    return best;
  }

  /**
   * The members (voters and learners) of the {@link #currentLeader()}'s configuration, in id order:
   * the nodes that must apply what it commits (chapter 4: a spare, or a node removed from the
   * cluster, gets nothing). Every node when there is no leader.
   */
  public List<Integer> members() {
    int leader = currentLeader();
    java.util.TreeSet<Integer> ids = new java.util.TreeSet<>();
    if (leader < 0) {
      for (int i = 0; i < nodes.length; i++) {
        ids.add(i);
      }
    } else {
      ConfState c = nodes[leader].raft().configuration();
      ids.addAll(c.getVotersList());
      ids.addAll(c.getVotersOutgoingList());
      ids.addAll(c.getLearnersList());
    }
    return List.copyOf(ids);
  }

  // ---------------------------------------------------------------- client inputs

  /**
   * Offers a command to node {@code i}.
   *
   * @return its log index, or 0 if the node is down, paused or not a leader that accepts it
   */
  public long propose(int i, ByteString command) {
    long[] index = {0};
    submit(i, rt -> index[0] = rt.propose(command, outcome -> {}));
    return index[0];
  }

  /**
   * Asks node {@code i} for a linearizable read point; its {@link ReadState} appears in {@link
   * #readStates(int)} when confirmed.
   *
   * @return the read's context, or 0 if the node is down, paused or not the leader
   */
  public long readIndex(int i) {
    long[] context = {0};
    submit(i, rt -> context[0] = rt.read(outcome -> {}));
    return context[0];
  }

  /** Every read state node {@code i} produced, over all its instances, in order. */
  public List<ReadState> readStates(int i) {
    return List.copyOf(nodes[i].readStates());
  }

  /**
   * A client's request reaches node {@code i}: {@code input} runs against its runtime now. Like the
   * server's event loop, which drains its whole queue before it flushes, the node flushes once all
   * inputs of this simulated millisecond are in: requests that arrive together share one append per
   * follower (and one fsync). A paused node holds the input until it resumes.
   *
   * @return false if the node is down
   */
  public boolean submit(int i, Consumer<NodeRuntime<?>> input) {
    SimNode node = nodes[i];
    if (!node.inputWithoutFlush(now(), input)) {
      return false;
    }
    if (!node.flushScheduled() && !node.isPaused()) {
      node.setFlushScheduled(true);
      int generation = node.generation();
      queue.at(
          now(),
          () -> {
            if (node.generation() == generation) {
              node.setFlushScheduled(false);
              turn(i, rt -> {});
            }
          });
    }
    return true;
  }

  /**
   * Offers a configuration change (chapter 4) to node {@code i}; {@code done} hears how it ended
   * (see {@link NodeRuntime#proposeConfChange}).
   *
   * @return false if the node is down
   */
  public boolean proposeConfChange(
      int i, ConfChange change, Consumer<io.raftkv.node.Outcome<?>> done) {
    return submit(i, rt -> rt.proposeConfChange(change, done::accept));
  }

  /**
   * The configuration node {@code i} has in effect (the latest in its log, §4.1), or null while it
   * is down.
   */
  public ConfState configuration(int i) {
    return nodes[i].isUp() ? nodes[i].raft().configuration() : null;
  }

  /** Makes node {@code i} campaign now; false if it is down. */
  public boolean campaign(int i) {
    return turn(i, NodeRuntime::campaign);
  }

  /** Asks node {@code i} to hand leadership to {@code target}. */
  public boolean transferLeadership(int i, int target) {
    boolean[] ok = {false};
    turn(i, rt -> ok[0] = rt.transferLeadership(target));
    return ok[0];
  }

  /** Entries the current instance of node {@code i} applied, in order (index k at k-1). */
  public List<Entry> applied(int i) {
    return nodes[i].applied();
  }

  /** Node {@code i}'s durable log (survives crashes). */
  public List<Entry> durableLog(int i) {
    return nodes[i].storage().durableLog();
  }

  /** The serialized bytes of node {@code i}'s durable log after its last compaction (§7). */
  public long retainedLogBytes(int i) {
    return nodes[i].storage().retainedLogBytes();
  }

  /** Node {@code i}'s durable snapshot (survives crashes), or null if it has none. */
  public SimSnapshot snapshot(int i) {
    return nodes[i].storage().snapshot();
  }

  // ---------------------------------------------------------------- network

  public SimNetwork network() {
    return network;
  }

  /** Cuts every link to and from node {@code i}. */
  public void disconnect(int i) {
    network.setNodeConnected(i, false);
  }

  /** Restores every link to and from node {@code i}. */
  public void connect(int i) {
    network.setNodeConnected(i, true);
  }

  /** Splits the cluster: nodes talk only within their group. A node in no group is isolated. */
  public void partition(int[]... groups) {
    int[] group = new int[nodes.length];
    java.util.Arrays.fill(group, -1);
    for (int g = 0; g < groups.length; g++) {
      for (int node : groups[g]) {
        group[node] = g;
      }
    }
    for (int a = 0; a < nodes.length; a++) {
      for (int b = 0; b < nodes.length; b++) {
        network.setConnected(a, b, a == b || (group[a] >= 0 && group[a] == group[b]));
      }
    }
  }

  /** Restores every link (loss, delay and reordering settings are kept). */
  public void heal() {
    network.connectAll();
  }

  /** Cuts the links between {@code a} and {@code b}, both ways. */
  public void cut(int a, int b) {
    network.setConnected(a, b, false);
    network.setConnected(b, a, false);
  }

  /** Restores the links between {@code a} and {@code b}, both ways. */
  public void link(int a, int b) {
    network.setConnected(a, b, true);
    network.setConnected(b, a, true);
  }

  public void cutOneWay(int from, int to) {
    network.setConnected(from, to, false);
  }

  public void linkOneWay(int from, int to) {
    network.setConnected(from, to, true);
  }

  /** The course's unreliable network on every link (0–26 ms, 10 % loss), or the reliable one. */
  public void setUnreliable(boolean on) {
    double dup = network.profile(0, 0).duplicate();
    network.setAllProfiles((on ? LinkProfile.UNRELIABLE : LinkProfile.RELIABLE).withDuplicate(dup));
  }

  /** About 2/3 of messages held back 200 ms plus up to 2 s. */
  public void setLongReordering(boolean on) {
    network.setLongReordering(on);
  }

  /** Every link delivers a message twice with this probability. */
  public void setDuplicateProbability(double probability) {
    network.setDuplicateProbability(probability);
  }

  public long rpcCount(int i) {
    return network.rpcsReceived(i);
  }

  public long totalBytes() {
    return network.totalBytes();
  }

  // ---------------------------------------------------------------- trace

  public void addObserver(ClusterObserver observer) {
    observers.add(observer);
  }

  private boolean deliver(RaftMessage m) {
    if (!m.hasInstallSnapshot()) {
      return turn(m.getTo(), rt -> rt.receive(m));
    }
    Transfer t = transfers.get(m);
    if (t == null) {
      return false; // a duplicate arriving after its transfer ended: the stream is gone
    }
    boolean up = turn(m.getTo(), rt -> rt.receiveSnapshot(m, t.snapshot));
    if (up) {
      endTransfer(m, true);
    }
    return up;
  }

  /** Reports a transfer's end to its sender, once, if the same instance of it is still up. */
  private void endTransfer(RaftMessage m, boolean delivered) {
    Transfer t = transfers.get(m);
    if (t == null || t.reported) {
      return;
    }
    t.reported = true;
    if (nodes[m.getFrom()].generation() == t.senderGeneration) {
      turn(m.getFrom(), rt -> rt.snapshotSent(m, delivered));
    }
  }

  /** Carries the nodes' messages to the network and their state changes to the observers. */
  private final class Host implements SimNode.Host {
    @Override
    public void send(RaftMessage message) {
      network.send(message);
    }

    @Override
    public void sendSnapshot(RaftMessage message, SimSnapshot snapshot) {
      transfers.put(
          message,
          new Transfer(snapshotTamper.apply(snapshot), nodes[message.getFrom()].generation()));
      network.send(message);
      // The sender's stream deadline: a transfer not delivered by then failed.
      queue.at(
          now() + SNAPSHOT_DEADLINE_ELECTIONS * config.maxElectionMillis(),
          () -> {
            endTransfer(message, false);
            transfers.remove(message);
          });
    }

    @Override
    public void snapshotInstalled(int node, long snapshotIndex, List<Entry> log) {
      snapshotsInstalled++;
      for (ClusterObserver o : observers) {
        o.snapshotLoaded(now(), node, snapshotIndex, log);
      }
    }

    @Override
    public void stoppedOnDataLoss(int node, String reason) {
      dataLossStops.add(new DataLossStop(now(), node, reason));
      for (ClusterObserver o : observers) {
        o.crashed(now(), node);
        o.stoppedOnDataLoss(now(), node, reason);
      }
    }

    @Override
    public void roleChanged(int node, Role role, long term) {
      for (ClusterObserver o : observers) {
        o.roleChanged(now(), node, role, term);
      }
    }

    @Override
    public void entriesPersisted(int node, List<Entry> entries) {
      for (ClusterObserver o : observers) {
        o.entriesPersisted(now(), node, entries);
      }
    }

    @Override
    public void commitChanged(int node, long commit) {
      maxCommit = Math.max(maxCommit, commit);
      for (ClusterObserver o : observers) {
        o.commitChanged(now(), node, commit);
      }
    }

    @Override
    public void entryApplied(int node, Entry entry) {
      for (ClusterObserver o : observers) {
        o.entryApplied(now(), node, entry);
      }
    }

    @Override
    public void readRequested(int node, long context) {
      // Every read the core takes, the KV service's included: the ReadIndex checker compares its
      // index with the highest commit anywhere when the node took it.
      readsRequested.put(new ReadKey(node, context), maxCommit);
    }

    @Override
    public void readStateEmitted(int node, ReadState read) {
      Long atRequest = readsRequested.remove(new ReadKey(node, read.context()));
      long max = atRequest == null ? 0 : atRequest;
      for (ClusterObserver o : observers) {
        o.readStateEmitted(now(), node, read.context(), read.index(), max);
      }
    }
  }
}
