package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;

/**
 * Everything the core asks its driver to do after some ticks, messages and proposals. Handle it
 * with {@link ReadyProcessor}, which keeps the order the contract requires:
 *
 * <ol>
 *   <li>install {@link #snapshot()} if there is one: the state machine takes the staged snapshot
 *       (durably), then the log storage drops what the snapshot replaces;
 *   <li>persist {@link #hardState()} and {@link #entries()}, durably when {@link #mustSync()}: the
 *       entries replace the persisted log from {@code entries.get(0).getIndex()} onward (a follower
 *       may truncate a conflicting suffix, §5.3);
 *   <li>only then send {@link #messages()}: a vote, an append acknowledgement and the leader's own
 *       count toward a commit all depend on that fsync (Figure 2, "Persistent state ... updated on
 *       stable storage before responding to RPCs"). The one exception is {@link
 *       #sendBeforePersist()}: a leader's messages may go out first, so that its fsync and its
 *       followers' run in parallel (thesis §10.2.1);
 *   <li>apply {@link #committedEntries()} in order, and serve {@link #readStates()} once applied;
 *   <li>call {@link Raft#advance(Ready)}.
 * </ol>
 *
 * @param softState the new role and leader, or null if unchanged. When the role leaves {@link
 *     Role#LEADER} every pending proposal and ReadIndex request of the old term is abandoned by the
 *     core: the driver must fail them (their outcome is unknown for proposals).
 * @param hardState the new term, vote and commit index to persist, or null if unchanged
 * @param snapshot a snapshot this follower accepted (§7, Figure 13), or null: the driver installs
 *     the one it staged for it into the state machine, durably, and compacts the log storage to it
 *     (keeping the entries after it only if the entry at its index has its term), before anything
 *     else in this Ready; the committed entries then start after it
 * @param sendBeforePersist the messages depend on nothing this Ready persists, so they may be sent
 *     before (or while) it is persisted. Set only for a leader whose term and vote are already
 *     durable: its AppendEntries carry entries that need not be on its own disk yet, because the
 *     core counts the leader's own copy toward a commit only after {@link Raft#advance(Ready)}
 *     (thesis §10.2.1: "the leader can write to its disk in parallel with replicating to the
 *     followers"). A follower's or candidate's Ready never has it: its acknowledgements and votes
 *     promise durability.
 */
public record Ready(
    SoftState softState,
    HardState hardState,
    SnapshotMeta snapshot,
    List<Entry> entries,
    List<RaftMessage> messages,
    List<Entry> committedEntries,
    List<ReadState> readStates,
    boolean mustSync,
    boolean sendBeforePersist) {

  public Ready {
    entries = List.copyOf(entries);
    messages = List.copyOf(messages);
    committedEntries = List.copyOf(committedEntries);
    readStates = List.copyOf(readStates);
  }
}
