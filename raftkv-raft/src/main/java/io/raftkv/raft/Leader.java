package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.InstallSnapshotRequest;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.proto.raft.TimeoutNow;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a node does while it leads (etcd's {@code stepLeader} and {@code tickHeartbeat}): log
 * replication and commitment (§5.3, §5.4.2), snapshots for followers behind the compacted log (§7),
 * heartbeats (§5.2), the no-op entry and ReadIndex (§8), CheckQuorum (dissertation §6.2) and
 * leadership transfer (dissertation §3.10).
 *
 * <p>The per-follower bookkeeping lives in the {@link ProgressTracker}; this class decides what to
 * send. The leader-only state it holds (pending reads, transfer target, entries not yet sent) is
 * dropped by {@link #reset()} whenever the node changes role.
 *
 * <p>Not thread-safe: owned by the {@link Raft} that holds it.
 */
final class Leader {
  private final Raft raft;
  private final RaftConfig config;
  private final RaftLog log;
  private final ProgressTracker tracker;

  private final ReadIndexQueue reads = new ReadIndexQueue();

  /**
   * Heartbeat round stamped on every AppendEntries; see {@link ReadIndexQueue}. It only grows, over
   * every term this node leads.
   */
  private long round;

  /**
   * The round of the reads that arrived since the last Ready was handed out, or 0. Their leadership
   * check goes out when the Ready is built ({@link #flushAppends}).
   */
  private long unsentReadRound;

  /**
   * The AppendEntries queued since the last Ready was handed out. A read's round rides on these
   * when it can, instead of on a heartbeat of its own to the same follower.
   */
  private final List<RaftMessage.Builder> queuedAppends = new ArrayList<>();

  private int leadTransferee = NONE;
  private int transferElapsed;
  private int heartbeatElapsed;

  /** Only for the test that shows what the 2015 fix prevents. */
  boolean allowChangesBeforeTermCommit;

  /** New entries wait here to go out in one message per follower when the Ready is built. */
  private boolean appendsPending;

  Leader(Raft raft, RaftConfig config, RaftLog log, ProgressTracker tracker) {
    this.raft = raft;
    this.config = config;
    this.log = log;
    this.tracker = tracker;
  }

  /** Forgets everything of a leadership: the node is changing role. */
  void reset() {
    reads.clear();
    leadTransferee = NONE;
    unsentReadRound = 0;
    queuedAppends.clear();
    appendsPending = false;
  }

  /** The node has just won its election (§5.2); as a candidate it had no leader state. */
  void start() {
    tracker.startLeading(log.lastIndex() + 1, config.maxInflightAppends());
    heartbeatElapsed = 0;
    // §8: a no-op entry lets the new leader commit, and so learn, everything committed before it.
    appendEntry(EntryType.ENTRY_NOOP, ByteString.EMPTY);
  }

  int pendingReads() {
    return reads.size();
  }

  // ---------------------------------------------------------------- inputs

  /** A client command; 0 while leadership is being handed over (dissertation §3.10). */
  long propose(ByteString command) {
    if (leadTransferee != NONE) {
      return 0;
    }
    return appendEntry(EntryType.ENTRY_NORMAL, command);
  }

  /** §8 ReadIndex: records the read point, to be released once a majority confirms leadership. */
  void readIndex(long context) {
    // §8: a new leader does not know what is committed until it commits an entry of its term.
    if (!committedInCurrentTerm()) {
      reads.awaitTermCommit(context);
    } else {
      reads.awaitQuorum(context, log.committed(), readRound());
      releaseReads();
    }
  }

  /**
   * Dissertation §3.10: bring the target's log up to date, then tell it to campaign at once. New
   * proposals are refused meanwhile; the attempt is dropped after an election timeout.
   */
  boolean transferLeadership(int target) {
    Progress pr = tracker.progress(target);
    if (pr == null || !tracker.isVoter(target)) {
      return false; // only a voter can win an election (a learner or non-member never campaigns)
    }
    leadTransferee = target;
    transferElapsed = 0;
    if (pr.match() == log.lastIndex()) {
      raft.send(target).setTimeoutNow(TimeoutNow.getDefaultInstance());
    } else {
      sendAppend(target, true);
    }
    return true;
  }

  /** How many ticks until one of {@link #tick}'s timers fires (at least 1). */
  int ticksUntilTimerEvent() {
    int ticks =
        Math.min(
            config.heartbeatTicks() - heartbeatElapsed,
            config.electionTimeoutMinTicks() - raft.electionElapsed);
    if (leadTransferee != NONE) {
      ticks = Math.min(ticks, config.electionTimeoutMinTicks() - transferElapsed);
    }
    return Math.max(1, ticks);
  }

  /** One tick: heartbeats (§5.2), CheckQuorum (dissertation §6.2), the transfer's deadline. */
  void tick() {
    heartbeatElapsed++;
    raft.electionElapsed++;
    if (raft.electionElapsed >= config.electionTimeoutMinTicks()) {
      raft.electionElapsed = 0;
      // CheckQuorum: a leader cut off from a majority steps down rather than keep clients waiting.
      if (config.checkQuorum() && !tracker.quorumActiveSinceLastCheck()) {
        raft.becomeFollower(raft.term(), NONE);
        return;
      }
    }
    if (leadTransferee != NONE && ++transferElapsed >= config.electionTimeoutMinTicks()) {
      leadTransferee = NONE;
    }
    if (heartbeatElapsed >= config.heartbeatTicks()) {
      heartbeatElapsed = 0;
      heartbeat();
    }
  }

  /**
   * A message of the current term (the caller has handled terms and RequestVote). Only append
   * answers concern a leader: another AppendEntries of its own term would mean two leaders in one
   * term, which Election Safety (§5.2) rules out (the simulator's checkers report it).
   */
  void step(RaftMessage m) {
    if (m.hasAppendResponse()) {
      handleAppendResponse(m);
    }
  }

  /** The leader's own entries up to the log's stable mark are durable: they count now (§5.3). */
  void onStable() {
    advanceCommit();
  }

  // ---------------------------------------------------------------- membership (chapter 4)

  /** See {@link Raft#proposeConfChange}. */
  long proposeConfChange(ConfChange change) {
    if (leadTransferee != NONE) {
      return 0;
    }
    if (!committedInCurrentTerm() && !allowChangesBeforeTermCommit) {
      // The fix for the single-server change bug (raft-dev, 2015; dissertation §4.1 errata): a
      // change proposed before the new leader commits an entry of its term could be appended over
      // an uncommitted change of an earlier term and elect two leaders.
      throw new ConfChangeRefusedException(
          "this leader has not yet committed an entry of its term; retry in a moment");
    }
    if (log.configurationIndex() > log.committed()) {
      throw new ConfChangeRefusedException(
          "another configuration change (entry "
              + log.configurationIndex()
              + ") is not yet committed; retry once it is");
    }
    Configuration next = log.configuration().apply(change);
    long index = appendEntry(EntryType.ENTRY_CONFIG, next.toConfState().toByteString());
    raft.syncConfiguration();
    return index;
  }

  /**
   * A new configuration took effect: transfer to a node that no longer votes cannot succeed.
   * (Progress for new members and the dropping of removed ones is the tracker's.)
   */
  void onConfigurationChange() {
    if (leadTransferee != NONE && !tracker.isVoter(leadTransferee)) {
      leadTransferee = NONE;
    }
  }

  /**
   * Once the configuration entry in effect is committed: a joint configuration is left at once
   * (§4.3: "once C_old,new has been committed, ... the leader creates a log entry describing
   * C_new"), and a leader that is not a voter of a committed C_new steps down (§4.2.2), first
   * telling its most up-to-date voter to campaign so that the cluster does not wait for an election
   * timeout.
   */
  void completeConfigurationChange() {
    if (log.committed() < log.configurationIndex()) {
      return;
    }
    Configuration c = log.configuration();
    if (c.isJoint()) {
      appendEntry(EntryType.ENTRY_CONFIG, c.leaveJoint().toConfState().toByteString());
      raft.syncConfiguration();
    } else if (!c.isVoter(raft.id())) {
      int successor = NONE;
      for (int voter : tracker.voterPeers()) {
        Progress pr = tracker.progress(voter);
        if (pr.match() == log.lastIndex()
            && (successor == NONE
                || pr.recentActive() && !tracker.progress(successor).recentActive())) {
          successor = voter;
        }
      }
      if (successor != NONE) {
        raft.send(successor).setTimeoutNow(TimeoutNow.getDefaultInstance());
      }
      raft.becomeFollower(raft.term(), NONE);
    }
  }

  // ---------------------------------------------------------------- replication (§5.3)

  private long appendEntry(EntryType type, ByteString data) {
    Entry e =
        Entry.newBuilder()
            .setTerm(raft.term())
            .setIndex(log.lastIndex() + 1)
            .setType(type)
            .setData(data)
            .build();
    log.append(e);
    appendsPending = true;
    return e.getIndex();
  }

  /**
   * Completes the Ready's messages: the entries proposed since the last Ready (one message per
   * follower, not per entry), then the leadership check of the reads that arrived meanwhile.
   */
  void flushAppends() {
    if (appendsPending) {
      for (int peer : tracker.peers()) {
        sendAppend(peer, false);
      }
    }
    appendsPending = false;
    if (unsentReadRound != 0) {
      sendReadRound();
    }
  }

  private void handleAppendResponse(RaftMessage m) {
    Progress pr = tracker.progress(m.getFrom());
    if (pr == null) {
      return; // not (or no longer) a member: its answer counts for nothing
    }
    AppendEntriesResponse r = m.getAppendResponse();
    pr.setRecentActive(true);
    pr.ackRound(r.getRound());
    if (!r.getSuccess()) {
      if (pr.maybeDecrease(r.getRejectedIndex(), retryHint(r))) {
        sendAppend(m.getFrom(), true);
      }
    } else {
      boolean updated = pr.maybeUpdate(r.getMatchIndex());
      if (pr.state() == Progress.State.PROBE && r.getMatchIndex() + 1 >= pr.next()) {
        // The probe found where our logs agree: stream from there on.
        pr.becomeReplicate();
        updated = true;
      } else if (pr.state() == Progress.State.SNAPSHOT && pr.match() >= log.snapshotIndex()) {
        // The follower installed the snapshot (or caught up otherwise): our log continues from its
        // match, so stream from there.
        pr.becomeReplicate();
        updated = true;
      }
      if (!updated) {
        releaseReads();
        return;
      }
      advanceCommit();
      while (sendAppend(m.getFrom(), false)) {
        // Keep the pipeline full (bounded by maxInflightAppends).
      }
      if (pr.sentCommit() < Math.min(log.committed(), pr.match())) {
        // It was paused when the commit index moved: tell it now, not at the next heartbeat.
        sendAppendRequest(m.getFrom(), pr.match(), List.of());
      }
      if (m.getFrom() == leadTransferee && pr.match() == log.lastIndex()) {
        // §3.10: the target is caught up; it may now campaign without waiting for a timeout.
        raft.send(leadTransferee).setTimeoutNow(TimeoutNow.getDefaultInstance());
      }
    }
    releaseReads();
  }

  /**
   * Where to retry after a rejection: past our last entry of the follower's conflicting term if we
   * have that term, else at the first index the follower holds of it (§5.3, end: "the follower can
   * include the term of the conflicting entry and the first index it stores for that term").
   */
  private long retryHint(AppendEntriesResponse r) {
    if (r.getConflictTerm() > 0) {
      long ours = log.lastIndexOfTerm(r.getConflictTerm(), r.getRejectedIndex());
      if (ours > 0) {
        return ours + 1;
      }
    }
    return r.getConflictIndex();
  }

  /**
   * §5.3/§5.4.2: commit the highest index stored on a majority, but only if it belongs to the
   * current term (earlier terms' entries are committed indirectly, Figure 8). The new commit index
   * goes to followers at once.
   */
  private void advanceCommit() {
    long index = tracker.committedIndex(log.stable());
    if (index <= log.committed() || log.term(index) != raft.term()) {
      return;
    }
    boolean firstInTerm = !committedInCurrentTerm();
    log.commitTo(index);
    boolean all = true;
    for (int peer : tracker.peers()) {
      all &= sendAppend(peer, true);
    }
    if (all) {
      // Every follower just heard from us. Not so if one is paused (a probe or a snapshot in
      // flight, a full pipeline): the heartbeat keeps its schedule, or a leader that commits all
      // the time would never re-probe such a follower, retry its failed snapshot, or reset its
      // election timer.
      heartbeatElapsed = 0;
    }
    if (firstInTerm) {
      // §8: reads that waited for this leader's first commit take it as their read point.
      for (long context : reads.drainAwaitingTermCommit()) {
        reads.awaitQuorum(context, log.committed(), readRound());
      }
      releaseReads();
    }
  }

  private boolean committedInCurrentTerm() {
    return log.term(log.committed()) == raft.term();
  }

  /**
   * Sends {@code to} the entries it is missing, as many as one message may carry, or a snapshot
   * when the log no longer holds them (§7).
   *
   * @param sendIfEmpty send even with no entries (to carry the commit index or probe)
   * @return whether a message was sent
   */
  private boolean sendAppend(int to, boolean sendIfEmpty) {
    Progress pr = tracker.progress(to);
    if (pr.isPaused()) {
      return false;
    }
    if (pr.next() <= log.snapshotIndex()) {
      sendSnapshot(to, pr);
      return false;
    }
    List<Entry> entries = log.slice(pr.next(), log.lastIndex(), config.maxMessageBytes());
    if (entries.isEmpty() && !sendIfEmpty) {
      return false;
    }
    sendAppendRequest(to, pr.next() - 1, entries);
    pr.sentAppend(entries.isEmpty() ? 0 : entries.get(entries.size() - 1).getIndex());
    return true;
  }

  /**
   * §7 InstallSnapshot: the follower needs entries that were compacted away. The snapshot is the
   * state machine as of the last applied entry: the driver captures it when it sends this message
   * (before it applies anything more), and streams its bytes beside it. Nothing else goes to the
   * follower but heartbeats until the transfer ends ({@link #snapshotDone}).
   */
  private void sendSnapshot(int to, Progress pr) {
    SnapshotMeta meta = raft.snapshotMeta(log.applied());
    pr.becomeSnapshot(meta.getIndex());
    raft.send(to).setInstallSnapshot(InstallSnapshotRequest.newBuilder().setMeta(meta));
  }

  /**
   * The driver's word on snapshot {@code index} sent to {@code to}: it arrived, or the transfer
   * failed.
   */
  void snapshotDone(int to, long index, boolean delivered) {
    Progress pr = tracker.progress(to);
    if (pr != null) {
      pr.snapshotDone(index, delivered);
    }
  }

  /** The lowest index of a snapshot in flight to a follower, {@code Long.MAX_VALUE} if none. */
  long oldestSnapshotInFlight() {
    return tracker.oldestSnapshotInFlight();
  }

  private void sendAppendRequest(int to, long prevIndex, List<Entry> entries) {
    if (prevIndex < log.snapshotIndex()) {
      // A heartbeat to a follower behind the compacted log: the term there is gone, so it goes
      // with the snapshot's last entry (a follower without it rejects, and is sent a snapshot).
      if (!entries.isEmpty()) {
        throw new IllegalStateException("entries after compacted index " + prevIndex);
      }
      prevIndex = log.snapshotIndex();
    }
    Progress pr = tracker.progress(to);
    // The follower commits min(leaderCommit, last index of this message), Figure 2 rule 5.
    pr.sentCommit(
        Math.min(
            log.committed(),
            entries.isEmpty() ? prevIndex : entries.get(entries.size() - 1).getIndex()));
    RaftMessage.Builder message = raft.send(to);
    queuedAppends.add(message);
    message.setAppendRequest(
        AppendEntriesRequest.newBuilder()
            .setPrevLogIndex(prevIndex)
            .setPrevLogTerm(log.term(prevIndex))
            .addAllEntries(entries)
            .setLeaderCommit(log.committed())
            // What this follower must hold: a log ending before it lost data (etcd's
            // heartbeat commit, min(match, committed)); see Follower.
            .setAckedCommit(Math.min(pr.match(), log.committed()))
            .setRound(round));
  }

  /**
   * The periodic heartbeat (§5.2). It also un-sticks replication: a probing follower gets its probe
   * again, and a pipeline that made no progress for a whole interval gets an empty append at its
   * far end, whose rejection reveals lost messages.
   */
  private void heartbeat() {
    for (int peer : tracker.peers()) {
      Progress pr = tracker.progress(peer);
      if (pr.state() == Progress.State.PROBE) {
        pr.onHeartbeat();
        sendAppend(peer, true);
      } else if (pr.state() == Progress.State.SNAPSHOT) {
        sendAppendRequest(peer, pr.match(), List.of()); // only to keep its election timer reset
      } else if (pr.next() > pr.match() + 1 && pr.stalledSinceLastHeartbeat()) {
        // Entries sent but unacknowledged, even if freeOneIfFull already forgot them (the retry
        // below can be lost too: it must be repeated until it is answered).
        pr.freeOneIfFull();
        sendAppendRequest(peer, pr.next() - 1, List.of());
      } else {
        sendAppendRequest(peer, pr.match(), List.of());
      }
      pr.markHeartbeat();
    }
  }

  // ---------------------------------------------------------------- ReadIndex (§8)

  /** The round that proves leadership for a read arriving now; one per Ready. */
  private long readRound() {
    if (unsentReadRound == 0) {
      round++;
      unsentReadRound = round;
    }
    return unsentReadRound;
  }

  /**
   * §8's heartbeat exchange for the reads of this Ready, sent with it. Every AppendEntries in this
   * Ready leaves after those reads arrived (nothing is sent before the Ready is handed out), so
   * each carries their round, even one queued earlier in the same turn, and its answer counts for
   * them. Only a follower that is sent nothing else gets a heartbeat: under load, a read costs no
   * messages of its own.
   */
  private void sendReadRound() {
    Set<Integer> roundCarried = new TreeSet<>();
    for (RaftMessage.Builder message : queuedAppends) {
      if (message.getAppendRequest().getRound() < round) {
        message.getAppendRequestBuilder().setRound(round);
      }
      roundCarried.add(message.getTo());
    }
    for (int peer : tracker.peers()) {
      if (!roundCarried.contains(peer)) {
        // prev = match: always accepted, so the answer confirms leadership without side effects.
        sendAppendRequest(peer, tracker.progress(peer).match(), List.of());
      }
    }
  }

  /** Whether reads wait for a leadership check that the next Ready sends. */
  boolean hasUnsentReadRound() {
    return unsentReadRound != 0;
  }

  /** The Ready was handed out: the next read needs a round of its own. */
  void onMessagesHandedOut() {
    unsentReadRound = 0;
    queuedAppends.clear();
  }

  private void releaseReads() {
    reads.release(tracker.confirmedRound(round), raft.outbox.readStates());
  }
}
