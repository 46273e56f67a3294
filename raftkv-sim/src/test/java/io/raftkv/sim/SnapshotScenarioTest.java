package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.node.Compaction;
import io.raftkv.proto.raft.Entry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Snapshots and log compaction (§7) on whole simulated nodes: a follower that was down while the
 * leader compacted past its log catches up through a snapshot, restarts come back from snapshot
 * plus log, and a snapshot that differs from what the cluster applied is caught.
 */
class SnapshotScenarioTest {

  private static SimCluster cluster(long seed, Compaction compaction) {
    return new SimCluster(SimConfig.defaults(3).withCompaction(compaction), seed);
  }

  private static ByteString cmd(String s) {
    return ByteString.copyFromUtf8(s);
  }

  @Test
  void aFollowerDownWhileTheLeaderCompactsCatchesUpThroughASnapshot() {
    SimCluster c = cluster(11, new Compaction(5, 2));
    SafetyCheckers checkers = SafetyCheckers.attach(c);
    c.runUntil(() -> c.currentLeader() >= 0, 5_000);
    int leader = c.currentLeader();
    int follower = (leader + 1) % 3;
    c.crash(follower);
    long last = 0;
    for (int i = 0; i < 30; i++) {
      last = c.propose(leader, cmd("v" + i));
      c.runFor(20);
    }
    c.runFor(200);
    assertThat(c.raft(leader).status().snapshotIndex())
        .as("the leader compacted past the follower's log")
        .isGreaterThan(c.durableLog(follower).size());

    c.restart(follower);
    long target = last;
    assertThat(c.runUntil(() -> c.applied(follower).size() >= target, 3_000)).isTrue();
    assertThat(c.snapshotsInstalled()).isPositive();
    assertThat(c.applied(follower)).isEqualTo(c.applied(leader).subList(0, (int) target));
    assertThat(checkers.violations()).isEmpty();
  }

  @Test
  void aRestartedNodeComesBackFromItsSnapshotAndTheLogAfterIt() {
    SimCluster c = cluster(12, new Compaction(4, 1));
    SafetyCheckers checkers = SafetyCheckers.attach(c);
    c.runUntil(() -> c.currentLeader() >= 0, 5_000);
    int leader = c.currentLeader();
    long last = 0;
    for (int i = 0; i < 20; i++) {
      last = c.propose(leader, cmd("v" + i));
      c.runFor(20);
    }
    c.runFor(200);
    int node = (leader + 2) % 3;
    long start = c.raft(node).status().snapshotIndex();
    assertThat(start).as("compacted").isPositive();
    List<Entry> before = new ArrayList<>(c.applied(node));
    c.crash(node);
    c.restart(node);
    assertThat(c.raft(node).status().snapshotIndex()).isEqualTo(start);
    // Its state machine starts from the snapshot, not from index 1.
    assertThat(c.runtime(node).appliedIndex()).isGreaterThanOrEqualTo(start);
    long target = last;
    assertThat(c.runUntil(() -> c.applied(node).size() >= target, 2_000)).isTrue();
    assertThat(c.applied(node).subList(0, before.size())).isEqualTo(before);
    assertThat(checkers.violations()).isEmpty();
  }

  /**
   * The checkers' own test: a snapshot whose last entry differs is a State Machine Safety finding.
   */
  @Test
  void aSnapshotThatDiffersFromWhatWasAppliedIsCaught() {
    List<Violation> found = new ArrayList<>();
    for (long seed = 1; seed <= 40 && found.isEmpty(); seed++) {
      RandomScenario s = new RandomScenario(seed);
      s.cluster()
          .tamperWithSnapshotsForTesting(
              snap -> {
                List<Entry> entries = new ArrayList<>(snap.entries());
                Entry lastEntry = entries.get(entries.size() - 1);
                entries.set(
                    entries.size() - 1, lastEntry.toBuilder().setData(cmd("tampered")).build());
                return new SimSnapshot(snap.meta(), entries, snap.appImage());
              });
      found.addAll(s.run().violations());
    }
    assertThat(found).extracting(Violation::property).contains("State Machine Safety");
  }
}
