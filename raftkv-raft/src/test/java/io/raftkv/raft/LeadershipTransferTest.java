package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.RaftMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Leadership transfer, §3.10 of Ongaro's dissertation: "the prior leader sends its log entries to
 * the target server ... [then] sends a TimeoutNow request to the target server", which starts an
 * election at once; "the prior leader stops accepting new client requests" meanwhile, and aborts
 * "if the transfer does not complete within about an election timeout".
 */
class LeadershipTransferTest {

  private static TestNetwork cluster() {
    // PreVote and CheckQuorum on: the transfer must get through the leader lease.
    TestNetwork net = TestNetwork.create(3, 1, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.elect(1);
    net.deliverAll();
    return net;
  }

  /** §3.10: a target already up to date gets TimeoutNow at once, campaigns, and wins. */
  @Test
  void caughtUpTargetGetsTimeoutNowAndWins() {
    TestNetwork net = cluster();
    assertThat(net.raft(1).transferLeadership(2)).isTrue();
    List<RaftMessage> out = net.take(m -> m.getFrom() == 1);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getTo()).isEqualTo(2);
    assertThat(out.get(0).hasTimeoutNow()).isTrue();
    out.forEach(net::deliver);
    net.deliverAll();
    assertThat(net.leader()).isEqualTo(2);
    assertThat(net.raft(2).term()).isEqualTo(2);
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.raft(1).leaderId()).isEqualTo(2);
  }

  /**
   * §3.10: "the prior leader sends its log entries to the target server" first, and stops accepting
   * client requests; TimeoutNow follows only once the target holds the leader's whole log.
   */
  @Test
  void timeoutNowIsSentOnlyOnceTargetIsCaughtUp() {
    TestNetwork net = cluster();
    net.isolate(2);
    for (int i = 0; i < 3; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    assertThat(net.raft(2).lastIndex()).isLessThan(net.raft(1).lastIndex());
    net.heal();
    assertThat(net.raft(1).transferLeadership(2)).isTrue();
    List<RaftMessage> first = net.take(m -> m.getFrom() == 1);
    assertThat(first).noneMatch(RaftMessage::hasTimeoutNow);
    assertThat(first).anyMatch(m -> m.getTo() == 2 && m.hasAppendRequest());

    // Proposals are refused while the transfer is in progress.
    assertThat(net.raft(1).propose(data("refused"))).isZero();

    first.forEach(net::deliver);
    net.deliverAll();
    net.tickAll(3); // a heartbeat un-sticks the pipeline that lost its appends
    RaftMessage timeoutNow =
        net.sent.stream().filter(RaftMessage::hasTimeoutNow).findFirst().orElseThrow();
    int timeoutNowAt = net.sent.indexOf(timeoutNow);
    // By then node 2 had acknowledged everything the leader had.
    assertThat(
            net.sent.subList(0, timeoutNowAt).stream()
                .filter(m -> m.getFrom() == 2 && m.hasAppendResponse())
                .mapToLong(m -> m.getAppendResponse().getMatchIndex())
                .max())
        .hasValue(4);
    assertThat(net.leader()).isEqualTo(2);
    assertThat(net.node(2).storage.entries.subList(0, 4))
        .isEqualTo(net.node(1).storage.entries.subList(0, 4));
  }

  /** §3.10: "the prior leader ... aborts the transfer" after an election timeout. */
  @Test
  void transferIsAbortedAfterAnElectionTimeout() {
    TestNetwork net = cluster();
    net.isolate(2);
    net.raft(1).propose(data("x"));
    net.deliverAll();
    assertThat(net.raft(1).transferLeadership(2)).isTrue();
    for (int i = 0; i < 9; i++) {
      net.raft(1).tick();
      net.raft(3).tick();
      net.deliverAll();
      assertThat(net.raft(1).propose(data("refused"))).isZero();
    }
    net.raft(1).tick(); // the 10th tick: a minimum election timeout
    net.deliverAll();
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
    assertThat(net.raft(1).propose(data("accepted"))).isPositive();
  }

  /** §3.10: only a leader transfers, and only to another voter. */
  @Test
  void transferToSelfOrByFollowerIsRefused() {
    TestNetwork net = cluster();
    assertThat(net.raft(1).transferLeadership(1)).isFalse();
    assertThat(net.raft(1).transferLeadership(9)).isFalse();
    assertThat(net.raft(2).transferLeadership(3)).isFalse();
  }

  /**
   * The {@code --leader} start-up hint: campaign() starts an election at once (through PreVote)
   * instead of waiting for a timeout; it still needs a majority.
   */
  @Test
  void campaignHintElectsThatNodeWithoutTicks() {
    for (int id = 1; id <= 3; id++) {
      TestNetwork net = TestNetwork.create(3, 7, c -> c.withPreVoteAndCheckQuorum(true, true));
      net.raft(id).campaign();
      net.deliverAll();
      assertThat(net.leader()).isEqualTo(id);
      assertThat(net.raft(id).term()).isEqualTo(1);
    }
    // Without a majority, the hint elects nobody.
    TestNetwork net = TestNetwork.create(3, 7, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.isolate(2, 3);
    net.raft(1).campaign();
    net.deliverAll();
    assertThat(net.raft(1).role()).isNotEqualTo(Role.LEADER);
    assertThat(net.raft(1).term()).isZero(); // PreVote failed: the term never moved
  }
}
