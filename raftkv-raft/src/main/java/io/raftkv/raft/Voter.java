package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import io.raftkv.proto.raft.RequestVoteResponse;

/**
 * How a node answers RequestVote, in any role (Figure 2, "RequestVote RPC, Receiver
 * implementation"): at most one vote per term (§5.2), only for a log at least as up-to-date as its
 * own (§5.4.1), never while it has recently heard from a leader when CheckQuorum is on, and a
 * PreVote that binds nothing (dissertation §9.6).
 *
 * <p>Holds no state of its own: the vote cast is the {@link Raft}'s persistent {@code votedFor}.
 */
final class Voter {
  private final Raft raft;
  private final RaftConfig config;
  private final RaftLog log;

  Voter(Raft raft, RaftConfig config, RaftLog log) {
    this.raft = raft;
    this.config = config;
    this.log = log;
  }

  /**
   * Dissertation §9.6: a server that heard from a leader within the minimum election timeout
   * disregards RequestVote of a higher term, so a server that rejoins after a partition cannot
   * depose a healthy leader. A leader handing over (§3.10) marks its target's requests to override
   * this.
   */
  boolean disregards(RaftMessage request) {
    boolean inLease =
        config.checkQuorum()
            && raft.leaderId != NONE
            && raft.electionElapsed < config.electionTimeoutMinTicks();
    return inLease && !request.getVoteRequest().getLeadershipTransfer();
  }

  /** Answers a request of our term or (PreVote) a later one; the caller has handled terms. */
  void handleVoteRequest(RaftMessage m) {
    RequestVoteRequest v = m.getVoteRequest();
    boolean pre = v.getPreVote();
    // Figure 2: one vote per term, first come first served; a PreVote binds nothing.
    boolean canVote =
        raft.votedFor == m.getFrom()
            || (raft.votedFor == NONE && raft.leaderId == NONE)
            || (pre && m.getTerm() > raft.term());
    // §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
    boolean grant = canVote && log.isUpToDate(v.getLastLogIndex(), v.getLastLogTerm());
    if (grant && !pre) {
      raft.votedFor = m.getFrom();
      raft.electionElapsed = 0; // §5.2: granting a vote resets the election timer
    }
    raft.send(m.getFrom())
        .setTerm(grant ? m.getTerm() : raft.term())
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(grant).setPreVote(pre));
  }
}
