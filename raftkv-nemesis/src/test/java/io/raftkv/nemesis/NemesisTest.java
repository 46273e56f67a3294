package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The short CI schedule: 5 real svr nodes, 5 recording clients, and every fault type once, in turn
 * (kill -9 of the leader and of a random node with restart, SIGSTOP/SIGCONT of the leader and of a
 * random node, leader isolated, majority/minority, ring, slow follower, slow majority, a follower
 * stopped until the leader compacted past it, kill -9 of a snapshot's sender and of its receiver
 * mid-transfer, a node replaced, the cluster grown, then shrunk), then the checks. The nodes
 * snapshot every 200 entries, so the other faults meet snapshots too. About 90 s.
 */
class NemesisTest {

  @Test
  @Timeout(300)
  void shortScheduleOfEveryFaultTypeFindsNoViolation() throws Exception {
    ShortRuns.Run run =
        ShortRuns.run(ShortRuns.config(20261122L, FaultType.values().length, Set.of()));
    NemesisRunner.Result r = run.result();
    String log = run.log();

    assertThat(r.violations()).as("violations (history in %s)\n%s", r.historyFile(), log).isEmpty();
    assertThat(r.disturbances()).as("nodes killed from outside the test").isEmpty();
    assertThat(r.linearizability().isOk()).as("linearizability: %s", r.linearizability()).isTrue();
    Set<FaultType> ran = EnumSet.noneOf(FaultType.class);
    r.faults().forEach(f -> ran.add(f.type()));
    assertThat(ran).as(log).containsExactlyInAnyOrder(FaultType.values());
    assertThat(r.acknowledged()).as("acknowledged operations").isGreaterThan(500);
    // The snapshot faults did what they are for: each lagging follower caught up through a
    // snapshot, and each kill landed while a transfer was in flight.
    for (NemesisRunner.FaultRecord f : r.faults()) {
      if (f.type().needsCompaction()) {
        assertThat(f.snapshot().caughtUpBySnapshot()).as("fault %s\n%s", f, log).isTrue();
        if (f.type() != FaultType.STOP_FOLLOWER_PAST_COMPACTION) {
          assertThat(f.snapshot().killedMidTransfer()).as("fault %s\n%s", f, log).isTrue();
        }
      }
    }
    assertThat(r.summary()).endsWith(", 0 violations");
  }
}
