package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Log compaction (§7): a node whose state machine holds a durable snapshot drops the log up to it,
 * keeps working from the rest, and restarts from snapshot plus suffix; a leader whose follower
 * needs compacted entries sends a snapshot instead, and nothing but heartbeats until it arrives.
 */
class LogCompactionTest {

  /** A 3-node cluster led by 1 that committed and applied {@code n} commands beyond its no-op. */
  private static TestNetwork clusterWith(int n) {
    TestNetwork net = TestNetwork.create(3, 7);
    net.elect(1);
    for (int i = 0; i < n; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    return net;
  }

  @Test
  void aCompactedLogStartsAfterTheSnapshotAndKeepsItsLastTerm() {
    TestNetwork net = clusterWith(10); // indexes 1..11, term 1
    SnapshotMeta meta = net.compact(1, 8);

    assertThat(meta.getIndex()).isEqualTo(8);
    assertThat(meta.getTerm()).isEqualTo(1);
    assertThat(net.raft(1).snapshotMeta(8).getConfState().getVotersList()).containsExactly(1, 2, 3);
    RaftStatus st = net.raft(1).status();
    assertThat(st.snapshotIndex()).isEqualTo(8);
    assertThat(st.snapshotTerm()).isEqualTo(1);
    assertThat(st.lastIndex()).isEqualTo(11);
    assertThat(net.node(1).storage.entries)
        .extracting(Entry::getIndex)
        .containsExactly(9L, 10L, 11L);

    // The cluster goes on: a new command commits and applies everywhere.
    net.raft(1).propose(data("after"));
    net.deliverAll();
    assertThat(net.node(3).applied).hasSize(12);
    assertThat(net.node(1).applied.get(11).getData()).isEqualTo(data("after"));
  }

  /** §7: "each server takes snapshots independently, covering just the committed entries". */
  @Test
  void theCoreNeverCompactsWhatIsNotApplied() {
    TestNetwork net = clusterWith(3); // applied 4
    net.isolate(2, 3);
    net.raft(1).propose(data("uncommitted"));
    net.deliverAll(); // index 5: durable on the leader, not committed, not applied

    assertThatThrownBy(() -> net.raft(1).compact(5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only applied and durable entries");
    assertThat(net.raft(1).status().snapshotIndex()).isZero();
  }

  @Test
  void compactingToAnOlderIndexChangesNothing() {
    TestNetwork net = clusterWith(6);
    net.compact(1, 6);
    SnapshotMeta again = net.raft(1).compact(3);
    assertThat(again.getIndex()).isEqualTo(6);
    assertThat(net.raft(1).status().snapshotIndex()).isEqualTo(6);
  }

  @Test
  void aFollowerBehindTheCompactionPointGetsASnapshot() {
    TestNetwork net = clusterWith(2);
    net.isolate(3);
    for (int i = 0; i < 8; i++) {
      net.raft(1).propose(data("w" + i));
      net.deliverAll();
    }
    net.compact(1, 9); // node 3 has 3 entries; the leader's log now starts at 10
    net.heal();
    net.tickAll(2);

    List<RaftMessage> snapshots =
        net.delivered.stream().filter(RaftMessage::hasInstallSnapshot).toList();
    assertThat(snapshots).hasSize(1);
    SnapshotMeta sent = snapshots.get(0).getInstallSnapshot().getMeta();
    assertThat(sent.getIndex()).as("the leader's applied state").isEqualTo(11);
    assertThat(net.node(3).installed).containsExactly(sent);
    // Node 3 now holds the leader's state and log, and replicates normally afterwards.
    assertThat(net.node(3).applied).isEqualTo(net.node(1).applied);
    assertThat(net.raft(3).status().snapshotIndex()).isEqualTo(11);
    net.raft(1).propose(data("next"));
    net.deliverAll();
    assertThat(net.node(3).applied).isEqualTo(net.node(1).applied).hasSize(12);
    assertThat(net.raft(1).status().peers().get(3).replicating()).isTrue();
  }

  /** §7: the leader sends a snapshot to a follower "that is too far behind", and only that. */
  @Test
  void whileASnapshotIsInFlightTheFollowerGetsOnlyHeartbeats() {
    TestNetwork net = clusterWith(2);
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("w" + i));
      net.deliverAll();
    }
    net.compact(1, 8);
    net.heal();
    net.raft(1).tick(); // heartbeat: node 3 rejects, and is sent a snapshot
    net.deliverWave(); // the heartbeat
    net.deliverWave(); // the rejection
    List<RaftMessage> snapshot = net.take(m -> m.hasInstallSnapshot());
    assertThat(snapshot).hasSize(1);
    assertThat(net.raft(1).status().peers().get(3).pendingSnapshot()).isEqualTo(8);

    net.raft(1).propose(data("more"));
    net.raft(1).tick();
    List<RaftMessage> toThree = net.take(TestNetwork.to(3));
    assertThat(toThree).isNotEmpty();
    assertThat(toThree)
        .allSatisfy(
            m -> {
              assertThat(m.hasAppendRequest()).isTrue();
              assertThat(m.getAppendRequest().getEntriesCount()).isZero();
              // Its previous entry is the snapshot's: the term of anything older is gone.
              assertThat(m.getAppendRequest().getPrevLogIndex()).isEqualTo(8);
            });
  }

  /**
   * A failed transfer (the driver reports it) sends the follower back to probing at the next
   * heartbeat: one snapshot per heartbeat interval at most, never a hot loop.
   */
  @Test
  void aFailedTransferIsRetriedAtTheNextHeartbeatNotInAHotLoop() {
    TestNetwork net = clusterWith(2);
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("w" + i));
      net.deliverAll();
    }
    net.compact(1, 8);
    net.heal();
    net.dropIf(RaftMessage::hasInstallSnapshot); // every transfer fails
    for (int tick = 0; tick < 5; tick++) {
      net.raft(1).tick();
      net.deliverAll();
    }
    long sent = net.sent.stream().filter(RaftMessage::hasInstallSnapshot).count();
    assertThat(sent).isBetween(2L, 5L);
    assertThat(net.node(3).installed).isEmpty();

    net.heal();
    net.tickAll(2);
    assertThat(net.node(3).installed).hasSize(1);
    assertThat(net.node(3).applied).isEqualTo(net.node(1).applied);
  }

  /**
   * A snapshot in flight to node 3 (sent by leader 1, not yet delivered): node 3 had 3 entries, the
   * leader compacted to 6 and applied 8, so the snapshot is of index 8.
   */
  private static RaftMessage snapshotInFlight(TestNetwork net) {
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("w" + i));
      net.deliverAll();
    }
    net.compact(1, 6);
    net.heal();
    net.raft(1).tick(); // heartbeat: node 3 rejects, and is sent a snapshot
    net.deliverWave(); // the heartbeat
    net.deliverWave(); // the rejection
    List<RaftMessage> snapshot = net.take(RaftMessage::hasInstallSnapshot);
    assertThat(snapshot).hasSize(1);
    assertThat(snapshot.get(0).getInstallSnapshot().getMeta().getIndex()).isEqualTo(8);
    return snapshot.get(0);
  }

  /**
   * A transfer's report can outlive its turn: the leader stepped down and was elected again, or
   * gave up on the transfer and sent another one meanwhile. A report about any other snapshot than
   * the one in flight must not end it (else the leader starts a second transfer to the same
   * follower beside the first, or believes a snapshot arrived that did not).
   */
  @Test
  void aReportAboutAnotherSnapshotLeavesTheOneInFlightAlone() {
    TestNetwork net = clusterWith(2);
    RaftMessage inFlight = snapshotInFlight(net);
    RaftMessage earlier =
        inFlight.toBuilder()
            .setInstallSnapshot(
                inFlight.getInstallSnapshot().toBuilder()
                    .setMeta(inFlight.getInstallSnapshot().getMeta().toBuilder().setIndex(5)))
            .build();
    RaftMessage ofAnEarlierTerm = inFlight.toBuilder().setTerm(inFlight.getTerm() - 1).build();

    net.raft(1).reportSnapshot(earlier, true);
    net.raft(1).reportSnapshot(ofAnEarlierTerm, false);
    for (int tick = 0; tick < 3; tick++) {
      net.raft(1).tick();
    }

    assertThat(net.raft(1).status().peers().get(3).pendingSnapshot()).isEqualTo(8);
    assertThat(net.take(TestNetwork.to(3)))
        .isNotEmpty()
        .allSatisfy(
            m -> {
              assertThat(m.hasInstallSnapshot()).as("a second transfer").isFalse();
              assertThat(m.getAppendRequest().getEntriesCount()).isZero();
            });

    // Its own report ends it: the next heartbeat sends a new one.
    net.raft(1).reportSnapshot(inFlight, false);
    assertThat(net.raft(1).status().peers().get(3).pendingSnapshot()).isZero();
    net.raft(1).tick();
    assertThat(net.take(RaftMessage::hasInstallSnapshot)).hasSize(1);
  }

  /**
   * §7 (and the rule): the core never compacts what a snapshot in flight still needs. The
   * follower continues from the entries after the snapshot; a leader that compacted past it while
   * the transfer ran would find the follower behind its log again as soon as the snapshot arrived,
   * and send another, for ever under a steady write load.
   */
  @Test
  void aLeaderNeverCompactsPastASnapshotInFlight() {
    TestNetwork net = clusterWith(2);
    RaftMessage inFlight = snapshotInFlight(net);
    for (int i = 0; i < 3; i++) {
      net.raft(1).propose(data("during" + i));
      net.deliverAll();
    }
    assertThat(net.raft(1).status().appliedIndex()).isEqualTo(11);

    SnapshotMeta start = net.compact(1, 11);

    assertThat(start.getIndex()).as("stops at the snapshot in flight").isEqualTo(8);
    assertThat(net.node(1).storage.entries)
        .extracting(Entry::getIndex)
        .containsExactly(9L, 10L, 11L);

    // The snapshot arrives: node 3 continues from the log, with no second snapshot.
    net.deliver(inFlight);
    net.tickAll(2);
    assertThat(net.sent.stream().filter(RaftMessage::hasInstallSnapshot)).hasSize(1);
    assertThat(net.node(3).applied).isEqualTo(net.node(1).applied).hasSize(11);
    // Nothing in flight now: the log may go.
    assertThat(net.compact(1, 11).getIndex()).isEqualTo(11);
  }

  /**
   * A failed transfer is retried at the next heartbeat interval even while the leader commits all
   * the time. A commit tells every follower the new commit index, which counts as a heartbeat for
   * the replicating ones (the heartbeat timer starts again); but a follower whose transfer failed
   * waits for the heartbeat to be probed again, and under a steady write load it would wait for as
   * long as the load lasts (seen in the nemesis: 27 s without a transfer to a follower behind the
   * compacted log, until the clients paused).
   */
  @Test
  void aFailedTransferIsRetriedWhileTheLeaderKeepsCommitting() {
    TestNetwork net =
        TestNetwork.create(
            3,
            7,
            c ->
                new RaftConfig(
                    c.id(),
                    c.voters(),
                    c.electionTimeoutMinTicks(),
                    c.electionTimeoutMaxTicks(),
                    3,
                    c.maxInflightAppends(),
                    c.maxMessageBytes(),
                    c.maxApplyBytes(),
                    c.preVote(),
                    c.checkQuorum()));
    net.elect(1);
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("w" + i));
      net.deliverAll();
    }
    net.compact(1, 5);
    net.heal();
    List<RaftMessage> sent = List.of();
    for (int tick = 0; tick < 3 && sent.isEmpty(); tick++) {
      net.raft(1).tick(); // the heartbeat: node 3 rejects, and is sent a snapshot
      net.deliverWave();
      net.deliverWave();
      sent = net.take(RaftMessage::hasInstallSnapshot);
    }
    assertThat(sent).hasSize(1);
    net.raft(1).reportSnapshot(sent.get(0), false);

    // A commit at every tick: node 2 acknowledges each new entry at once.
    int retried = 0;
    for (int tick = 0; tick < 4 * 3 && retried == 0; tick++) {
      net.raft(1).propose(data("load" + tick));
      net.raft(1).tick();
      net.deliverAll();
      retried = (int) net.sent.stream().filter(RaftMessage::hasInstallSnapshot).count() - 1;
    }

    assertThat(retried).as("snapshots sent again within 4 heartbeat intervals").isPositive();
  }

  /** A restart loads the snapshot's index and term and the log after it (§7). */
  @Test
  void aRestartLoadsTheSnapshotAndTheLogSuffix() {
    TestNetwork net = clusterWith(10);
    net.compact(1, 7);
    net.restart(1, 11);

    RaftStatus st = net.raft(1).status();
    assertThat(st.snapshotIndex()).isEqualTo(7);
    assertThat(st.snapshotTerm()).isEqualTo(1);
    assertThat(st.lastIndex()).isEqualTo(11);
    assertThat(st.commitIndex()).isEqualTo(11);
    // It can lead again and serve followers from the suffix.
    net.tickAll(30);
    net.raft(net.leader()).propose(data("after restart"));
    net.deliverAll();
    for (int id : net.ids()) {
      assertThat(net.node(id).applied).hasSize(13);
    }
  }
}
