package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * §8 ReadIndex, the bookkeeping of a read between its arrival and its release: a read that came
 * before the leader's first commit of its term, the rounds that confirm leadership, and the
 * single-node cluster that is its own quorum.
 */
class ReadIndexRoundsTest {

  /**
   * §8: a read that arrives before the new leader has committed an entry of its term waits for that
   * commit, then for a quorum of answers to a round started after it; it is one pending read
   * throughout, and is released once.
   */
  @Test
  void readThatWaitsForTheTermsFirstCommitIsOnePendingRead() {
    TestNetwork net = TestNetwork.create(3, 1);
    Raft r = net.raft(1);
    r.campaign();
    while (r.role() != Role.LEADER) {
      net.deliverWave();
    }
    assertThat(r.commitIndex()).isZero();
    assertThat(r.readIndex(5)).isTrue();
    assertThat(r.status().pendingReads()).isEqualTo(1);
    while (r.commitIndex() == 0) {
      net.deliverWave();
    }
    assertThat(r.status().pendingReads()).isEqualTo(1);
    assertThat(net.node(1).readStates).isEmpty();
    net.deliverAll();
    assertThat(r.status().pendingReads()).isZero();
    assertThat(net.node(1).readStates).containsExactly(new ReadState(5, 1));
  }

  /**
   * §8: every AppendEntries carries the leader's current round, so an append of a read's round
   * confirms leadership as well as a heartbeat does: with the read's heartbeats lost, the answers
   * to the next proposal's appends release it, without waiting for another round trip.
   */
  @Test
  void anAppendOfTheReadsRoundConfirmsItAsAHeartbeatWould() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    net.deliverAll();
    Raft r = net.raft(1);
    assertThat(r.readIndex(9)).isTrue();
    assertThat(net.take(m -> m.getFrom() == 1)).hasSize(2); // the read's heartbeats, lost
    r.propose(data("x"));
    net.deliverWave(); // the appends reach the followers
    net.deliverWave(); // their answers reach the leader
    assertThat(net.node(1).readStates).containsExactly(new ReadState(9, 1));
  }

  /**
   * §8 with a single node: its own copy is a majority. A read asked before the leader's no-op is
   * durable waits for that commit and is released with it, with no peer to answer.
   */
  @Test
  void singleNodeReleasesAReadAskedBeforeItsFirstCommitWhenThatCommits() {
    TestNetwork net = TestNetwork.create(1, 1);
    Raft r = net.raft(1);
    r.campaign();
    assertThat(r.role()).isEqualTo(Role.LEADER);
    assertThat(r.commitIndex()).isZero();
    assertThat(r.readIndex(9)).isTrue();
    net.flush();
    assertThat(r.commitIndex()).isEqualTo(1);
    assertThat(net.node(1).readStates).containsExactly(new ReadState(9, 1));
  }
}
