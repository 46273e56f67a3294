package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.ArrayList;
import java.util.List;

/**
 * What the core owes its driver between two {@link Ready}s (etcd's RawNode bookkeeping): the
 * messages queued since the last Ready, the reads that became safe, the soft and hard state last
 * handed out, and the Ready awaiting {@link Raft#advance}. A Ready carries a state only when it
 * differs from the one last handed out, and asks for a sync when the term or vote changed or
 * entries were added: Figure 2 requires both on stable storage "before responding to RPCs".
 *
 * <p>Not thread-safe: owned by the {@link Raft} that holds it.
 */
final class Outbox {
  /** Built when the Ready is, so their senders may still fill them in. */
  private List<RaftMessage.Builder> messages = new ArrayList<>();

  private List<ReadState> readStates = new ArrayList<>();
  private HardState persistedHardState;
  private SoftState reportedSoftState = new SoftState(Role.FOLLOWER, NONE);
  private Ready handedOut;

  Outbox(HardState persisted) {
    this.persistedHardState = persisted;
  }

  /** Queues a message for the next Ready. */
  void add(RaftMessage.Builder message) {
    messages.add(message);
  }

  /** Where reads that became safe go, to be handed out with the next Ready. */
  List<ReadState> readStates() {
    return readStates;
  }

  boolean awaitingAdvance() {
    return handedOut != null;
  }

  /** Whether a state changed or a message or read is waiting (the log is the caller's to ask). */
  boolean hasNews(SoftState soft, HardState hard) {
    return !soft.equals(reportedSoftState)
        || !hard.equals(persistedHardState)
        || !messages.isEmpty()
        || !readStates.isEmpty();
  }

  /**
   * Hands out everything queued with the given states and entries; the caller has checked that no
   * Ready awaits {@link #acknowledge}.
   *
   * @param leader whether this node leads: its term and vote are durable already (it persisted them
   *     before asking for votes) and it counts its own copy toward a commit only once {@link
   *     Raft#advance} says it is stable, so it may send before it persists (dissertation §10.2.1)
   */
  Ready take(
      SoftState soft,
      HardState hard,
      SnapshotMeta snapshot,
      List<Entry> entries,
      List<Entry> committedEntries,
      boolean leader) {
    boolean termOrVoteChanged =
        hard.getCurrentTerm() != persistedHardState.getCurrentTerm()
            || hard.hasVotedFor() != persistedHardState.hasVotedFor()
            || hard.getVotedFor() != persistedHardState.getVotedFor();
    List<RaftMessage> built = new ArrayList<>(messages.size());
    for (RaftMessage.Builder b : messages) {
      built.add(b.build());
    }
    messages = new ArrayList<>();
    List<ReadState> reads = readStates;
    readStates = new ArrayList<>();
    handedOut =
        new Ready(
            soft.equals(reportedSoftState) ? null : soft,
            hard.equals(persistedHardState) ? null : hard,
            snapshot,
            entries,
            built,
            committedEntries,
            reads,
            termOrVoteChanged || !entries.isEmpty(),
            leader && !termOrVoteChanged);
    return handedOut;
  }

  /** The driver carried out {@code ready}: its states are now the ones last handed out. */
  void acknowledge(Ready ready) {
    if (ready != handedOut) {
      throw new IllegalStateException("advance() takes the Ready last handed out");
    }
    handedOut = null;
    if (ready.softState() != null) {
      reportedSoftState = ready.softState();
    }
    if (ready.hardState() != null) {
      persistedHardState = ready.hardState();
    }
  }
}
