package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import io.raftkv.proto.raft.RequestVoteResponse;
import io.raftkv.proto.raft.TimeoutNow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;

/**
 * One Raft peer as a pure, deterministic state machine (the etcd/raft model): no threads, clocks or
 * I/O. The driver feeds it {@link #tick()}s, peers' messages ({@link #step}), client commands
 * ({@link #propose}) and reads ({@link #readIndex}), then takes a {@link Ready} with everything to
 * persist, send and apply, and acknowledges it with {@link #advance}.
 *
 * <p>Implements Figure 2 of the extended paper (§5), the no-op entry of a new leader and ReadIndex
 * (§8), and, from the dissertation, PreVote and CheckQuorum (§9.6) and leadership transfer (§3.10).
 *
 * <p>Thread-safety: none; one thread owns an instance. Durability: nothing, the driver persists
 * what each Ready says, before sending its messages.
 */
public final class Raft {
  private final RaftConfig config;
  private final RandomGenerator random;
  private final RaftLog log;

  /** Every voter but this node, in id order (determinism: no hash-ordered iteration). */
  private final List<Integer> peers;

  // Figure 2, persistent state (with the commit index in the log).
  private long term;
  private int votedFor = NONE;

  private Role role = Role.FOLLOWER;
  private int leaderId = NONE;

  private int electionElapsed;
  private int heartbeatElapsed;
  private int randomizedElectionTimeout;

  /** Votes received in the current (pre-)campaign, by voter. */
  private final Map<Integer, Boolean> votes = new TreeMap<>();

  // Leader state.
  private final Map<Integer, Progress> progress = new TreeMap<>();

  /** Heartbeat round stamped on every AppendEntries; see {@link ReadIndexQueue}. */
  private long round;

  /** The round of a ReadIndex broadcast queued in the outbox but not yet handed out, or 0. */
  private long unsentReadRound;

  private final ReadIndexQueue reads = new ReadIndexQueue();
  private int leadTransferee = NONE;
  private int transferElapsed;

  /** New entries wait here to go out in one message per follower when the Ready is built. */
  private boolean appendsPending;

  /** Messages to hand out with the next Ready; built then, so senders may fill them in. */
  private List<RaftMessage.Builder> outbox = new ArrayList<>();

  private List<ReadState> readStates = new ArrayList<>();

  private final int memoryTail;
  private HardState persistedHardState;
  private SoftState reportedSoftState = new SoftState(Role.FOLLOWER, NONE);
  private Ready handedOut;

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
            restored.offsetTerm());
    this.term = hs.getCurrentTerm();
    this.votedFor = hs.hasVotedFor() ? hs.getVotedFor() : NONE;
    this.persistedHardState = hardState();
    this.peers = config.voters().stream().filter(v -> v != config.id()).toList();
    resetElectionTimer();
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of time passes (§5.2 election timeout, heartbeats, CheckQuorum). */
  public void tick() {
    if (role == Role.LEADER) {
      tickLeader();
    } else {
      electionElapsed++;
      if (electionElapsed >= randomizedElectionTimeout) {
        electionElapsed = 0;
        startElection(false);
      }
    }
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
   * Appends a client command if this node is the leader.
   *
   * @return the entry's index (its term is {@link #term()}), or 0 if this node cannot accept it
   *     (not the leader, or transferring leadership)
   */
  public long propose(ByteString command) {
    if (role != Role.LEADER || leadTransferee != NONE) {
      return 0;
    }
    return appendEntry(EntryType.ENTRY_NORMAL, command);
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
    // §8: a new leader does not know what is committed until it commits an entry of its term.
    if (!committedInCurrentTerm()) {
      reads.awaitTermCommit(context);
    } else {
      reads.awaitQuorum(context, log.committed(), readRound());
      releaseReads();
    }
    return true;
  }

  /**
   * Hands leadership to {@code target} (§3.10 of the dissertation): bring its log up to date, then
   * tell it to campaign at once. New proposals are refused meanwhile; the attempt is dropped after
   * an election timeout.
   */
  public boolean transferLeadership(int target) {
    if (role != Role.LEADER || target == config.id() || !progress.containsKey(target)) {
      return false;
    }
    leadTransferee = target;
    transferElapsed = 0;
    if (progress.get(target).match() == log.lastIndex()) {
      send(target).setTimeoutNow(TimeoutNow.getDefaultInstance());
    } else {
      sendAppend(target, true);
    }
    return true;
  }

  /** Handles a message from a peer. */
  public void step(RaftMessage m) {
    if (m.getTo() != config.id()) {
      throw new IllegalArgumentException("message for " + m.getTo() + " given to " + config.id());
    }
    if (!peers.contains(m.getFrom())) {
      return;
    }
    if (m.getTerm() > term) {
      if (m.hasVoteRequest()) {
        RequestVoteRequest v = m.getVoteRequest();
        // §9.6 (dissertation): a server that heard from a leader within the minimum election
        // timeout disregards RequestVote, so a rejoining server cannot depose a healthy leader.
        boolean inLease =
            config.checkQuorum()
                && leaderId != NONE
                && electionElapsed < config.electionTimeoutMinTicks();
        if (inLease && !v.getLeadershipTransfer()) {
          return;
        }
        if (!v.getPreVote()) {
          becomeFollower(m.getTerm(), NONE);
        }
      } else if (!(m.hasVoteResponse()
          && m.getVoteResponse().getPreVote()
          && m.getVoteResponse().getVoteGranted())) {
        // A granted PreVote carries the term we would campaign in, not a newer term; anything
        // else means we are behind (Figure 2, "Rules for all servers").
        becomeFollower(m.getTerm(), m.hasAppendRequest() ? m.getFrom() : NONE);
      }
    } else if (m.getTerm() < term) {
      rejectStale(m);
      return;
    }

    switch (m.getBodyCase()) {
      case VOTE_REQUEST -> handleVoteRequest(m);
      case VOTE_RESPONSE -> handleVoteResponse(m);
      case APPEND_REQUEST -> handleAppendRequest(m);
      case APPEND_RESPONSE -> {
        if (role == Role.LEADER) {
          handleAppendResponse(m);
        }
      }
      case TIMEOUT_NOW -> {
        if (role != Role.LEADER) {
          startElection(true);
        }
      }
      default -> {}
    }
  }

  // ---------------------------------------------------------------- Ready / advance

  /** Whether {@link #ready()} has anything to hand out. */
  public boolean hasReady() {
    flushAppends();
    return handedOut == null
        && (!softState().equals(reportedSoftState)
            || !hardState().equals(persistedHardState)
            || log.stable() < log.lastIndex()
            || !outbox.isEmpty()
            || log.hasNextCommittedEntries()
            || !readStates.isEmpty());
  }

  /**
   * Everything to persist, send and apply since the last Ready. The next call must wait for {@link
   * #advance(Ready)}.
   */
  public Ready ready() {
    if (handedOut != null) {
      throw new IllegalStateException("advance() the previous Ready before taking another");
    }
    flushAppends();
    SoftState soft = softState();
    HardState hard = hardState();
    boolean termOrVoteChanged =
        hard.getCurrentTerm() != persistedHardState.getCurrentTerm()
            || hard.hasVotedFor() != persistedHardState.hasVotedFor()
            || hard.getVotedFor() != persistedHardState.getVotedFor();
    List<Entry> entries = log.unstableEntries();
    List<RaftMessage> messages = new ArrayList<>(outbox.size());
    for (RaftMessage.Builder b : outbox) {
      messages.add(b.build());
    }
    outbox = new ArrayList<>();
    unsentReadRound = 0;
    List<ReadState> reads = readStates;
    readStates = new ArrayList<>();
    handedOut =
        new Ready(
            soft.equals(reportedSoftState) ? null : soft,
            hard.equals(persistedHardState) ? null : hard,
            entries,
            messages,
            log.nextCommittedEntries(config.maxApplyBytes()),
            reads,
            termOrVoteChanged || !entries.isEmpty(),
            // Leader: its term and vote are durable (it persisted them before asking for votes) and
            // advanceCommit() counts its own copy only once advance() says it is stable.
            role == Role.LEADER && !termOrVoteChanged);
    return handedOut;
  }

  /** The driver has persisted, sent and applied everything in {@code ready}. */
  public void advance(Ready ready) {
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
    if (!ready.entries().isEmpty()) {
      Entry last = ready.entries().get(ready.entries().size() - 1);
      log.stableTo(last.getIndex(), last.getTerm());
      if (role == Role.LEADER) {
        // The leader's own durable copy counts toward the majority only now (§5.3).
        advanceCommit();
      }
    }
    if (!ready.committedEntries().isEmpty()) {
      log.appliedTo(ready.committedEntries().get(ready.committedEntries().size() - 1).getIndex());
    }
    releaseAppliedEntries();
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
    Map<Integer, RaftStatus.PeerProgress> view = new LinkedHashMap<>();
    progress.forEach(
        (id, pr) ->
            view.put(
                id,
                new RaftStatus.PeerProgress(
                    pr.match(),
                    pr.next(),
                    pr.state() == Progress.State.REPLICATE,
                    pr.inflightCount())));
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
        reads.size(),
        view);
  }

  // ---------------------------------------------------------------- roles

  private void becomeFollower(long newTerm, int leader) {
    if (newTerm != term) {
      term = newTerm;
      votedFor = NONE;
    }
    role = Role.FOLLOWER;
    leaderId = leader;
    resetLeaderState();
    resetElectionTimer();
  }

  /** §5.2 on timeout, or at once when asked to (TimeoutNow, the start-up hint). */
  private void startElection(boolean transfer) {
    if (config.preVote() && !transfer) {
      becomePreCandidate();
    } else {
      becomeCandidate(transfer);
    }
  }

  /** PreVote: ask whether we could win before raising the term and disturbing anyone. */
  private void becomePreCandidate() {
    role = Role.PRE_CANDIDATE;
    leaderId = NONE;
    resetLeaderState();
    resetElectionTimer();
    votes.put(config.id(), true);
    if (tallyVotes() == Quorum.VoteResult.WON) {
      becomeCandidate(false);
      return;
    }
    requestVotes(term + 1, true, false);
  }

  private void becomeCandidate(boolean transfer) {
    term++;
    votedFor = config.id();
    role = Role.CANDIDATE;
    leaderId = NONE;
    resetLeaderState();
    resetElectionTimer();
    votes.put(config.id(), true);
    if (tallyVotes() == Quorum.VoteResult.WON) {
      becomeLeader();
      return;
    }
    requestVotes(term, false, transfer);
  }

  private void becomeLeader() {
    role = Role.LEADER;
    leaderId = config.id();
    resetLeaderState();
    for (int peer : peers) {
      progress.put(peer, new Progress(log.lastIndex() + 1, config.maxInflightAppends()));
    }
    heartbeatElapsed = 0;
    electionElapsed = 0;
    // §8: a no-op entry lets the new leader commit, and so learn, everything committed before it.
    appendEntry(EntryType.ENTRY_NOOP, ByteString.EMPTY);
  }

  private void resetLeaderState() {
    votes.clear();
    progress.clear();
    reads.clear();
    leadTransferee = NONE;
    unsentReadRound = 0;
    appendsPending = false;
  }

  private void resetElectionTimer() {
    electionElapsed = 0;
    heartbeatElapsed = 0;
    int min = config.electionTimeoutMinTicks();
    randomizedElectionTimeout = min + random.nextInt(config.electionTimeoutMaxTicks() - min);
  }

  private void tickLeader() {
    heartbeatElapsed++;
    electionElapsed++;
    if (electionElapsed >= config.electionTimeoutMinTicks()) {
      electionElapsed = 0;
      // CheckQuorum: a leader cut off from a majority steps down rather than keep clients waiting.
      if (config.checkQuorum() && !quorumRecentlyActive()) {
        becomeFollower(term, NONE);
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

  private boolean quorumRecentlyActive() {
    int active = 1;
    for (Progress pr : progress.values()) {
      if (pr.recentActive()) {
        active++;
      }
      pr.setRecentActive(false);
    }
    return active >= config.quorum();
  }

  // ---------------------------------------------------------------- elections

  private void requestVotes(long campaignTerm, boolean preVote, boolean transfer) {
    for (int peer : peers) {
      send(peer)
          .setTerm(campaignTerm)
          .setVoteRequest(
              RequestVoteRequest.newBuilder()
                  .setLastLogIndex(log.lastIndex())
                  .setLastLogTerm(log.lastTerm())
                  .setPreVote(preVote)
                  .setLeadershipTransfer(transfer));
    }
  }

  private void handleVoteRequest(RaftMessage m) {
    RequestVoteRequest v = m.getVoteRequest();
    boolean pre = v.getPreVote();
    // Figure 2: one vote per term, first come first served; a PreVote binds nothing.
    boolean canVote =
        votedFor == m.getFrom()
            || (votedFor == NONE && leaderId == NONE)
            || (pre && m.getTerm() > term);
    // §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
    boolean grant = canVote && log.isUpToDate(v.getLastLogIndex(), v.getLastLogTerm());
    if (grant && !pre) {
      votedFor = m.getFrom();
      electionElapsed = 0;
    }
    send(m.getFrom())
        .setTerm(grant ? m.getTerm() : term)
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(grant).setPreVote(pre));
  }

  private void handleVoteResponse(RaftMessage m) {
    RequestVoteResponse r = m.getVoteResponse();
    boolean counts =
        r.getPreVote()
            ? role == Role.PRE_CANDIDATE && m.getTerm() == (r.getVoteGranted() ? term + 1 : term)
            : role == Role.CANDIDATE && m.getTerm() == term;
    if (!counts) {
      return;
    }
    votes.putIfAbsent(m.getFrom(), r.getVoteGranted());
    switch (tallyVotes()) {
      case WON -> {
        if (role == Role.PRE_CANDIDATE) {
          becomeCandidate(false);
        } else {
          becomeLeader();
        }
      }
      case LOST -> becomeFollower(term, NONE);
      case PENDING -> {}
    }
  }

  private Quorum.VoteResult tallyVotes() {
    int granted = 0;
    int rejected = 0;
    for (boolean g : votes.values()) {
      if (g) {
        granted++;
      } else {
        rejected++;
      }
    }
    return Quorum.tally(granted, rejected, config.voters().size());
  }

  // ---------------------------------------------------------------- replication, follower side

  private void handleAppendRequest(RaftMessage m) {
    if (role == Role.LEADER) {
      // Two leaders in one term would break Election Safety (§5.2); the checkers report it.
      return;
    }
    if (role != Role.FOLLOWER) {
      becomeFollower(term, m.getFrom()); // §5.2: a candidate recognizes the new leader
    }
    leaderId = m.getFrom();
    electionElapsed = 0;
    AppendEntriesRequest a = m.getAppendRequest();
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
        reply.setConflictTerm(conflictTerm).setConflictIndex(Math.max(first, log.committed() + 1));
      }
    }
    send(m.getFrom()).setAppendResponse(reply);
  }

  /** Figure 2: reply false to a stale term, so that its sender learns it is behind. */
  private void rejectStale(RaftMessage m) {
    if (m.hasAppendRequest()) {
      send(m.getFrom())
          .setAppendResponse(
              // No round: this answer carries our newer term, which its receiver may hold by now
              // as leader; an echoed round of the old term would then pass for a fresh ReadIndex
              // acknowledgement (rounds restart from 0 when a node restarts).
              AppendEntriesResponse.newBuilder()
                  .setRejectedIndex(m.getAppendRequest().getPrevLogIndex()));
    } else if (m.hasVoteRequest()) {
      send(m.getFrom())
          .setVoteResponse(
              RequestVoteResponse.newBuilder()
                  .setVoteGranted(false)
                  .setPreVote(m.getVoteRequest().getPreVote()));
    }
  }

  // ---------------------------------------------------------------- replication, leader side

  private long appendEntry(EntryType type, ByteString data) {
    Entry e =
        Entry.newBuilder()
            .setTerm(term)
            .setIndex(log.lastIndex() + 1)
            .setType(type)
            .setData(data)
            .build();
    log.append(e);
    appendsPending = true;
    return e.getIndex();
  }

  /** Sends the entries proposed since the last Ready: one message per follower, not per entry. */
  private void flushAppends() {
    if (appendsPending && role == Role.LEADER) {
      for (int peer : peers) {
        sendAppend(peer, false);
      }
    }
    appendsPending = false;
  }

  private void handleAppendResponse(RaftMessage m) {
    Progress pr = progress.get(m.getFrom());
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
        send(leadTransferee).setTimeoutNow(TimeoutNow.getDefaultInstance());
      }
    }
    releaseReads();
  }

  /**
   * Where to retry after a rejection: past our last entry of the follower's conflicting term if we
   * have that term, else at the first index the follower holds of it (§5.3).
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
    long[] matches = new long[peers.size() + 1];
    matches[0] = log.stable();
    int i = 1;
    for (Progress pr : progress.values()) {
      matches[i++] = pr.match();
    }
    long index = Quorum.majorityValue(matches);
    if (index <= log.committed() || log.term(index) != term) {
      return;
    }
    boolean firstInTerm = !committedInCurrentTerm();
    log.commitTo(index);
    for (int peer : peers) {
      sendAppend(peer, true);
    }
    heartbeatElapsed = 0; // every follower just heard from us
    if (firstInTerm) {
      for (long context : reads.drainAwaitingTermCommit()) {
        reads.awaitQuorum(context, log.committed(), readRound());
      }
      releaseReads();
    }
  }

  private boolean committedInCurrentTerm() {
    return log.term(log.committed()) == term;
  }

  /**
   * Sends {@code to} the entries it is missing, as many as one message may carry.
   *
   * @param sendIfEmpty send even with no entries (to carry the commit index or probe)
   * @return whether a message was sent
   */
  private boolean sendAppend(int to, boolean sendIfEmpty) {
    Progress pr = progress.get(to);
    if (pr.isPaused()) {
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

  private void sendAppendRequest(int to, long prevIndex, List<Entry> entries) {
    // The follower commits min(leaderCommit, last index of this message), Figure 2 rule 5.
    progress
        .get(to)
        .sentCommit(
            Math.min(
                log.committed(),
                entries.isEmpty() ? prevIndex : entries.get(entries.size() - 1).getIndex()));
    send(to)
        .setAppendRequest(
            AppendEntriesRequest.newBuilder()
                .setPrevLogIndex(prevIndex)
                .setPrevLogTerm(log.term(prevIndex))
                .addAllEntries(entries)
                .setLeaderCommit(log.committed())
                .setRound(round));
  }

  /**
   * The periodic heartbeat (§5.2). It also un-sticks replication: a probing follower gets its probe
   * again, and a pipeline that made no progress for a whole interval gets an empty append at its
   * far end, whose rejection reveals lost messages.
   */
  private void heartbeat() {
    for (int peer : peers) {
      Progress pr = progress.get(peer);
      if (pr.state() == Progress.State.PROBE) {
        pr.onHeartbeat();
        sendAppend(peer, true);
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

  // ---------------------------------------------------------------- ReadIndex

  /** The round that proves leadership for a read arriving now; one broadcast per Ready. */
  private long readRound() {
    if (unsentReadRound == 0) {
      round++;
      unsentReadRound = round;
      for (int peer : peers) {
        // prev = match: always accepted, so the answer confirms leadership without side effects.
        sendAppendRequest(peer, progress.get(peer).match(), List.of());
      }
    }
    return unsentReadRound;
  }

  private void releaseReads() {
    long[] rounds = new long[peers.size() + 1];
    rounds[0] = round;
    int i = 1;
    for (Progress pr : progress.values()) {
      rounds[i++] = pr.ackedRound();
    }
    reads.release(Quorum.majorityValue(rounds), readStates);
  }

  // ---------------------------------------------------------------- plumbing

  private RaftMessage.Builder send(int to) {
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
