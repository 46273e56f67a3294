package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import io.raftkv.proto.raft.RequestVoteResponse;
import io.raftkv.proto.raft.TimeoutNow;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * What a node keeps and what it drops when it changes role: §5.1 ("if a candidate or leader
 * discovers that its term is out of date, it immediately reverts to follower state"), §5.2
 * (elections and their timer), dissertation §6.2 (CheckQuorum) and §9.6 (PreVote).
 */
class RoleTransitionTest {

  /** A reply of a newer term: what a node sends back to a message of a term it has left. */
  private static RaftMessage staleTermReply(int from, int to, long term) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setAppendResponse(AppendEntriesResponse.getDefaultInstance())
        .build();
  }

  /** A request from a candidate whose log ends with an entry (1, 1). */
  private static RaftMessage voteRequest(int from, int to, long term, boolean preVote) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setVoteRequest(
            RequestVoteRequest.newBuilder()
                .setLastLogIndex(1)
                .setLastLogTerm(1)
                .setPreVote(preVote))
        .build();
  }

  private static List<RequestVoteResponse> voteAnswers(TestNetwork net, int from) {
    return net.take(m -> m.getFrom() == from && m.hasVoteResponse()).stream()
        .map(RaftMessage::getVoteResponse)
        .toList();
  }

  /**
   * §5.1: a leader that learns a newer term reverts to follower and forgets everything it knew as
   * leader: its followers' progress, the reads waiting for a quorum (§8: only the leader that took
   * a read point may release it), a leadership transfer in progress (§3.10) and the entries it had
   * not yet sent. None of it comes back when it is elected again.
   */
  @Test
  void leaderThatLearnsAHigherTermForgetsLeaderState() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    net.isolate(1);
    Raft r = net.raft(1);
    assertThat(r.readIndex(7)).isTrue();
    assertThat(r.propose(data("x"))).isPositive();
    assertThat(r.transferLeadership(2)).isTrue();
    assertThat(r.status().pendingReads()).isEqualTo(1);

    r.step(staleTermReply(2, 1, 5));
    assertThat(r.role()).isEqualTo(Role.FOLLOWER);
    assertThat(r.term()).isEqualTo(5);
    assertThat(r.status().peers()).isEmpty();
    assertThat(r.status().pendingReads()).isZero();
    // The proposal no longer goes out: only a leader sends AppendEntries.
    assertThat(net.take(m -> m.getFrom() == 1 && m.hasAppendRequest() && m.getTerm() == 5))
        .isEmpty();

    net.deliverAll();
    net.heal();
    net.elect(1);
    net.deliverAll();
    assertThat(r.term()).isEqualTo(6);
    assertThat(r.propose(data("y"))).as("no transfer left over").isPositive();
    net.deliverAll();
    net.tickAll(3);
    assertThat(net.node(1).readStates).as("the old read is never released").isEmpty();
  }

  /**
   * §5.1: a node that learns a newer term from anything but an AppendEntries does not know that
   * term's leader; in particular the sender of a newer-term reply is not it. Knowing no leader, it
   * can still grant its vote in that term (Figure 2, RequestVote receiver).
   */
  @Test
  void aNewerTermLearnedFromAReplyNamesNoLeader() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    r.step(staleTermReply(2, 1, 5));
    assertThat(r.leaderId()).isEqualTo(RaftConfig.NONE);

    r.step(voteRequest(3, 1, 5, false));
    assertThat(voteAnswers(net, 1)).singleElement().matches(RequestVoteResponse::getVoteGranted);
  }

  /**
   * §5.2: a candidate that reverts to follower gives the new term's leader a whole, freshly drawn
   * election timeout before it campaigns again; the ticks it spent campaigning do not count.
   */
  @Test
  void candidateThatStepsDownRestartsItsElectionTimer() {
    for (long seed = 0; seed < 20; seed++) {
      TestNetwork net = TestNetwork.create(3, seed);
      Raft r = net.raft(1);
      r.campaign();
      net.take(m -> true);
      for (int i = 0; i < 9; i++) {
        r.tick(); // the minimum timeout is 10 ticks: no new election yet
      }
      r.step(staleTermReply(2, 1, 5));
      assertThat(r.role()).isEqualTo(Role.FOLLOWER);
      for (int i = 0; i < 9; i++) {
        r.tick();
      }
      assertThat(r.role()).as("seed %d", seed).isEqualTo(Role.FOLLOWER);
      assertThat(r.term()).isEqualTo(5);
    }
  }

  /**
   * Dissertation §6.2 (CheckQuorum): a leader steps down when it has not heard from a majority for
   * a whole election timeout, and not sooner: a leader cut off for a few heartbeats keeps leading.
   */
  @Test
  void leaderCutOffForLessThanAnElectionTimeoutKeepsLeading() {
    UnaryOperator<RaftConfig> checkQuorum = c -> c.withPreVoteAndCheckQuorum(false, true);
    TestNetwork net = TestNetwork.create(3, 1, checkQuorum);
    net.elect(1);
    net.deliverAll();
    net.isolate(1);
    for (int i = 0; i < 9; i++) {
      net.raft(1).tick();
      net.deliverAll();
    }
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
    for (int i = 0; i < 11; i++) {
      net.raft(1).tick();
      net.deliverAll();
    }
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
  }

  /**
   * Figure 2 and dissertation §9.6: a PreVote only passes for a term later than the voter's own; in
   * the voter's current term it is answered as a real vote would be, so a voter that already voted
   * for another candidate in that term refuses it.
   */
  @Test
  void preVoteInTheVotersCurrentTermIsRefusedAfterItVotedForAnother() {
    PersistentState votedFor3InTerm2 =
        new PersistentState(
            HardState.newBuilder().setCurrentTerm(2).setVotedFor(3).build(), List.of(), 0);
    TestNetwork net =
        TestNetwork.restored(
            1, c -> c, PersistentState.empty(), votedFor3InTerm2, PersistentState.empty());
    net.flush();
    net.raft(2).step(voteRequest(1, 2, 2, true));
    assertThat(voteAnswers(net, 2)).singleElement().matches(a -> !a.getVoteGranted());
    net.raft(2).step(voteRequest(1, 2, 3, true));
    assertThat(voteAnswers(net, 2)).singleElement().matches(RequestVoteResponse::getVoteGranted);
  }

  /**
   * §5.2: votes count only in the campaign they answer. A candidate that times out and campaigns
   * again in a new term starts from its own vote alone: a grant for its earlier term does not help
   * it win the new one.
   */
  @Test
  void votesFromAnEarlierCampaignDoNotCount() {
    TestNetwork net = TestNetwork.create(5, 1);
    Raft r = net.raft(1);
    r.campaign();
    net.take(m -> true);
    r.step(granted(2, 1, 1));
    assertThat(r.role()).isEqualTo(Role.CANDIDATE);
    r.campaign(); // as after an election timeout
    assertThat(r.term()).isEqualTo(2);
    net.take(m -> true);
    r.step(granted(3, 1, 2));
    assertThat(r.role()).as("two of five votes in term 2").isEqualTo(Role.CANDIDATE);
    r.step(granted(4, 1, 2));
    assertThat(r.role()).isEqualTo(Role.LEADER);
  }

  /**
   * Dissertation §9.6: a PreVote round is a campaign of its own. A pre-candidate whose round timed
   * out starts the next one from its own vote alone: a grant from the earlier round does not count.
   */
  @Test
  void preVotesFromAnEarlierRoundDoNotCount() {
    TestNetwork net = TestNetwork.create(5, 1, c -> c.withPreVoteAndCheckQuorum(true, false));
    Raft r = net.raft(1);
    r.campaign();
    net.take(m -> true);
    r.step(preVoteGranted(2, 1, 1));
    assertThat(r.role()).isEqualTo(Role.PRE_CANDIDATE);
    r.campaign(); // as after an election timeout
    net.take(m -> true);
    r.step(preVoteGranted(3, 1, 1));
    assertThat(r.role()).as("two of five in this round").isEqualTo(Role.PRE_CANDIDATE);
    r.step(preVoteGranted(4, 1, 1));
    assertThat(r.role()).isEqualTo(Role.CANDIDATE);
    assertThat(r.term()).isEqualTo(1);
  }

  /**
   * §5.2 and dissertation §9.6: a pre-candidate waits a whole, freshly drawn election timeout for
   * its round to succeed before starting another; the ticks it spent as a follower do not count.
   */
  @Test
  void preCandidateWaitsAFreshElectionTimeoutBeforeItsNextRound() {
    for (long seed = 0; seed < 20; seed++) {
      TestNetwork net = TestNetwork.create(3, seed, c -> c.withPreVoteAndCheckQuorum(true, false));
      Raft r = net.raft(1);
      net.flush();
      for (int i = 0; i < 9; i++) {
        r.tick(); // the minimum timeout is 10 ticks: no election yet
      }
      r.campaign();
      assertThat(net.take(m -> m.getFrom() == 1)).hasSize(2);
      for (int i = 0; i < 9; i++) {
        r.tick();
      }
      assertThat(net.take(m -> m.getFrom() == 1)).as("seed %d", seed).isEmpty();
    }
  }

  /**
   * Dissertation §3.10: the leader sends TimeoutNow once, when the target has caught up; the
   * target's later answers (to heartbeats) do not send it again, so it campaigns once, in the next
   * term.
   */
  @Test
  void leaderSendsTimeoutNowOnceToACaughtUpTarget() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    assertThat(r.transferLeadership(2)).isTrue();
    List<RaftMessage> timeoutNow = net.take(m -> m.hasTimeoutNow());
    assertThat(timeoutNow).hasSize(1);
    r.tick(); // a heartbeat, answered before the TimeoutNow arrives
    net.deliverAll();
    assertThat(net.sent).filteredOn(RaftMessage::hasTimeoutNow).hasSize(1);
    timeoutNow.forEach(net::deliver);
    net.deliverAll();
    assertThat(net.leader()).isEqualTo(2);
    assertThat(net.raft(2).term()).isEqualTo(2);
  }

  private static RaftMessage preVoteGranted(int from, int to, long term) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(true).setPreVote(true))
        .build();
  }

  /**
   * §5.2: "If the leader's term ... is at least as large as the candidate's current term, then the
   * candidate recognizes the leader as legitimate and returns to follower state", and handles the
   * AppendEntries as a follower would: it appends and acknowledges.
   */
  @Test
  void candidateAcceptsTheAppendEntriesOfItsTermsLeader() {
    TestNetwork net = TestNetwork.create(3, 1);
    Raft r = net.raft(2);
    r.campaign();
    net.take(m -> true);
    r.step(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(2)
            .setTerm(1)
            .setAppendRequest(AppendEntriesRequest.newBuilder().addEntries(TestNetwork.entry(1, 1)))
            .build());
    assertThat(r.role()).isEqualTo(Role.FOLLOWER);
    assertThat(r.leaderId()).isEqualTo(1);
    assertThat(net.take(m -> m.getFrom() == 2))
        .singleElement()
        .matches(m -> m.getAppendResponse().getSuccess())
        .matches(m -> m.getAppendResponse().getMatchIndex() == 1);
  }

  /**
   * Dissertation §3.10: TimeoutNow makes its receiver start a real election at once, even while it
   * is running a PreVote round: the leader has caught it up and steps aside, so there is no
   * disruption to avoid (the RequestVotes are marked as a transfer, to pass the followers' lease).
   */
  @Test
  void preCandidateToldToCampaignByTimeoutNowStartsARealElection() {
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(2);
    r.campaign();
    assertThat(r.role()).isEqualTo(Role.PRE_CANDIDATE);
    net.take(m -> true);
    r.step(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(2)
            .setTerm(1)
            .setTimeoutNow(TimeoutNow.getDefaultInstance())
            .build());
    assertThat(r.role()).isEqualTo(Role.CANDIDATE);
    assertThat(r.term()).isEqualTo(2);
    assertThat(net.take(m -> m.getFrom() == 2))
        .hasSize(2)
        .allMatch(m -> !m.getVoteRequest().getPreVote())
        .allMatch(m -> m.getVoteRequest().getLeadershipTransfer());
  }

  /**
   * §8 and §5.1: reads that wait for a new leader's first commit belong to that leadership; a
   * leader deposed before it commits drops them with the rest.
   */
  @Test
  void leaderDeposedBeforeItsFirstCommitDropsTheReadsWaitingForIt() {
    TestNetwork net = TestNetwork.create(3, 1);
    Raft r = net.raft(1);
    r.campaign();
    while (r.role() != Role.LEADER) {
      net.deliverWave();
    }
    assertThat(r.readIndex(3)).isTrue();
    assertThat(r.status().pendingReads()).isEqualTo(1);
    r.step(staleTermReply(2, 1, 5));
    assertThat(r.status().pendingReads()).isZero();
  }

  private static RaftMessage granted(int from, int to, long term) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(true))
        .build();
  }
}
