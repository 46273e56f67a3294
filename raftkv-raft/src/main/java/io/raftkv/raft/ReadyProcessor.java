package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;

/**
 * The one place that carries out a {@link Ready} in the order its contract requires: install a
 * snapshot, persist, then send (a leader's messages first, when {@link Ready#sendBeforePersist()}
 * allows), then apply, then advance. Every driver (the simulator, the server) goes through here, so
 * no message can leave before the state it depends on is durable.
 *
 * <p>Thread-safety: call from the thread that owns the {@link Raft}.
 */
public final class ReadyProcessor {

  /** Durable storage for one node's log and hard state. */
  public interface LogStorage {
    /**
     * Makes {@code hardState} (when not null) and {@code entries} part of the persisted state;
     * {@code entries} replace the persisted log from their first index onward. When {@code sync} is
     * set, returns only once both are durable (fsync).
     */
    void persist(HardState hardState, List<Entry> entries, boolean sync);

    /**
     * The log now starts after {@code start} (§7): drop the entries up to {@code start.index}; keep
     * the ones after it only if the entry at that index has {@code start.term} (else drop them all:
     * Figure 13, rules 6–7). Need not be durable at once: a crash may leave the old entries, which
     * a restart reconciles with the state machine by this same rule.
     */
    default void compact(SnapshotMeta start) {
      throw new UnsupportedOperationException("this storage cannot compact its log");
    }
  }

  /** Installs a snapshot the core accepted (§7) into the state machine. */
  public interface SnapshotInstaller {
    /**
     * Replaces the state machine's state with the snapshot staged for {@code meta}, durably: on
     * return a crash leaves the new state, never the old one or a mix.
     */
    void install(SnapshotMeta meta);
  }

  /** Hands messages to the network; must not block on peers. */
  public interface MessageSender {
    void send(List<RaftMessage> messages);
  }

  /** Receives what the state machine and the clients waiting on it need, in log order. */
  public interface Applier {
    /**
     * @param softState the new role and leader, or null if unchanged
     * @param committed entries to apply, in index order, none applied before
     * @param readStates reads that may be served once their index is applied
     */
    void apply(SoftState softState, List<Entry> committed, List<ReadState> readStates);
  }

  private final LogStorage storage;
  private final MessageSender sender;
  private final Applier applier;
  private final SnapshotInstaller installer;

  /** A driver without snapshots: a Ready that asks to install one fails. */
  public ReadyProcessor(LogStorage storage, MessageSender sender, Applier applier) {
    this(
        storage,
        sender,
        applier,
        meta -> {
          throw new UnsupportedOperationException("this driver cannot install snapshots");
        });
  }

  public ReadyProcessor(
      LogStorage storage, MessageSender sender, Applier applier, SnapshotInstaller installer) {
    this.storage = storage;
    this.sender = sender;
    this.applier = applier;
    this.installer = installer;
  }

  /**
   * Handles one Ready if there is one.
   *
   * @return whether there was one
   */
  public boolean processOne(Raft raft) {
    if (!raft.hasReady()) {
      return false;
    }
    Ready ready = raft.ready();
    if (ready.snapshot() != null) {
      // The state machine first: a crash between the two leaves a log that the restart
      // reconciles with the snapshot, whereas a log compacted past an old state machine would
      // have lost the entries between them.
      installer.install(ready.snapshot());
      storage.compact(ready.snapshot());
    }
    boolean sendFirst = ready.sendBeforePersist() && !ready.messages().isEmpty();
    if (sendFirst) {
      // A leader's appends: the followers' fsyncs overlap with the leader's own (§10.2.1).
      sender.send(ready.messages());
    }
    if (ready.hardState() != null || !ready.entries().isEmpty()) {
      storage.persist(ready.hardState(), ready.entries(), ready.mustSync());
    }
    if (!sendFirst && !ready.messages().isEmpty()) {
      sender.send(ready.messages());
    }
    if (ready.softState() != null
        || !ready.committedEntries().isEmpty()
        || !ready.readStates().isEmpty()) {
      applier.apply(ready.softState(), ready.committedEntries(), ready.readStates());
    }
    raft.advance(ready);
    return true;
  }

  /** Handles Readys until the core has nothing more to say. */
  public void drain(Raft raft) {
    while (processOne(raft)) {
      // each round may produce more (e.g. a leader's commit after its own fsync)
    }
  }
}
