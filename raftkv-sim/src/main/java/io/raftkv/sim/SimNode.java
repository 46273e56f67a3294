package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.ReadyProcessor;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * One simulated server: a {@link Raft} instance (absent while crashed), its disk and its state
 * machine (the list of applied entries). After every input it drains the core's Readys through
 * {@link ReadyProcessor}, exactly as the real server does, and reports each state change to the
 * cluster's trace.
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

    void readStateEmitted(int node, ReadState read);
  }

  private final int id;
  private final RaftConfig config;
  private final Host host;
  private final SimStorage storage = new SimStorage();
  private final ReadyProcessor processor;

  private Raft raft;

  /** Incremented at every crash, so that the old instance's ticks stop. */
  private int generation;

  /** A drain is queued for client inputs of the current millisecond. */
  private boolean drainScheduled;

  private List<Entry> applied = new ArrayList<>();
  private final List<ReadState> readStates = new ArrayList<>();
  private Role lastRole = Role.FOLLOWER;
  private long lastTerm;
  private long lastCommit;

  static final int MEMORY_TAIL = 8;

  SimNode(int id, RaftConfig config, Host host) {
    this.id = id;
    this.config = config;
    this.host = host;
    this.processor =
        new ReadyProcessor(
            storage,
            messages -> messages.forEach(host::send),
            (soft, committed, reads) -> onApply(soft, committed, reads));
    storage.setListener(this::onPersisted);
  }

  int id() {
    return id;
  }

  Raft raft() {
    return raft;
  }

  boolean isUp() {
    return raft != null;
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

  /** Starts (or restarts) the node from its durable state; the state machine starts empty. */
  void start(RandomGenerator random) {
    PersistentState restored = storage.restore();
    // A small memory tail, so every simulated run also releases applied entries and reads them
    // back for lagging followers, as the server does with a larger one.
    raft = new Raft(config, random, restored, storage, MEMORY_TAIL);
    applied = new ArrayList<>();
    lastRole = raft.role();
    lastTerm = raft.term();
    lastCommit = restored.hardState().getCommit();
    drain();
  }

  /** Drops the instance; unsynced writes are lost. */
  void crash() {
    raft = null;
    drainScheduled = false;
    generation++;
    storage.crash();
  }

  /**
   * Runs {@code input} against the live instance, then carries out everything it caused.
   *
   * @return false if the node is down
   */
  boolean handle(Consumer<Raft> input) {
    if (raft == null) {
      return false;
    }
    input.accept(raft);
    drain();
    return true;
  }

  /**
   * Runs {@code input} against the live instance without handling its Ready yet (see {@link
   * SimCluster}'s client inputs).
   *
   * @return false if the node is down
   */
  boolean applyWithoutDrain(Consumer<Raft> input) {
    if (raft == null) {
      return false;
    }
    input.accept(raft);
    return true;
  }

  boolean drainScheduled() {
    return drainScheduled;
  }

  void setDrainScheduled(boolean scheduled) {
    drainScheduled = scheduled;
  }

  /** Drains Readys; the role is observed before each one so the trace orders it correctly. */
  void drain() {
    Raft r = raft;
    observeRole();
    while (raft == r && processor.processOne(r)) {
      observeRole();
    }
  }

  private void observeRole() {
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

  private void onApply(SoftState soft, List<Entry> committed, List<ReadState> reads) {
    observeRole();
    for (Entry e : committed) {
      applied.add(e);
      host.entryApplied(id, e);
    }
    for (ReadState rs : reads) {
      readStates.add(rs);
      host.readStateEmitted(id, rs);
    }
  }
}
