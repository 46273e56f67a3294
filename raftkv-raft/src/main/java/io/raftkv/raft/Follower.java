package io.raftkv.raft;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;

/**
 * What a follower does with its leader's messages (etcd's {@code stepFollower} and {@code
 * handleAppendEntries}): Figure 2's AppendEntries receiver, answered with the conflict hint of §5.3
 * on a mismatch, Figure 13's InstallSnapshot receiver (§7), and TimeoutNow (dissertation §3.10),
 * which makes it campaign at once.
 *
 * <p>Holds no state of its own: the log is the {@link RaftLog}'s, the leader and timer the {@link
 * Raft}'s.
 */
final class Follower {
  private final Raft raft;
  private final RaftLog log;

  Follower(Raft raft, RaftLog log) {
    this.raft = raft;
    this.log = log;
  }

  /** A message of the current term (the caller has handled terms and RequestVote). */
  void step(RaftMessage m) {
    switch (m.getBodyCase()) {
      case APPEND_REQUEST -> handleAppendRequest(m);
      case INSTALL_SNAPSHOT -> handleInstallSnapshot(m);
        // §3.10: the leader hands over; it has caught this node up, so campaign without waiting.
      case TIMEOUT_NOW -> raft.startElection(true);
      default -> {}
    }
  }

  /** Figure 2, AppendEntries receiver; the sender leads the current term (§5.2). */
  void handleAppendRequest(RaftMessage m) {
    raft.leaderId = m.getFrom();
    // §5.2: "If a follower receives no communication over a period of time ..." - it just did.
    raft.electionElapsed = 0;
    AppendEntriesRequest a = m.getAppendRequest();
    checkNothingAcknowledgedWasLost(m.getFrom(), a);
    AppendEntriesResponse.Builder reply = AppendEntriesResponse.newBuilder().setRound(a.getRound());
    long lastNew =
        log.maybeAppend(
            a.getPrevLogIndex(), a.getPrevLogTerm(), a.getLeaderCommit(), a.getEntriesList());
    if (lastNew >= 0) {
      reply.setSuccess(true).setMatchIndex(lastNew);
    } else {
      // §5.3 accelerated backoff: name the conflicting term and where it starts in our log.
      reply.setRejectedIndex(a.getPrevLogIndex());
      if (a.getPrevLogIndex() > log.lastIndex()) {
        reply.setConflictTerm(0).setConflictIndex(log.lastIndex() + 1);
      } else {
        long conflictTerm = log.term(a.getPrevLogIndex());
        long first = log.firstIndexOfTerm(conflictTerm, a.getPrevLogIndex());
        // Never point below the commit index: those entries match the leader's (Log Matching).
        reply.setConflictTerm(conflictTerm).setConflictIndex(Math.max(first, log.committed() + 1));
      }
    }
    raft.send(m.getFrom()).setAppendResponse(reply);
  }

  /**
   * A leader's append says up to which committed index it knows this log reaches ({@code
   * acked_commit}: min(our match index, its commit index)); a log that ends before it lost entries
   * we acknowledged, so this node stops (etcd's {@code raftLog.commitTo} panics the same way on a
   * heartbeat's {@code min(match, committed)}: "tocommit(%d) is out of range [lastIndex(%d)]. Was
   * the raft log corrupted, truncated, or lost?").
   *
   * <p>It never fires on a node that kept what it acknowledged. The match index is what this node
   * answered in the leader's term, and only after those entries were durable (the Ready contract:
   * entries are synced before the answer leaves; writes lost in a crash were never acknowledged).
   * Bounded by the commit index, those entries are committed, so no leader's append truncates them
   * (Leader Completeness, §5.4), and a snapshot installed since only moves the log's end forward
   * (Figure 13: it is newer than our commit index, and its last entry matches ours when we hold it,
   * so the suffix stays). A lagging follower has a low match, and a reordered or duplicated append
   * of the same term carries an older, lower value; one of an older term was refused already. Since
   * {@code acked_commit <= match <= prev_log_index}, only an append that would be refused anyway
   * (its previous index beyond our log) can trip it.
   */
  private void checkNothingAcknowledgedWasLost(int leader, AppendEntriesRequest a) {
    if (raft.detectsDataLoss() && a.getAckedCommit() > log.lastIndex()) {
      throw new DataLossException(
          raft.id(), leader, raft.term(), a.getAckedCommit(), log.lastIndex());
    }
  }

  /**
   * Figure 13, InstallSnapshot receiver; the sender leads the current term. The driver staged the
   * snapshot's bytes before handing over this message. A snapshot no newer than the commit index is
   * stale or a duplicate: ignored (rule 6's "retain" case covers it: everything up to the commit
   * index matches the leader's already). A newer one replaces the log up to its last entry (rules
   * 6–7) and is handed to the driver in the next Ready, which installs it before anything else.
   * Either way the answer is an AppendEntries success at the index known to match the leader's: the
   * snapshot's, or the commit index if that is higher, never the log's end (a suffix kept after the
   * snapshot is not proven to match).
   */
  void handleInstallSnapshot(RaftMessage m) {
    raft.leaderId = m.getFrom();
    raft.electionElapsed = 0;
    SnapshotMeta meta = m.getInstallSnapshot().getMeta();
    if (meta.getIndex() > log.committed() && raft.restoreSnapshot(meta)) {
      raft.send(m.getFrom())
          .setAppendResponse(
              AppendEntriesResponse.newBuilder().setSuccess(true).setMatchIndex(meta.getIndex()));
    } else {
      raft.send(m.getFrom())
          .setAppendResponse(
              AppendEntriesResponse.newBuilder().setSuccess(true).setMatchIndex(log.committed()));
    }
  }
}
