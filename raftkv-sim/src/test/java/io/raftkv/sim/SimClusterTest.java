package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.raft.Role;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulator's own behaviour: elections, commits, crashes, partitions, counters. */
class SimClusterTest {

  private static SimCluster cluster(int n, long seed) {
    SimCluster c = new SimCluster(SimConfig.defaults(n), seed);
    SafetyCheckers checkers = SafetyCheckers.attach(c);
    c.addObserver(
        new ClusterObserver() {
          @Override
          public void roleChanged(long time, int node, Role role, long term) {
            assertThat(checkers.violations()).isEmpty();
          }
        });
    return c;
  }

  private static ByteString cmd(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static boolean appliedOn(SimCluster c, int node, long index, ByteString data) {
    List<Entry> applied = c.applied(node);
    return applied.size() >= index && applied.get((int) index - 1).getData().equals(data);
  }

  @Test
  void electsOneLeaderAndCommitsOnAll() {
    SimCluster c = cluster(3, 1);
    assertThat(c.runUntil(() -> c.currentLeader() >= 0, 5_000)).isTrue();
    int leader = c.currentLeader();
    long index = c.propose(leader, cmd("x"));
    assertThat(index).isPositive();
    assertThat(
            c.runUntil(
                () ->
                    appliedOn(c, 0, index, cmd("x"))
                        && appliedOn(c, 1, index, cmd("x"))
                        && appliedOn(c, 2, index, cmd("x")),
                2_000))
        .isTrue();
    assertThat(c.leaders()).containsExactly(leader);
    assertThat(c.propose((leader + 1) % 3, cmd("y"))).isZero();
  }

  @Test
  void aCrashedNodeRestartsFromItsDurableLogAndReapplies() {
    SimCluster c = cluster(3, 2);
    c.runUntil(() -> c.currentLeader() >= 0, 5_000);
    int leader = c.currentLeader();
    long index = c.propose(leader, cmd("durable"));
    c.runFor(500);
    int follower = (leader + 1) % 3;
    assertThat(appliedOn(c, follower, index, cmd("durable"))).isTrue();
    c.crash(follower);
    assertThat(c.isUp(follower)).isFalse();
    assertThat(c.raft(follower)).isNull();
    assertThat(c.durableLog(follower)).hasSizeGreaterThanOrEqualTo((int) index);
    List<Entry> before = c.applied(follower);
    c.restart(follower);
    // A new instance starts a new list, re-applying from index 1 what its disk says is committed.
    assertThat(c.applied(follower)).isNotSameAs(before);
    assertThat(c.applied(follower)).first().extracting(Entry::getIndex).isEqualTo(1L);
    c.runFor(500);
    assertThat(appliedOn(c, follower, index, cmd("durable"))).isTrue();
  }

  @Test
  void aMinorityCannotCommitAndAMajorityCan() {
    SimCluster c = cluster(5, 3);
    c.runUntil(() -> c.currentLeader() >= 0, 5_000);
    int leader = c.currentLeader();
    int other = (leader + 1) % 5;
    int[] minority = {leader, other};
    int[] majority =
        java.util.stream.IntStream.range(0, 5).filter(i -> i != leader && i != other).toArray();
    c.partition(minority, majority);
    long stuck = c.propose(leader, cmd("minority"));
    assertThat(stuck).isPositive();
    c.runFor(2_000);
    assertThat(c.applied(leader)).noneMatch(e -> e.getData().equals(cmd("minority")));
    int newLeader = c.currentLeader();
    assertThat(newLeader).isIn(majority[0], majority[1], majority[2]);
    c.heal();
    assertThat(LivenessCheck.afterHeal(c, "test")).isEmpty();
  }

  @Test
  void aNonTransitivePartitionStillElectsAndCommits() {
    SimCluster c = cluster(3, 4);
    c.cut(0, 2); // 0-1 and 1-2 connected, 0-2 cut
    assertThat(c.network().isConnected(0, 1)).isTrue();
    assertThat(c.network().isConnected(2, 0)).isFalse();
    assertThat(c.runUntil(() -> c.currentLeader() >= 0, 10_000)).isTrue();
    c.link(0, 2);
    assertThat(LivenessCheck.afterHeal(c, "test")).isEmpty();
  }

  @Test
  void countsRequestsNotReplies() {
    SimCluster c = cluster(3, 5);
    c.runUntil(() -> c.currentLeader() >= 0, 5_000);
    c.runFor(100);
    int leader = c.currentLeader();
    c.network().resetCounters();
    c.runFor(1_000);
    // Followers receive heartbeats; the leader receives only replies.
    assertThat(c.rpcCount(leader)).isZero();
    assertThat(c.rpcCount((leader + 1) % 3)).isPositive();
    assertThat(c.totalBytes()).isPositive();
  }

  @Test
  void theUnreliableNetworkStillCommits() {
    SimCluster c = cluster(5, 6);
    c.setUnreliable(true);
    c.setDuplicateProbability(0.2);
    c.runUntil(() -> c.currentLeader() >= 0, 10_000);
    for (int k = 0; k < 30; k++) {
      int l = c.currentLeader();
      if (l >= 0) {
        c.propose(l, cmd("u" + k));
      }
      c.runFor(20);
    }
    c.setUnreliable(false);
    c.setDuplicateProbability(0);
    assertThat(LivenessCheck.afterHeal(c, "test")).isEmpty();
  }
}
