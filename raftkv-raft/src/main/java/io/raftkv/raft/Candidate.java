package io.raftkv.raft;

import static io.raftkv.raft.RaftConfig.NONE;

import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import io.raftkv.proto.raft.RequestVoteResponse;

/**
 * What a node does to become leader (etcd's {@code campaign} and {@code stepCandidate}): the
 * election of §5.2 (raise the term, vote for itself, ask every peer, win with a majority), preceded
 * by a PreVote round when configured (dissertation §9.6), in which a node asks whether it could win
 * before raising its term and disturbing anyone.
 *
 * <p>Holds no state of its own: the role and term are the {@link Raft}'s, the votes the {@link
 * ProgressTracker}'s.
 */
final class Candidate {
  private final Raft raft;
  private final RaftConfig config;
  private final RaftLog log;
  private final ProgressTracker tracker;
  private final Follower follower;

  Candidate(Raft raft, RaftConfig config, RaftLog log, ProgressTracker tracker, Follower follower) {
    this.raft = raft;
    this.config = config;
    this.log = log;
    this.tracker = tracker;
    this.follower = follower;
  }

  /**
   * §5.2: the election timeout passed, or the node was asked to campaign at once ({@code transfer}:
   * TimeoutNow from a leader handing over, dissertation §3.10, which skips PreVote).
   */
  void campaign(boolean transfer) {
    if (config.preVote() && !transfer) {
      preCampaign();
    } else {
      elect(transfer);
    }
  }

  /** PreVote: ask whether we could win before raising the term and disturbing anyone. */
  private void preCampaign() {
    raft.becomePreCandidate();
    if (tracker.recordVote(config.id(), true) == Quorum.VoteResult.WON) {
      elect(false);
      return;
    }
    // Asks in the term it would campaign in, without adopting it.
    requestVotes(raft.term() + 1, true, false);
  }

  /**
   * §5.2: "a follower increments its current term ..., votes for itself and issues RequestVote".
   */
  private void elect(boolean transfer) {
    raft.becomeCandidate();
    if (tracker.recordVote(config.id(), true) == Quorum.VoteResult.WON) {
      raft.becomeLeader();
      return;
    }
    requestVotes(raft.term(), false, transfer);
  }

  private void requestVotes(long campaignTerm, boolean preVote, boolean transfer) {
    for (int peer : tracker.voterPeers()) {
      raft.send(peer)
          .setTerm(campaignTerm)
          .setVoteRequest(
              RequestVoteRequest.newBuilder()
                  // §5.4.1: voters compare these with their own log.
                  .setLastLogIndex(log.lastIndex())
                  .setLastLogTerm(log.lastTerm())
                  .setPreVote(preVote)
                  .setLeadershipTransfer(transfer));
    }
  }

  /**
   * A message of the current term while (pre-)campaigning (the caller has handled terms and
   * RequestVote).
   */
  void step(RaftMessage m) {
    switch (m.getBodyCase()) {
      case VOTE_RESPONSE -> handleVoteResponse(m);
      case APPEND_REQUEST -> {
        // §5.2: "If the leader's term ... is at least as large as the candidate's current term,
        // then the candidate recognizes the leader as legitimate and returns to follower state."
        raft.becomeFollower(raft.term(), m.getFrom());
        follower.handleAppendRequest(m);
      }
      case INSTALL_SNAPSHOT -> {
        raft.becomeFollower(raft.term(), m.getFrom()); // as for AppendEntries (§5.2)
        follower.handleInstallSnapshot(m);
      }
      case TIMEOUT_NOW -> campaign(true);
      default -> {}
    }
  }

  private void handleVoteResponse(RaftMessage m) {
    RequestVoteResponse r = m.getVoteResponse();
    // A PreVote answer counts for the round it answers: a grant carries the term we would campaign
    // in (term + 1), a refusal our current term; a real vote counts only in its own term.
    boolean counts =
        r.getPreVote()
            ? raft.role() == Role.PRE_CANDIDATE
                && m.getTerm() == (r.getVoteGranted() ? raft.term() + 1 : raft.term())
            : raft.role() == Role.CANDIDATE && m.getTerm() == raft.term();
    if (!counts) {
      return;
    }
    switch (tracker.recordVote(m.getFrom(), r.getVoteGranted())) {
      case WON -> {
        if (raft.role() == Role.PRE_CANDIDATE) {
          elect(false);
        } else {
          raft.becomeLeader();
        }
      }
      case LOST -> raft.becomeFollower(raft.term(), NONE);
      case PENDING -> {}
    }
  }
}
