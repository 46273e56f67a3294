package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteResponse;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * One Raft peer as a pure, deterministic state machine (the etcd/raft model): no threads, clocks or
 * I/O. The driver feeds it {@link #tick()}s, peers' messages ({@link #step}), client commands
 * ({@link #propose}) and reads ({@link #readIndex}), then takes a {@link Ready} with everything to
 * persist, send and apply, and acknowledges it with {@link #advance}.
 *
 * <p>Implements Figure 2 of the extended paper (§5), log compaction and InstallSnapshot (§7, Figure
 * 13; the core handles snapshot metadata only, the driver moves the bytes), the no-op entry of a
 * new leader and ReadIndex (§8), and, from the dissertation, PreVote and CheckQuorum (§9.6) and
 * leadership transfer (§3.10).
 *
 * <p>This class holds the node's own state (term, vote, role, leader, election timer), checks every
 * message's term (Figure 2, "Rules for all servers"), switches roles, and builds the Ready. What
 * each role does with a message is in {@link Follower}, {@link Candidate} and {@link Leader}
 * (etcd's stepFollower, stepCandidate and stepLeader), how any role answers RequestVote in {@link
 * Voter}; the voters, their votes and progress, and every majority question are in the {@link
 * ProgressTracker}; the log is a {@link RaftLog}.
 *
 * <p>Thread-safety: none; one thread owns an instance. Durability: nothing, the driver persists
 * what each Ready says, before sending its messages.
 */
public final class Raft {
  private final RaftConfig config;
  private final RandomGenerator random;
  private final RaftLog log;
  private final ProgressTracker tracker;
  private final Follower follower;
  private final Candidate candidate;
  private final Leader leader;
  private final Voter voter;

  // Figure 2, persistent state (with the commit index in the log).
  private long term;

  /** Written by {@link Voter} too. */
  int votedFor = NONE;

  private Role role = Role.FOLLOWER;

  /** The leader of the current term, if known; written by {@link Follower} too. */
  int leaderId = NONE;

  /**
   * Ticks since the last election-timer reset (§5.2); on a leader, since the last CheckQuorum
   * check. Written by {@link Follower} (a leader was heard from) and {@link Leader} too.
   */
  int electionElapsed;

  private int randomizedElectionTimeout;

  private final int memoryTail;

  /** Messages, read states and reported states between two Readys. */
  final Outbox outbox;

  /** A snapshot this node accepted (Figure 13) that the next Ready hands to the driver. */
  private SnapshotMeta snapshotToInstall;

  /** Whether the configuration in effect was committed when the tracker last took it. */
  private boolean configurationSettled = true;

  /** Whether a leader's append may reveal that this node lost its data ({@link Follower}). */
  private boolean detectDataLoss = true;

  /**
   * Builds a node from what it persisted (a new node starts from {@link PersistentState#empty()}).
   *
   * @param random the only source of randomness (election timeouts): seed it for reproducibility
   */
  public Raft(RaftConfig config, RandomGenerator random, PersistentState restored) {
    this(config, random, restored, null, 0);
  }

  /**
   * Builds a node that keeps only the tail of its log in memory: entries both durable and applied
   * are released once more than {@code memoryTail} of them accumulate beyond the last release, and
   * read back through {@code reader} when a lagging follower needs them. Memory then stays bounded
   * by the unapplied entries plus about twice {@code memoryTail}, however long the log grows.
   *
   * @param reader reads persisted entries back; null keeps the whole log in memory
   * @param memoryTail how many applied entries to keep (serving followers that lag a little without
   *     reading storage)
   */
  public Raft(
      RaftConfig config,
      RandomGenerator random,
      PersistentState restored,
      LogReader reader,
      int memoryTail) {
    if (memoryTail < 0) {
      throw new IllegalArgumentException("memory tail must not be negative: " + memoryTail);
    }
    this.config = config;
    this.random = random;
    this.memoryTail = memoryTail;
    HardState hs = restored.hardState();
    this.log =
        new RaftLog(
            restored.entries(),
            hs.getCommit(),
            restored.appliedIndex(),
            reader,
            restored.offset(),
            restored.offsetTerm(),
            restored.snapshot(),
            restoredConfigurations(config, restored));
    this.term = hs.getCurrentTerm();
    this.votedFor = hs.hasVotedFor() ? hs.getVotedFor() : NONE;
    this.outbox = new Outbox(hardState());
    this.tracker = new ProgressTracker(config.id());
    syncConfiguration();
    this.follower = new Follower(this, log);
    this.candidate = new Candidate(this, config, log, tracker, follower);
    this.leader = new Leader(this, config, log, tracker);
    this.voter = new Voter(this, config, log);
    resetElectionTimer();
  }

  /**
   * Where the configuration comes from at start (dissertation §4.1): what the state machine
   * recorded as of its applied index, or else the bootstrap configuration; either way overridden by
   * the configuration entries in the loaded log after it.
   */
  private static ConfigurationLog restoredConfigurations(
      RaftConfig config, PersistentState restored) {
    if (restored.configuration().getVotersCount() > 0) {
      return new ConfigurationLog(
          restored.appliedIndex(), Configuration.fromConfState(restored.configuration()));
    }
    return new ConfigurationLog(restored.offset(), Configuration.ofVoters(config.voters()));
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of time passes (§5.2 election timeout, heartbeats, CheckQuorum). */
  public void tick() {
    if (role == Role.LEADER) {
      leader.tick();
      afterInput();
    } else if (!isPromotable()) {
      // A learner, or a node outside the configuration, never campaigns (dissertation §4.2.1), but
      // its leader lease still runs out: it must grant a vote once its leader is gone (it may be a
      // voter in the candidate's configuration without knowing it yet).
      electionElapsed = Math.min(electionElapsed + 1, randomizedElectionTimeout);
    } else {
      electionElapsed++;
      if (electionElapsed >= randomizedElectionTimeout) {
        electionElapsed = 0;
        startElection(false);
      }
    }
  }

  /**
   * How many {@link #tick} calls, with no other input between them, until one may do something (at
   * least 1): a leader's next heartbeat or CheckQuorum, a follower's or candidate's election
   * timeout. The ticks before it only count, so a driver that sleeps through them (an idle node
   * need not wake every tick) and delivers them before its next input is indistinguishable from one
   * that woke for each. A learner's lease only counts up to its limit; it is woken no later than
   * its timeout anyway.
   */
  public int ticksUntilTimerEvent() {
    if (role == Role.LEADER) {
      return leader.ticksUntilTimerEvent();
    }
    return Math.max(1, randomizedElectionTimeout - electionElapsed);
  }

  /**
   * Starts an election now rather than at the next timeout (the {@code --leader} start-up hint).
   * The node still needs a majority of votes: safety never depends on this call.
   */
  public void campaign() {
    if (role != Role.LEADER) {
      startElection(false);
    }
  }

  /**
   * Whether this node may campaign: it is a voter of its configuration (either half), or (§4.2.2) a
   * change that removes it is not yet known to be committed and it was a voter before: "a server
   * that is not part of its own latest configuration should still start new elections, as it might
   * still be needed until the C_new entry is committed". A leader that appended its own removal and
   * then lost leadership may hold the only copy of that entry; without this no one could be
   * elected. Its own vote does not count ({@link ProgressTracker} counts voters only).
   */
  boolean isPromotable() {
    Configuration c = tracker.configuration();
    if (c.isVoter(config.id())) {
      return true;
    }
    return !c.contains(config.id())
        && log.committed() < log.configurationIndex()
        && log.previousConfiguration().isVoter(config.id());
  }

  /**
   * Proposes a configuration change (dissertation chapter 4) if this node is the leader: one voter
   * more or less (or a promotion) goes directly, a larger change through the joint configuration,
   * which this leader leaves on its own once it is committed (§4.3). The new configuration takes
   * effect here at once, on followers when they append it (§4.1).
   *
   * @return the index of the configuration entry, or 0 if this node cannot accept it (not the
   *     leader, or transferring leadership)
   * @throws ConfChangeRefusedException the change is refused: another change is pending, this
   *     leader has not committed an entry of its term yet, or the change is invalid (the message
   *     says which)
   */
  public long proposeConfChange(ConfChange change) {
    return role == Role.LEADER ? leader.proposeConfChange(change) : 0;
  }

  /**
   * The configuration in effect: the latest in the log, committed or not (§4.1). Its {@code voters}
   * are empty on a node that has none (it waits to be added).
   */
  public ConfState configuration() {
    return log.configuration().toConfState();
  }

  /**
   * Appends a client command if this node is the leader.
   *
   * @return the entry's index (its term is {@link #term()}), or 0 if this node cannot accept it
   *     (not the leader, or transferring leadership)
   */
  public long propose(ByteString command) {
    return role == Role.LEADER ? leader.propose(command) : 0;
  }

  /**
   * Asks for a linearizable read point (§8). Once the returned {@link ReadState} for {@code
   * context} appears in a Ready and the state machine has applied its index, the read may be
   * served.
   *
   * @return false if this node is not the leader (the caller should redirect)
   */
  public boolean readIndex(long context) {
    if (role != Role.LEADER) {
      return false;
    }
    leader.readIndex(context);
    return true;
  }

  /**
   * Hands leadership to {@code target} (§3.10 of the dissertation): bring its log up to date, then
   * tell it to campaign at once. New proposals are refused meanwhile; the attempt is dropped after
   * an election timeout.
   */
  public boolean transferLeadership(int target) {
    return role == Role.LEADER && leader.transferLeadership(target);
  }

  /**
   * §7 log compaction: the state machine has made its state as of entry {@code index} durable (a
   * snapshot), so the log up to it may go. The caller then drops those entries from its storage too
   * ({@code ReadyProcessor.LogStorage#compact}). A follower that later needs them is sent a
   * snapshot instead. A leader never compacts past a snapshot it is sending (§7): the follower
   * continues from the entries after it, so the log stops short of it until the transfer ends.
   *
   * @param index at most the applied index and the durable log's end
   * @return where the log now starts (the snapshot's index, term and configuration)
   * @throws IllegalArgumentException the index is not applied or not durable
   */
  public SnapshotMeta compact(long index) {
    if (index > log.applied() || index > log.stable()) {
      throw new IllegalArgumentException(
          "cannot compact the log to "
              + index
              + ": only applied and durable entries may go (applied "
              + log.applied()
              + ", durable "
              + log.stable()
              + ")");
    }
    if (role == Role.LEADER) {
      index = Math.min(index, leader.oldestSnapshotInFlight());
    }
    log.compactTo(index);
    return logStart();
  }

  /** Where the log starts (§7): the index and term of its last compacted entry. */
  public SnapshotMeta logStart() {
    return SnapshotMeta.newBuilder()
        .setIndex(log.snapshotIndex())
        .setTerm(log.snapshotTerm())
        .build();
  }

  /**
   * The driver's word on a snapshot this leader sent (the {@code install_snapshot} message it
   * handed out, {@code sent}): it arrived and was handed to the follower, or the transfer failed.
   * The follower is probed again at the next heartbeat; until this call (or the follower's answer),
   * it gets nothing but heartbeats. Ignored when this node no longer leads, when the message is of
   * an earlier term, or when it is not the snapshot now in flight to that follower: a transfer's
   * report may arrive after its leader stepped down and was elected again, or after another
   * transfer to the same follower began, and must not end that one.
   */
  public void reportSnapshot(RaftMessage sent, boolean delivered) {
    if (!sent.hasInstallSnapshot()) {
      throw new IllegalArgumentException("not an install_snapshot message: " + sent);
    }
    if (role == Role.LEADER && sent.getTerm() == term) {
      leader.snapshotDone(sent.getTo(), sent.getInstallSnapshot().getMeta().getIndex(), delivered);
    }
  }

  /**
   * For the safety checkers' own tests only: this node no longer notices that it lost its data (see
   * {@link DataLossException}) and goes on as if its empty or shortened log were all it ever had,
   * which is unsafe; the simulator shows that its checkers catch the result.
   */
  public void disableDataLossDetectionForTesting() {
    detectDataLoss = false;
  }

  /**
   * For one test only: this leader proposes configuration changes before it has committed an entry
   * of its term, the bug of 2015 (see {@link Leader#proposeConfChange}); the test shows that its
   * replay then loses a committed entry.
   */
  public void allowChangesBeforeTermCommitForTesting() {
    leader.allowChangesBeforeTermCommit = true;
  }

  boolean detectsDataLoss() {
    return detectDataLoss;
  }

  /**
   * Handles a message from a peer.
   *
   * @throws DataLossException a leader's append shows that this node lost entries it had
   *     acknowledged: it must stop (and be replaced as a new member)
   */
  public void step(RaftMessage m) {
    if (m.getTo() != config.id()) {
      throw new IllegalArgumentException("message for " + m.getTo() + " given to " + config.id());
    }
    if (m.getFrom() == config.id() || m.getFrom() < 0) {
      return;
    }
    // Messages are handled whatever the sender's place in our configuration (dissertation §4.2.1,
    // "servers process incoming RPC requests without consulting their current configurations"):
    // a new leader may be unknown to a node that has not yet appended the entry adding it. Only
    // voters' votes and known followers' answers count (ProgressTracker, Leader).
    if (m.getTerm() > term) {
      if (m.hasVoteRequest()) {
        if (voter.disregards(m)) {
          return;
        }
        if (!m.getVoteRequest().getPreVote()) {
          becomeFollower(m.getTerm(), NONE);
        }
      } else if (!(m.hasVoteResponse()
          && m.getVoteResponse().getPreVote()
          && m.getVoteResponse().getVoteGranted())) {
        // A granted PreVote carries the term we would campaign in, not a newer term; anything
        // else means we are behind (Figure 2, "Rules for all servers"). An AppendEntries comes
        // from the new term's leader (§5.2: there is at most one).
        becomeFollower(
            m.getTerm(), m.hasAppendRequest() || m.hasInstallSnapshot() ? m.getFrom() : NONE);
      }
    } else if (m.getTerm() < term) {
      rejectStale(m);
      return;
    }

    if (m.hasVoteRequest()) {
      voter.handleVoteRequest(m); // any role answers
      return;
    }
    switch (role) {
      case FOLLOWER -> follower.step(m);
      case PRE_CANDIDATE, CANDIDATE -> candidate.step(m);
      case LEADER -> leader.step(m);
    }
    afterInput();
  }

  /**
   * After every input: a configuration appended or truncated away takes effect (§4.1), and a leader
   * completes a committed change (leaves a joint configuration, or steps down when it is no longer
   * a voter).
   */
  private void afterInput() {
    syncConfiguration();
    if (role == Role.LEADER) {
      leader.completeConfigurationChange();
    }
  }

  /** Makes the log's latest configuration the one that decides (§4.1: it takes effect at once). */
  void syncConfiguration() {
    Configuration c = log.configuration();
    boolean settled = log.committed() >= log.configurationIndex();
    if (c == tracker.configuration() && settled == configurationSettled) {
      return;
    }
    configurationSettled = settled;
    // Until the change is committed, the members it removes still get the log (though they no
    // longer count), so that they normally learn of their removal: a removed server that never
    // hears of it would go on campaigning (dissertation §4.2.3).
    java.util.TreeSet<Integer> departing = new java.util.TreeSet<>();
    if (!settled) {
      departing.addAll(log.previousConfiguration().allMembers());
      departing.removeAll(c.allMembers());
    }
    tracker.setConfiguration(c, departing, log.lastIndex() + 1);
    if ((role == Role.CANDIDATE || role == Role.PRE_CANDIDATE) && !isPromotable()) {
      becomeFollower(term, NONE);
    }
    if (role == Role.LEADER) {
      leader.onConfigurationChange();
    }
  }

  // ---------------------------------------------------------------- Ready / advance

  /** Whether {@link #ready()} has anything to hand out. */
  public boolean hasReady() {
    // Entries proposed since the last Ready are unstable, so they alone make the answer true; their
    // AppendEntries are built by ready(), and so is the leadership check of reads (§8).
    return !outbox.awaitingAdvance()
        && (snapshotToInstall != null
            || outbox.hasNews(softState(), hardState())
            || leader.hasUnsentReadRound()
            || log.stable() < log.lastIndex()
            || log.hasNextCommittedEntries());
  }

  /**
   * Everything to persist, send and apply since the last Ready. The next call must wait for {@link
   * #advance(Ready)}.
   */
  public Ready ready() {
    if (outbox.awaitingAdvance()) {
      throw new IllegalStateException("advance() the previous Ready before taking another");
    }
    leader.flushAppends();
    SoftState soft = softState();
    HardState hard = hardState();
    List<Entry> entries = log.unstableEntries();
    Ready rd =
        outbox.take(
            soft,
            hard,
            snapshotToInstall,
            entries,
            log.nextCommittedEntries(config.maxApplyBytes()),
            role == Role.LEADER);
    leader.onMessagesHandedOut();
    return rd;
  }

  /** The driver has persisted, sent and applied everything in {@code ready}. */
  public void advance(Ready ready) {
    outbox.acknowledge(ready);
    if (ready.snapshot() != null) {
      snapshotToInstall = null;
    }
    if (!ready.entries().isEmpty()) {
      Entry last = ready.entries().get(ready.entries().size() - 1);
      log.stableTo(last.getIndex(), last.getTerm());
      if (role == Role.LEADER) {
        // The leader's own durable copy counts toward the majority only now (§5.3).
        leader.onStable();
      }
    }
    if (!ready.committedEntries().isEmpty()) {
      log.appliedTo(ready.committedEntries().get(ready.committedEntries().size() - 1).getIndex());
    }
    releaseAppliedEntries();
    afterInput();
  }

  /**
   * Figure 13 for a snapshot newer than the commit index: the log now starts after it (keeping a
   * suffix that follows a matching entry), and the next Ready asks the driver to install it.
   * Refused while a Ready awaits {@link #advance}: its committed entries would be applied on top of
   * the snapshot (the leader sends the snapshot again).
   */
  boolean restoreSnapshot(SnapshotMeta meta) {
    if (outbox.awaitingAdvance()) {
      return false;
    }
    log.restore(meta);
    snapshotToInstall = meta;
    syncConfiguration();
    return true;
  }

  /**
   * The metadata of a snapshot up to {@code index}: its term and the configuration as of that entry
   * (§7: "the latest configuration as of the last included index").
   *
   * @param index between the log's start ({@link RaftStatus#snapshotIndex()}) and its end, and not
   *     before the applied index this node restarted from (the configuration before it is not
   *     known)
   */
  public SnapshotMeta snapshotMeta(long index) {
    if (index < log.snapshotIndex() || index > log.lastIndex()) {
      throw new IllegalArgumentException(
          "no term for index "
              + index
              + ": the log holds "
              + log.snapshotIndex()
              + ".."
              + log.lastIndex());
    }
    return SnapshotMeta.newBuilder()
        .setIndex(index)
        .setTerm(log.term(index))
        .setConfState(log.configurationAt(index).toConfState())
        .build();
  }

  /** The last log index released from memory (0 if none); for tests. */
  long releasedIndex() {
    return log.offset();
  }

  /** Drops durable, applied entries from memory in batches of {@code memoryTail}. */
  private void releaseAppliedEntries() {
    long upTo = Math.min(log.applied(), log.stable()) - memoryTail;
    if (upTo - log.offset() >= Math.max(1, memoryTail)) {
      log.releaseTo(upTo);
    }
  }

  // ---------------------------------------------------------------- observers

  public long term() {
    return term;
  }

  public Role role() {
    return role;
  }

  public int leaderId() {
    return leaderId;
  }

  public int id() {
    return config.id();
  }

  public long commitIndex() {
    return log.committed();
  }

  public long lastIndex() {
    return log.lastIndex();
  }

  public RaftConfig config() {
    return config;
  }

  public RaftStatus status() {
    return new RaftStatus(
        config.id(),
        role,
        term,
        votedFor,
        leaderId,
        log.committed(),
        log.applied(),
        log.lastIndex(),
        log.lastTerm(),
        log.stable(),
        log.snapshotIndex(),
        log.snapshotTerm(),
        leader.pendingReads(),
        tracker.status(),
        log.configuration().toConfState(),
        log.configurationIndex());
  }

  // ---------------------------------------------------------------- stale messages

  /** Figure 2: reply false to a stale term, so that its sender learns it is behind. */
  private void rejectStale(RaftMessage m) {
    if (m.hasAppendRequest() || m.hasInstallSnapshot()) {
      send(m.getFrom())
          .setAppendResponse(
              // No round: this answer carries our newer term, which its receiver may hold by now
              // as leader; an echoed round of the old term would then pass for a fresh ReadIndex
              // acknowledgement (rounds restart from 0 when a node restarts).
              AppendEntriesResponse.newBuilder()
                  .setRejectedIndex(
                      m.hasAppendRequest() ? m.getAppendRequest().getPrevLogIndex() : 0));
    } else if (m.hasVoteRequest()) {
      send(m.getFrom())
          .setVoteResponse(
              RequestVoteResponse.newBuilder()
                  .setVoteGranted(false)
                  .setPreVote(m.getVoteRequest().getPreVote()));
    }
  }

  // ---------------------------------------------------------------- roles (etcd's becomeX)

  /** §5.1: a server that learns of a higher term, or of the current term's leader, follows. */
  void becomeFollower(long newTerm, int leader) {
    if (newTerm != term) {
      term = newTerm;
      votedFor = NONE;
    }
    role = Role.FOLLOWER;
    leaderId = leader;
    resetRoleState();
    resetElectionTimer();
  }

  /** §5.2 on timeout, or at once when asked to (TimeoutNow, the start-up hint). */
  void startElection(boolean transfer) {
    if (isPromotable()) {
      candidate.campaign(transfer);
    }
  }

  /** Dissertation §9.6: PreVote keeps the term; nobody else is disturbed yet. */
  void becomePreCandidate() {
    role = Role.PRE_CANDIDATE;
    leaderId = NONE;
    resetRoleState();
    resetElectionTimer();
  }

  /** §5.2: a new term, in which this node votes for itself. */
  void becomeCandidate() {
    term++;
    votedFor = config.id();
    role = Role.CANDIDATE;
    leaderId = NONE;
    resetRoleState();
    resetElectionTimer();
  }

  /**
   * §5.2: won a majority of the current term's votes. Only a candidate gets here, so the previous
   * role's state is gone already ({@link #becomeCandidate}).
   */
  void becomeLeader() {
    role = Role.LEADER;
    leaderId = config.id();
    electionElapsed = 0;
    leader.start();
  }

  /** Drops what the previous role knew: votes, followers' progress, a leader's pending work. */
  private void resetRoleState() {
    tracker.reset();
    leader.reset();
  }

  /** §5.2: a fresh timeout drawn from [min, max) so that split votes are rare. */
  private void resetElectionTimer() {
    electionElapsed = 0;
    int min = config.electionTimeoutMinTicks();
    randomizedElectionTimeout = min + random.nextInt(config.electionTimeoutMaxTicks() - min);
  }

  // ---------------------------------------------------------------- plumbing

  /** Queues a message of the current term for the next Ready; the caller fills in its body. */
  RaftMessage.Builder send(int to) {
    RaftMessage.Builder b = RaftMessage.newBuilder().setFrom(config.id()).setTo(to).setTerm(term);
    outbox.add(b);
    return b;
  }

  private SoftState softState() {
    return new SoftState(role, leaderId);
  }

  private HardState hardState() {
    HardState.Builder b = HardState.newBuilder().setCurrentTerm(term).setCommit(log.committed());
    if (votedFor != NONE) {
      b.setVotedFor(votedFor);
    }
    return b.build();
  }
}
