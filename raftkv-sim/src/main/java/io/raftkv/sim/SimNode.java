package io.raftkv.sim;

import io.raftkv.node.Compaction;
import io.raftkv.node.NodeRuntime;
import io.raftkv.node.SnapshotImage;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.raft.DataLossException;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * One simulated server: the server's own {@link NodeRuntime} (absent while crashed) over a {@link
 * SimStorage} disk, with the state machine the cluster's {@link SimApp} gives each new instance.
 * The simulator is the runtime's shell, as {@code RaftNode} is in the server: it sets the simulated
 * time, feeds inputs and flushes, and reports each state change to the cluster's trace.
 *
 * <p>A paused node (a stopped process: SIGSTOP, a long GC) runs nothing: what arrives for it waits,
 * as in a socket buffer, and is handled in one turn when it resumes, with the ticks it owes.
 *
 * <p>Thread-safety: none; owned by the simulation thread.
 */
final class SimNode {

  /** Where a node reports what it does; implemented by the cluster. */
  interface Host {
    void send(RaftMessage message);

    void roleChanged(int node, Role role, long term);

    void entriesPersisted(int node, List<Entry> entries);

    void commitChanged(int node, long commit);

    void entryApplied(int node, Entry entry);

    void readRequested(int node, long context);

    void readStateEmitted(int node, ReadState read);

    /** Sends a snapshot beside its install_snapshot message (§7). */
    void sendSnapshot(RaftMessage message, SimSnapshot snapshot);

    /**
     * The node installed a snapshot: its log, as the checkers follow it, is now {@code log} (the
     * snapshot's entries, then any suffix it kept).
     */
    void snapshotInstalled(int node, long snapshotIndex, List<Entry> log);

    /**
     * The node stopped itself: its core found that it lost data it had acknowledged ({@link
     * DataLossException}, whose one line is {@code reason}), as the server's loop stops the
     * process.
     */
    void stoppedOnDataLoss(int node, String reason);
  }

  static final int MEMORY_TAIL = 8;

  private final int id;
  private final RaftConfig config;
  private final Host host;
  private final SimApp app;
  private final NodeRuntime.Timing timing;
  private final Compaction compaction;
  private SimStorage storage;

  /** Off only in the checkers' own tests: a wiped node that does not notice (unsafe). */
  private boolean detectDataLoss = true;

  /** A snapshot installed whose log compaction has not been seen yet. */
  private SimSnapshot installing;

  private NodeRuntime<?> runtime;

  /** Incremented at every crash, so that the old instance's events stop. */
  private int generation;

  /** A flush is queued for client inputs of the current millisecond. */
  private boolean flushScheduled;

  /** The simulated millisecond of the wake event queued for this node, or MAX_VALUE. */
  private long wakeAt = Long.MAX_VALUE;

  private boolean paused;
  private final List<Consumer<NodeRuntime<?>>> heldWhilePaused = new ArrayList<>();

  private List<Entry> applied = new ArrayList<>();
  private final List<ReadState> readStates = new ArrayList<>();
  private Role lastRole = Role.FOLLOWER;
  private long lastTerm;
  private long lastCommit;

  SimNode(
      int id, RaftConfig config, long tickMillis, Compaction compaction, SimApp app, Host host) {
    this.id = id;
    this.compaction = compaction;
    this.config = config;
    this.host = host;
    this.app = app;
    // Requests time out well after any election settles; the simulator's clients bound their own
    // attempts.
    this.timing =
        new NodeRuntime.Timing(
            millisToNanos(tickMillis),
            millisToNanos(app.requestTimeoutMillis(config.electionTimeoutMaxTicks() * tickMillis)));
    this.storage = newDisk();
  }

  /** An empty disk, its writes reported to this node. */
  private SimStorage newDisk() {
    SimStorage disk = new SimStorage();
    disk.setListener(
        new SimStorage.Listener() {
          @Override
          public void persisted(HardState hardState, List<Entry> entries) {
            onPersisted(hardState, entries);
          }

          @Override
          public void compacted(SnapshotMeta start) {
            onCompacted(start);
          }
        });
    return disk;
  }

  static long millisToNanos(long millis) {
    return millis * 1_000_000L;
  }

  /** The first whole simulated millisecond at or after {@code nanos}. */
  static long nanosToMillisCeil(long nanos) {
    return Math.floorDiv(nanos + 999_999, 1_000_000L);
  }

  int id() {
    return id;
  }

  NodeRuntime<?> runtime() {
    return runtime;
  }

  Raft raft() {
    return runtime == null ? null : runtime.raft();
  }

  boolean isUp() {
    return runtime != null;
  }

  boolean isPaused() {
    return paused;
  }

  int generation() {
    return generation;
  }

  SimStorage storage() {
    return storage;
  }

  List<Entry> applied() {
    return applied;
  }

  List<ReadState> readStates() {
    return readStates;
  }

  /**
   * Starts (or restarts) the node from its durable state; the state machine starts from its last
   * snapshot (empty if none).
   *
   * @param firstTickMillis when its first tick is due (a random phase, so nodes do not tick in
   *     lockstep)
   */
  void start(RandomGenerator random, long nowMillis, long firstTickMillis) {
    PersistentState restored = storage.restore();
    SimSnapshot snapshot = storage.snapshot();
    // A small memory tail, so every simulated run also releases applied entries and reads them
    // back for lagging followers, as the server does with a larger one.
    Raft raft = new Raft(config, random, restored, storage, MEMORY_TAIL);
    if (!detectDataLoss) {
      raft.disableDataLossDetectionForTesting();
    }
    applied = snapshot == null ? new ArrayList<>() : new ArrayList<>(snapshot.entries());
    lastRole = raft.role();
    lastTerm = raft.term();
    lastCommit = restored.hardState().getCommit();
    runtime =
        newRuntime(
            raft,
            app.newStateMachine(id, snapshot == null ? null : snapshot.appImage()),
            nowMillis,
            firstTickMillis);
    runtime.enableSnapshots(
        (message, image) -> host.sendSnapshot(message, (SimSnapshot) image),
        compaction,
        snapshot == null ? SnapshotMeta.getDefaultInstance() : snapshot.meta());
    app.started(id, runtime);
    runtime.flush();
  }

  private <R> NodeRuntime<R> newRuntime(
      Raft raft, NodeRuntime.StateMachine<R> machine, long nowMillis, long firstTickMillis) {
    return new NodeRuntime<>(
        raft,
        applied.size(),
        storage,
        messages -> messages.forEach(host::send),
        new SnapshottingMachine<>(machine),
        timing,
        new Listener(),
        millisToNanos(nowMillis),
        millisToNanos(firstTickMillis));
  }

  /**
   * The application's state machine, with this node's snapshots (§7): an image is the application's
   * copy of its state plus the entries applied so far (for the checkers).
   */
  private final class SnapshottingMachine<R> implements NodeRuntime.StateMachine<R> {
    private final NodeRuntime.StateMachine<R> machine;

    SnapshottingMachine(NodeRuntime.StateMachine<R> machine) {
      this.machine = machine;
    }

    @Override
    public List<R> apply(List<Entry> entries) {
      return machine.apply(entries);
    }

    @Override
    public SnapshotImage openSnapshot(SnapshotMeta meta) {
      return new SimSnapshot(meta, applied.subList(0, (int) meta.getIndex()), app.capture(id));
    }

    @Override
    public void saveSnapshot(SnapshotMeta meta) {
      storage.saveSnapshot(
          new SimSnapshot(meta, applied.subList(0, (int) meta.getIndex()), app.capture(id)));
    }

    @Override
    public void installSnapshot(SnapshotImage image) {
      SimSnapshot s = (SimSnapshot) image;
      app.restore(id, s.appImage());
      applied = new ArrayList<>(s.entries());
      storage.saveSnapshot(s);
      installing = s;
    }
  }

  /** After an install, the storage compacts to the snapshot: the checkers see the new log. */
  private void onCompacted(SnapshotMeta start) {
    SimSnapshot s = installing;
    if (s == null || !s.meta().equals(start)) {
      return;
    }
    installing = null;
    List<Entry> log = new ArrayList<>(s.entries());
    log.addAll(storage.viewAfter(start.getIndex()));
    observeRole();
    host.snapshotInstalled(id, start.getIndex(), log);
  }

  /** Drops the instance; unsynced writes are lost, held inputs too. */
  void crash() {
    runtime = null;
    flushScheduled = false;
    wakeAt = Long.MAX_VALUE;
    paused = false;
    heldWhilePaused.clear();
    generation++;
    storage.crash();
  }

  /**
   * The node's disk is replaced by an empty one (its data directory deleted while it was down):
   * hard state, log and snapshot are gone, and its next start is from nothing. Outside Raft's
   * model.
   */
  void wipeDisk() {
    if (runtime != null) {
      throw new IllegalStateException("only a node that is down can lose its disk");
    }
    storage = newDisk();
    installing = null;
  }

  /** For the checkers' own tests: from its next start, this node does not detect data loss. */
  void disableDataLossDetectionForTesting() {
    detectDataLoss = false;
  }

  /** Stops running the node until {@link #resume}; what arrives meanwhile waits. */
  void pause() {
    if (runtime != null) {
      paused = true;
    }
  }

  /**
   * Resumes a paused node: a turn with everything that waited and the ticks it owes, or (when
   * {@code ticksFirst}) a turn with the owed ticks alone before the one with what waited.
   */
  void resume(long nowMillis, boolean ticksFirst) {
    if (!paused) {
      return;
    }
    paused = false;
    List<Consumer<NodeRuntime<?>>> held = new ArrayList<>(heldWhilePaused);
    heldWhilePaused.clear();
    if (ticksFirst) {
      turn(nowMillis, rt -> {});
    }
    turn(nowMillis, rt -> held.forEach(input -> input.accept(rt)));
  }

  /** One turn: the time, {@code input}, then a flush, as one loop turn of the server. */
  boolean turn(long nowMillis, Consumer<NodeRuntime<?>> input) {
    return input(nowMillis, input, true);
  }

  /**
   * An input now, whose flush waits until every input of this simulated millisecond is in (see
   * {@link SimCluster}'s client inputs).
   */
  boolean inputWithoutFlush(long nowMillis, Consumer<NodeRuntime<?>> input) {
    return input(nowMillis, input, false);
  }

  /**
   * Runs {@code input} against the live runtime at {@code nowMillis}, then flushes it if asked (and
   * if the input did not replace the instance). A paused node holds the input until it resumes.
   *
   * @return false if the node is down
   */
  private boolean input(long nowMillis, Consumer<NodeRuntime<?>> input, boolean flush) {
    if (runtime == null) {
      return false;
    }
    if (paused) {
      heldWhilePaused.add(input);
      return true;
    }
    NodeRuntime<?> rt = runtime;
    rt.setTime(millisToNanos(nowMillis));
    try {
      input.accept(rt);
      if (flush && runtime == rt) {
        rt.flush();
        observeRole();
      }
    } catch (DataLossException e) {
      // The server's loop stops the process on any error from the runtime; this one is the core
      // saying that this node lost acknowledged data and must be replaced.
      crash();
      host.stoppedOnDataLoss(id, e.getMessage());
    }
    return true;
  }

  boolean flushScheduled() {
    return flushScheduled;
  }

  void setFlushScheduled(boolean scheduled) {
    flushScheduled = scheduled;
  }

  /**
   * When this node next wants a turn (its next tick or request deadline), if that is earlier than
   * the wake already queued; else MAX_VALUE. Records it as queued.
   */
  long claimNextWake() {
    if (runtime == null || paused) {
      return Long.MAX_VALUE;
    }
    long at = nanosToMillisCeil(runtime.nextWakeNanos());
    if (at >= wakeAt) {
      return Long.MAX_VALUE;
    }
    wakeAt = at;
    return at;
  }

  /** The queued wake at {@code atMillis} fired: whether it is still the one queued. */
  boolean wakeDue(long atMillis) {
    if (wakeAt != atMillis) {
      return false;
    }
    wakeAt = Long.MAX_VALUE;
    return !paused;
  }

  private void observeRole() {
    Raft raft = raft();
    if (raft != null && (raft.role() != lastRole || raft.term() != lastTerm)) {
      lastRole = raft.role();
      lastTerm = raft.term();
      host.roleChanged(id, lastRole, lastTerm);
    }
  }

  private void onPersisted(HardState hs, List<Entry> entries) {
    observeRole();
    if (!entries.isEmpty()) {
      host.entriesPersisted(id, entries);
    }
    if (hs != null && hs.getCommit() != lastCommit) {
      lastCommit = hs.getCommit();
      host.commitChanged(id, lastCommit);
    }
  }

  /** Reports the runtime's applies and reads to the trace, the role first. */
  private final class Listener implements NodeRuntime.Listener {
    @Override
    public void softStateChanged(SoftState before, SoftState now, long term) {
      observeRole();
    }

    @Override
    public void applied(List<Entry> entries) {
      observeRole();
      for (Entry e : entries) {
        applied.add(e);
        host.entryApplied(id, e);
      }
    }

    @Override
    public void readRequested(long context) {
      host.readRequested(id, context);
    }

    @Override
    public void readReady(ReadState read) {
      observeRole();
      readStates.add(read);
      host.readStateEmitted(id, read);
    }
  }
}
