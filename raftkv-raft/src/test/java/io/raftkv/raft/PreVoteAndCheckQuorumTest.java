package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteRequest;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * §9.6 of Ongaro's dissertation ("Preventing disruptions when a server rejoins the cluster"):
 * PreVote, the leader lease that makes followers ignore RequestVote while they hear from a leader,
 * and CheckQuorum (§6.2: a leader steps down if it cannot reach a majority for an election
 * timeout).
 */
class PreVoteAndCheckQuorumTest {

  private static final UnaryOperator<RaftConfig> BOTH =
      c -> c.withPreVoteAndCheckQuorum(true, true);

  /**
   * §9.6 PreVote: "a candidate would first ask other servers whether its log was up-to-date enough
   * to get their vote. Only if the candidate believed it could get votes from a majority ... would
   * it increment its term and start a normal election." A partitioned node keeps its term, and on
   * rejoining does not depose the leader.
   */
  @Test
  void partitionedNodeRejoiningDoesNotRaiseTermOrDeposeLeader() {
    TestNetwork net = TestNetwork.create(3, 1, BOTH);
    net.elect(1);
    net.deliverAll();
    long term = net.raft(1).term();
    net.isolate(3);
    net.tickAll(100);
    assertThat(net.raft(3).term()).isEqualTo(term);
    assertThat(net.raft(3).role()).isEqualTo(Role.PRE_CANDIDATE);
    assertThat(
            net.sent.stream()
                .filter(m -> m.getFrom() == 3 && m.hasVoteRequest())
                .allMatch(m -> m.getVoteRequest().getPreVote()))
        .isTrue();

    net.heal();
    net.tickAll(50);
    assertThat(net.leader()).isEqualTo(1);
    assertThat(net.raft(1).term()).isEqualTo(term);
    assertThat(net.raft(3).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.raft(3).leaderId()).isEqualTo(1);
  }

  /**
   * The disruption PreVote prevents: without it the rejoining node's higher term deposes the
   * leader.
   */
  @Test
  void withoutPreVoteRejoiningNodeDisruptsLeader() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    net.isolate(3);
    net.tickAll(100);
    assertThat(net.raft(3).term()).isGreaterThan(1);
    net.heal();
    net.tickAll(); // 3's RequestVote (or its answer to a heartbeat) carries a higher term
    net.tickAll(50);
    assertThat(net.raft(1).term()).isGreaterThan(1);
  }

  /** §9.6: a PreVote binds nobody: granting it changes neither term nor vote. */
  @Test
  void preVoteChangesNoState() {
    TestNetwork net = TestNetwork.create(3, 1, BOTH);
    net.flush();
    net.raft(1).campaign();
    List<RaftMessage> requests = net.take(m -> m.getFrom() == 1);
    assertThat(requests)
        .allSatisfy(
            m -> {
              assertThat(m.getVoteRequest().getPreVote()).isTrue();
              assertThat(m.getTerm()).isEqualTo(1);
            });
    assertThat(net.raft(1).term()).isZero();
    net.deliver(requests.get(0));
    assertThat(net.raft(2).term()).isZero();
    assertThat(net.raft(2).status().votedFor()).isEqualTo(RaftConfig.NONE);
    List<RaftMessage> answer = net.take(m -> m.getFrom() == 2);
    assertThat(answer).hasSize(1);
    assertThat(answer.get(0).getVoteResponse().getVoteGranted()).isTrue();
    assertThat(answer.get(0).getVoteResponse().getPreVote()).isTrue();
    assertThat(net.node(2).storage.hardState.getCurrentTerm()).isZero();
    // With a majority of PreVotes the node starts the real election.
    net.deliver(answer.get(0));
    assertThat(net.raft(1).role()).isEqualTo(Role.CANDIDATE);
    assertThat(net.raft(1).term()).isEqualTo(1);
  }

  /**
   * §6.2 CheckQuorum: "a leader steps down if an election timeout elapses without a successful
   * round of heartbeats to a majority of its cluster".
   */
  @Test
  void leaderWithoutMajorityStepsDownAfterElectionTimeout() {
    TestNetwork net = TestNetwork.create(3, 1, BOTH);
    net.elect(1);
    net.deliverAll();
    net.tickAll(100); // connected: stays leader
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);

    net.isolate(1);
    int ticks = 0;
    while (net.raft(1).role() == Role.LEADER) {
      net.raft(1).tick();
      net.deliverAll();
      ticks++;
      assertThat(ticks).isLessThanOrEqualTo(2 * 10);
    }
    assertThat(ticks).isGreaterThanOrEqualTo(1);
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.raft(1).leaderId()).isEqualTo(RaftConfig.NONE);
  }

  /** CheckQuorum: one follower is enough in a cluster of three; the leader keeps leading. */
  @Test
  void leaderWithMajorityKeepsLeading() {
    TestNetwork net = TestNetwork.create(3, 1, BOTH);
    net.elect(1);
    net.isolate(3);
    for (int i = 0; i < 200; i++) {
      net.raft(1).tick();
      net.raft(2).tick();
      net.deliverAll();
    }
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
  }

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

  /**
   * §9.6 leader lease: "if a server receives a RequestVote request within the minimum election
   * timeout of hearing from a current leader, it does not update its term or grant its vote."
   */
  @Test
  void followerIgnoresRequestVoteWhileItRecentlyHeardFromLeader() {
    TestNetwork net = TestNetwork.create(3, 1, BOTH);
    net.elect(1);
    net.deliverAll();
    Raft follower = net.raft(2);
    follower.step(voteRequest(3, 2, 5, 100, 1));
    net.flush();
    assertThat(net.take(m -> m.getFrom() == 2)).isEmpty();
    assertThat(follower.term()).isEqualTo(1);
    assertThat(follower.leaderId()).isEqualTo(1);

    // After a minimum election timeout without the leader, the vote is considered (and granted).
    net.isolate(1);
    for (int i = 0; i < 10; i++) {
      follower.tick();
      if (follower.role() != Role.FOLLOWER) {
        break;
      }
    }
    net.take(m -> true);
    follower.step(voteRequest(3, 2, 5, 100, 1));
    List<RaftMessage> answer = net.take(m -> m.getFrom() == 2);
    assertThat(answer).hasSize(1);
    assertThat(answer.get(0).getVoteResponse().getVoteGranted()).isTrue();
    assertThat(follower.term()).isEqualTo(5);
  }
}
