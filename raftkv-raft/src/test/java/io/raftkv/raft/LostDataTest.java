package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.between;
import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A node that lost its data directory and restarted with the same identity (outside Raft's model:
 * it forgot its votes and the entries it acknowledged). Its leader must not busy-loop on its
 * rejections, and the node itself must notice and stop, as etcd's raft does ("tocommit(%d) is out
 * of range [lastIndex(%d)]. Was the raft log corrupted, truncated, or lost?"), rather than rejoin
 * and vote.
 */
class LostDataTest {

  private static final int HEARTBEAT_TICKS = 2;

  /** Three nodes, node 1 leading, with entries 1..4 (no-op and three commands) everywhere. */
  private static TestNetwork clusterWithCommittedEntries() {
    TestNetwork net = TestNetwork.create(3, 7, c -> c.withHeartbeat(HEARTBEAT_TICKS));
    net.elect(1);
    for (int i = 0; i < 3; i++) {
      net.raft(1).propose(data("v" + i));
    }
    net.deliverAll();
    assertThat(net.raft(1).status().peers().get(3).matchIndex()).isEqualTo(4);
    assertThat(net.raft(1).commitIndex()).isEqualTo(4);
    return net;
  }

  /**
   * One heartbeat interval: every node ticks, and messages are delivered until none is left (at
   * most {@code maxWaves} round trips, so a hot loop shows as a huge count instead of hanging).
   *
   * @return the messages the leader sent to node 3 during the interval
   */
  private static int heartbeatInterval(TestNetwork net, int maxWaves) {
    int before = net.sent.size();
    for (int t = 0; t < HEARTBEAT_TICKS; t++) {
      for (int id : net.ids()) {
        net.raft(id).tick();
      }
      net.flush();
      for (int w = 0; w < maxWaves && !net.inFlight.isEmpty(); w++) {
        net.deliverWave();
      }
    }
    List<RaftMessage> during = new ArrayList<>(net.sent.subList(before, net.sent.size()));
    return (int) during.stream().filter(between(1, 3)).count();
  }

  /**
   * §5.3 backtracking never goes below the match index (Figure 2: matchIndex only grows), so a
   * rejection at or below it cannot move nextIndex: answering it with another append would be
   * rejected the same way, at once, forever (the hot loop of a wiped follower: millions of
   * messages). Such a rejection is stale or a contradiction; the leader probes again only at the
   * next heartbeat, so a follower that keeps rejecting gets a bounded number of messages.
   */
  @Test
  void rejectionAtOrBelowTheMatchIndexIsRetriedOnlyAtTheNextHeartbeat() {
    TestNetwork net = clusterWithCommittedEntries();
    net.wipe(3);
    net.raft(3).disableDataLossDetectionForTesting();
    // A write: its append to node 3 (after index 4, which node 3 no longer has) is rejected.
    net.raft(1).propose(data("after the wipe"));
    List<Integer> perInterval = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      perInterval.add(heartbeatInterval(net, 1_000));
    }
    // Before the rule: 1,001 messages in the first interval, 10,001 by the tenth (each heartbeat
    // started one more endless append/rejection chain; the count is capped by the waves run).
    // Now: the rejected append, one probe and a heartbeat, then one probe per interval.
    assertThat(perInterval.get(0)).as("messages in the first interval").isLessThanOrEqualTo(3);
    assertThat(perInterval.subList(1, perInterval.size()))
        .as("messages per later interval")
        .containsOnly(1);
    assertThat(net.raft(3).lastIndex()).as("the wiped node never catches up").isZero();
    assertThat(net.raft(1).status().peers().get(3).matchIndex()).isEqualTo(4);
  }

  /**
   * The detection: every append says up to which committed index the leader knows the follower's
   * log reaches (min(match, commit)); a follower whose log ends before it lost what it had
   * acknowledged and stops with one line saying so, etcd-style.
   */
  @Test
  void followerWhoseLogEndsBeforeWhatItAcknowledgedStops() {
    TestNetwork net = clusterWithCommittedEntries();
    net.wipe(3);
    net.raft(1).tick();
    net.raft(1).tick();
    List<RaftMessage> heartbeat = net.take(between(1, 3));
    assertThat(heartbeat).isNotEmpty();
    assertThat(heartbeat.get(0).getAppendRequest().getAckedCommit()).isEqualTo(4);
    assertThatThrownBy(() -> net.deliver(heartbeat.get(0)))
        .isInstanceOf(DataLossException.class)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageNotContaining("\n")
        .hasMessageContaining("node 3 lost its data")
        .hasMessageContaining("tocommit(4) is out of range [lastIndex(0)]")
        .hasMessageContaining("replace it as a new member (clt member replace)");
    assertThat(net.node(3).raft.ready().messages()).as("it stops without answering").isEmpty();
  }

  /**
   * What the leader claims is only what the follower acknowledged and what is committed: a follower
   * that is merely behind hears its own match, never the leader's commit index.
   */
  @Test
  void appendsCarryTheCommittedIndexTheFollowerIsKnownToHold() {
    TestNetwork net = clusterWithCommittedEntries();
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("w" + i));
    }
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isEqualTo(9);
    net.heal();
    net.raft(1).tick();
    net.raft(1).tick();
    List<RaftMessage> toLagging = net.take(between(1, 3));
    assertThat(toLagging)
        .isNotEmpty()
        .allMatch(m -> m.getAppendRequest().getAckedCommit() == 4, "min(match 4, commit 9)");
    toLagging.forEach(net::deliver);
    net.tickAll(3);
    assertThat(net.raft(3).commitIndex()).as("it catches up, nothing detected").isEqualTo(9);
  }

  /**
   * Entries a follower wrote but never acknowledged (writes lost in a crash before their fsync) are
   * not data loss: the leader never counted them, its match for the follower is below them.
   */
  @Test
  void entriesLostBeforeTheyWereAcknowledgedAreNotDataLoss() {
    TestNetwork net = clusterWithCommittedEntries();
    for (int i = 0; i < 3; i++) {
      net.raft(1).propose(data("u" + i));
    }
    // Node 3 gets the appends but its answers are lost; then it crashes and its disk drops them.
    net.take(between(1, 3)).forEach(net::deliver);
    net.take(between(3, 1));
    assertThat(net.node(3).storage.size()).isEqualTo(7);
    net.node(3).storage.entries.subList(4, 7).clear();
    net.restart(3, 4);
    net.deliverAll();
    net.tickAll(5);
    assertThat(net.raft(3).commitIndex()).isEqualTo(7);
  }

  /**
   * A node that still has what it acknowledged is never taken for one that lost it: after a
   * restart, after installing a snapshot, and when old appends arrive late.
   */
  @Test
  void restartsSnapshotsAndLateAppendsAreNotDataLoss() {
    TestNetwork net = clusterWithCommittedEntries();
    // A late duplicate of an old append to node 2.
    net.raft(1).propose(data("x"));
    List<RaftMessage> early = net.take(between(1, 2));
    early.forEach(net::deliver);
    net.deliverAll();
    // Node 3 down while the leader compacts past its log: it comes back through a snapshot.
    net.isolate(3);
    for (int i = 0; i < 6; i++) {
      net.raft(1).propose(data("y" + i));
    }
    net.deliverAll();
    net.compact(1, net.raft(1).status().appliedIndex());
    net.restart(3, 4);
    net.heal();
    net.tickAll(6);
    assertThat(net.node(3).installed).as("caught up through a snapshot").isNotEmpty();
    net.restart(2, net.raft(2).status().appliedIndex());
    early.forEach(net::deliver);
    net.tickAll(6);
    for (int id : net.ids()) {
      assertThat(net.raft(id).commitIndex()).isEqualTo(net.raft(1).commitIndex());
    }
  }
}
