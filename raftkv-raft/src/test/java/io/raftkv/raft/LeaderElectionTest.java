package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.ids;
import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.paperConfig;
import static io.raftkv.raft.TestNetwork.state;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import io.raftkv.proto.raft.RequestVoteResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** §5.1 (server states, terms) and §5.2 (leader election) of the extended Raft paper. */
class LeaderElectionTest {

  private static RaftMessage voteRequest(
      int from, int to, long term, long lastIndex, long lastTerm) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setVoteRequest(
            RequestVoteRequest.newBuilder().setLastLogIndex(lastIndex).setLastLogTerm(lastTerm))
        .build();
  }

  private static RaftMessage voteResponse(int from, int to, long term, boolean granted) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(granted))
        .build();
  }

  private static RaftMessage heartbeat(int from, int to, long term) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
        .build();
  }

  private static Raft node(int id, int n, long seed) {
    return new Raft(paperConfig(id, ids(n)), new SplittableRandom(seed), PersistentState.empty());
  }

  /** Everything the node wants to send, taking (and acknowledging) its Readys. */
  private static List<RaftMessage> drain(Raft r) {
    List<RaftMessage> out = new ArrayList<>();
    while (r.hasReady()) {
      Ready rd = r.ready();
      out.addAll(rd.messages());
      r.advance(rd);
    }
    return out;
  }

  /** §5.1: servers start up as followers, in term 0, with no vote cast. */
  @Test
  void serversStartAsFollowers() {
    Raft r = node(1, 3, 1);
    assertThat(r.id()).isEqualTo(1);
    assertThat(r.role()).isEqualTo(Role.FOLLOWER);
    assertThat(r.term()).isZero();
    assertThat(r.status().votedFor()).isEqualTo(RaftConfig.NONE);
    assertThat(r.leaderId()).isEqualTo(RaftConfig.NONE);
  }

  /**
   * §5.2: "If a follower receives no communication over a period of time called the election
   * timeout, then it ... begins an election": it increments its term, votes for itself and sends
   * RequestVote to every other server; the timeout is drawn from [min, max).
   */
  @Test
  void followerStartsElectionWithinRandomizedElectionTimeout() {
    for (long seed = 0; seed < 50; seed++) {
      Raft r = node(1, 3, seed);
      drain(r);
      int ticks = 0;
      while (r.role() == Role.FOLLOWER) {
        r.tick();
        ticks++;
        assertThat(ticks).isLessThan(20);
      }
      assertThat(ticks).isBetween(10, 19);
      assertThat(r.role()).isEqualTo(Role.CANDIDATE);
      assertThat(r.term()).isEqualTo(1);
      assertThat(r.status().votedFor()).isEqualTo(1);
      List<RaftMessage> msgs = drain(r);
      assertThat(msgs).extracting(RaftMessage::getTo).containsExactly(2, 3);
      assertThat(msgs)
          .allSatisfy(
              m -> {
                assertThat(m.getTerm()).isEqualTo(1);
                assertThat(m.hasVoteRequest()).isTrue();
                assertThat(m.getVoteRequest().getPreVote()).isFalse();
              });
    }
  }

  /**
   * §5.2: "Raft uses randomized election timeouts to ensure that split votes are rare": nodes (and
   * successive elections of one node) draw different timeouts.
   */
  @Test
  void randomizedElectionTimeoutsDifferAcrossNodesAndElections() {
    SplittableRandom seeds = new SplittableRandom(42);
    TreeSet<Integer> firstTimeouts = new TreeSet<>();
    for (int i = 0; i < 10; i++) {
      Raft r = node(1, 3, seeds.nextLong());
      int ticks = 0;
      while (r.role() == Role.FOLLOWER) {
        r.tick();
        ticks++;
      }
      firstTimeouts.add(ticks);
    }
    assertThat(firstTimeouts)
        .hasSizeGreaterThan(1)
        .allSatisfy(t -> assertThat(t).isBetween(10, 19));

    // A candidate whose election fails (no answers) times out again, after another random draw.
    Raft r = node(1, 3, 7);
    TreeSet<Integer> successive = new TreeSet<>();
    for (int election = 0; election < 10; election++) {
      long term = r.term();
      int ticks = 0;
      while (r.term() == term) {
        r.tick();
        ticks++;
      }
      successive.add(ticks);
      assertThat(r.role()).isEqualTo(Role.CANDIDATE);
    }
    assertThat(successive).hasSizeGreaterThan(1).allSatisfy(t -> assertThat(t).isBetween(10, 19));
    assertThat(r.term()).isEqualTo(10);
  }

  /** §5.2: a candidate that receives votes from a majority (itself included) becomes leader. */
  @Test
  void candidateWinsWithVotesFromMajority() {
    TestNetwork net = TestNetwork.create(5, 1);
    net.raft(1).campaign();
    // Only node 2 and 3 hear about it: 3 of 5 votes.
    net.isolate(4, 5);
    net.deliverAll();
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
    assertThat(net.raft(1).term()).isEqualTo(1);
    assertThat(net.raft(2).leaderId()).isEqualTo(1);
  }

  /** §5.2: without a majority the candidate stays a candidate (a split vote, then a new term). */
  @Test
  void candidateWithoutMajorityStaysCandidate() {
    TestNetwork net = TestNetwork.create(5, 1);
    net.raft(1).campaign();
    net.isolate(3, 4, 5); // one vote besides its own: 2 of 5
    net.deliverAll();
    assertThat(net.raft(1).role()).isEqualTo(Role.CANDIDATE);
  }

  /** §5.2 / Figure 2: a candidate rejected by a majority gives up and returns to follower. */
  @Test
  void candidateRejectedByMajorityStepsDown() {
    Raft r = node(1, 3, 3);
    r.campaign();
    drain(r);
    r.step(voteResponse(2, 1, 1, false));
    assertThat(r.role()).isEqualTo(Role.CANDIDATE); // 1 granted, 1 rejected, 1 pending
    r.step(voteResponse(3, 1, 1, false));
    assertThat(r.role()).isEqualTo(Role.FOLLOWER);
    assertThat(r.term()).isEqualTo(1);
  }

  /**
   * §5.2: "If the leader's term ... is at least as large as the candidate's current term, then the
   * candidate recognizes the leader as legitimate and returns to follower state."
   */
  @Test
  void candidateRecognizesLeaderOfItsTerm() {
    Raft r = node(1, 3, 3);
    r.campaign();
    drain(r);
    r.step(heartbeat(2, 1, 1));
    assertThat(r.role()).isEqualTo(Role.FOLLOWER);
    assertThat(r.leaderId()).isEqualTo(2);
    assertThat(r.term()).isEqualTo(1);
  }

  /**
   * §5.1 / Figure 2 "Rules for all servers": if an RPC request or response contains a term T >
   * currentTerm, set currentTerm = T and convert to follower; this holds for candidates and
   * leaders.
   */
  @Test
  void candidateAndLeaderStepDownOnHigherTerm() {
    Raft candidate = node(1, 3, 3);
    candidate.campaign();
    drain(candidate);
    candidate.step(voteResponse(2, 1, 5, false));
    assertThat(candidate.role()).isEqualTo(Role.FOLLOWER);
    assertThat(candidate.term()).isEqualTo(5);
    assertThat(candidate.status().votedFor()).isEqualTo(RaftConfig.NONE);

    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.raft(1).step(heartbeat(3, 1, 7));
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.raft(1).term()).isEqualTo(7);
    assertThat(net.raft(1).leaderId()).isEqualTo(3);
  }

  /** Figure 2: "Reply false if term < currentTerm": a stale RequestVote is refused. */
  @Test
  void staleVoteRequestIsRejected() {
    Raft r = node(1, 3, 3);
    r.step(heartbeat(2, 1, 4));
    drain(r);
    r.step(voteRequest(3, 1, 2, 10, 3));
    List<RaftMessage> out = drain(r);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getVoteResponse().getVoteGranted()).isFalse();
    assertThat(out.get(0).getTerm()).isEqualTo(4);
    assertThat(r.term()).isEqualTo(4);
  }

  /**
   * §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-
   * first-served basis" (Election Safety); a repeated request of the same candidate is granted
   * again.
   */
  @Test
  void eachServerVotesForAtMostOneCandidatePerTerm() {
    Raft r = node(3, 3, 3);
    r.step(voteRequest(1, 3, 1, 0, 0));
    r.step(voteRequest(2, 3, 1, 0, 0));
    r.step(voteRequest(1, 3, 1, 0, 0));
    List<RaftMessage> out = drain(r);
    assertThat(out)
        .extracting(m -> m.getTo() + ":" + m.getVoteResponse().getVoteGranted())
        .containsExactly("1:true", "2:false", "1:true");
    assertThat(r.status().votedFor()).isEqualTo(1);

    // A candidate has voted for itself: it refuses a rival of its term.
    Raft candidate = node(1, 3, 3);
    candidate.campaign();
    drain(candidate);
    candidate.step(voteRequest(2, 1, 1, 0, 0));
    assertThat(drain(candidate).get(0).getVoteResponse().getVoteGranted()).isFalse();

    // In a later term the server may vote again.
    r.step(voteRequest(2, 3, 2, 0, 0));
    assertThat(drain(r).get(0).getVoteResponse().getVoteGranted()).isTrue();
    assertThat(r.status().votedFor()).isEqualTo(2);
  }

  /**
   * Figure 2: currentTerm and votedFor are "updated on stable storage before responding to RPCs":
   * the vote is in the same Ready as its response, that Ready must be synced, and the driver
   * persists it before it sends the response.
   */
  @Test
  void voteIsPersistedBeforeTheResponseIsSent() {
    Raft r = node(3, 3, 3);
    drain(r);
    r.step(voteRequest(1, 3, 1, 0, 0));
    Ready rd = r.ready();
    assertThat(rd.hardState()).isNotNull();
    assertThat(rd.hardState().getCurrentTerm()).isEqualTo(1);
    assertThat(rd.hardState().getVotedFor()).isEqualTo(1);
    assertThat(rd.mustSync()).isTrue();
    assertThat(rd.messages()).hasSize(1);
    assertThat(rd.messages().get(0).getVoteResponse().getVoteGranted()).isTrue();
    r.advance(rd);

    // Through the ReadyProcessor: persist (synced) strictly before send.
    TestNetwork net = TestNetwork.create(3, 9);
    net.flush();
    net.node(3).events.clear();
    net.raft(3).step(voteRequest(1, 3, 1, 0, 0));
    net.flush();
    assertThat(net.node(3).events)
        .containsExactly("persist term=1 vote=1 entries=0 sync=true", "send VOTE_RESPONSE to 1");
    assertThat(net.node(3).storage.hardState.getVotedFor()).isEqualTo(1);
  }

  /** §5.2: a candidate persists its own vote and new term before asking for votes. */
  @Test
  void candidatePersistsTermAndSelfVoteBeforeRequestingVotes() {
    TestNetwork net = TestNetwork.create(3, 9);
    net.flush();
    net.raft(1).campaign();
    net.flush();
    assertThat(net.node(1).events)
        .containsExactly(
            "persist term=1 vote=1 entries=0 sync=true",
            "send VOTE_REQUEST to 2",
            "send VOTE_REQUEST to 3");
  }

  /** §5.2: once elected, a leader sends heartbeats that stop others from starting elections. */
  @Test
  void leaderHeartbeatsPreventNewElections() {
    TestNetwork net = TestNetwork.create(3, 5);
    net.elect(1);
    net.tickAll(200);
    assertThat(net.leader()).isEqualTo(1);
    assertThat(net.raft(2).term()).isEqualTo(1);
    assertThat(net.raft(3).term()).isEqualTo(1);
  }

  /** §5.2: with only ticks (no hint), a cluster elects exactly one leader per term. */
  @Test
  void clusterElectsALeaderFromTimeoutsAlone() {
    for (long seed = 0; seed < 20; seed++) {
      TestNetwork net = TestNetwork.create(5, seed);
      int ticks = 0;
      while (net.leader() == null) {
        net.tickAll();
        assertThat(++ticks).as("seed %d", seed).isLessThan(200);
      }
      // Election Safety: at most one leader in any term.
      for (int a : net.ids()) {
        for (int b : net.ids()) {
          if (a < b && net.raft(a).role() == Role.LEADER && net.raft(b).role() == Role.LEADER) {
            assertThat(net.raft(a).term()).isNotEqualTo(net.raft(b).term());
          }
        }
      }
    }
  }

  /**
   * §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
   * candidate."
   */
  @Test
  void electionRestrictionRefusesLessUpToDateCandidate() {
    // Voter: [t1, t1, t2]. Shorter log with the same last term, and a lower last term, are refused.
    assertThat(voteGranted(log(1, 1, 2), 2, 2)).isFalse();
    assertThat(voteGranted(log(1, 1, 2), 5, 1)).isFalse();
    // Same last term and at least as long, or a higher last term (even if shorter): granted.
    assertThat(voteGranted(log(1, 1, 2), 3, 2)).isTrue();
    assertThat(voteGranted(log(1, 1, 2), 4, 2)).isTrue();
    assertThat(voteGranted(log(1, 1, 2), 1, 3)).isTrue();
  }

  private static boolean voteGranted(List<Entry> voterLog, long lastIndex, long lastTerm) {
    Raft voter = new Raft(paperConfig(1, ids(3)), new SplittableRandom(1), state(2, 0, voterLog));
    drain(voter);
    voter.step(voteRequest(2, 1, 3, lastIndex, lastTerm));
    List<RaftMessage> out = drain(voter);
    assertThat(out).hasSize(1);
    boolean granted = out.get(0).getVoteResponse().getVoteGranted();
    assertThat(voter.status().votedFor()).isEqualTo(granted ? 2 : RaftConfig.NONE);
    return granted;
  }

  /** §5.4.1 in a cluster: a node missing committed entries cannot become leader. */
  @Test
  void electionRestrictionKeepsStaleNodeFromLeading() {
    TestNetwork net = TestNetwork.create(3, 11);
    net.elect(1);
    net.isolate(3);
    net.raft(1).propose(TestNetwork.data("x"));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isEqualTo(2);
    net.heal();
    net.isolate(1); // the leader crashes; 3 lacks entry 2, which 2 holds
    net.raft(3).campaign();
    net.deliverAll();
    assertThat(net.raft(3).role()).isNotEqualTo(Role.LEADER);
    net.raft(2).campaign();
    net.deliverAll();
    assertThat(net.raft(2).role()).isEqualTo(Role.LEADER);
    net.deliverAll();
    assertThat(net.raft(2).commitIndex()).isGreaterThanOrEqualTo(2);
    assertThat(net.node(3).storage.entries.get(1).getData()).isEqualTo(TestNetwork.data("x"));
  }
}
