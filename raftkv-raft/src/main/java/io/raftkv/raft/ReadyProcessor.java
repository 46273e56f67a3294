package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import java.util.List;

/**
 * The one place that carries out a {@link Ready} in the order its contract requires: persist, then
 * send (a leader's messages first, when {@link Ready#sendBeforePersist()} allows), then apply, then
 * advance. Every driver (the simulator, the server) goes through here, so no message can leave
 * before the state it depends on is durable.
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

  public ReadyProcessor(LogStorage storage, MessageSender sender, Applier applier) {
    this.storage = storage;
    this.sender = sender;
    this.applier = applier;
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
