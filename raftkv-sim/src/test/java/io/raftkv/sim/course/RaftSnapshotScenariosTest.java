package io.raftkv.sim.course;

import static io.raftkv.sim.course.RaftElectionScenariosTest.seed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.raftkv.node.Compaction;
import io.raftkv.sim.SimSnapshot;
import org.junit.jupiter.api.Test;

/**
 * The course's snapshot scenarios (2D) on the simulator: servers snapshot every few applied entries
 * and compact their logs (§7); the persisted log stays small, followers that fell behind the
 * compacted log catch up through InstallSnapshot, and restarts come back from snapshot plus log.
 */
class RaftSnapshotScenariosTest {

  /** The labs' SnapShotInterval: their applier snapshots every 10 applied entries. */
  static final int SNAPSHOT_INTERVAL = 10;

  /**
   * As the labs' applier: a snapshot every 10 applied entries, and no entries kept before it (their
   * Snapshot(index) trims the log through the index). Keeping none is what makes a follower that
   * missed anything a snapshot covers need InstallSnapshot, which the install variants are about.
   */
  static final Compaction COMPACTION = new Compaction(SNAPSHOT_INTERVAL, 0);

  /**
   * The labs' MAXLOGSIZE: the persisted Raft state of any server stays under 2,000 bytes. Our
   * entries of the labs' small commands take about 18 bytes, so that is about 110 entries:
   * compacting every 10 keeps the log under 450 bytes, never compacting passes the bound about
   * half-way through SnapshotBasic's 30 rounds.
   */
  static final long MAX_LOG_SIZE = 2_000;

  /** SnapshotBasic (3): the shared loop without faults; every follower keeps up from the log. */
  @Test
  void snapshotBasic() {
    snapcommon(seed(31), false, true, false, COMPACTION);
  }

  /** SnapshotInstall (3): a victim cut off each round catches up, by snapshot when it must. */
  @Test
  void snapshotInstall() {
    snapcommon(seed(32), true, true, false, COMPACTION);
  }

  /** SnapshotInstallUnreliable (3): the same on the unreliable network. */
  @Test
  void snapshotInstallUnreliable() {
    snapcommon(seed(33), true, false, false, COMPACTION);
  }

  /** SnapshotInstallCrash (3): the victim crashes each round and restarts from its disk. */
  @Test
  void snapshotInstallCrash() {
    snapcommon(seed(34), false, true, true, COMPACTION);
  }

  /** SnapshotInstallUnCrash (3): crashes on the unreliable network. */
  @Test
  void snapshotInstallUnCrash() {
    snapcommon(seed(35), false, false, true, COMPACTION);
  }

  /**
   * The labs' snapcommon: 30 rounds. The victim is a follower, except every third round, when it is
   * the leader and the commands go to a follower (Start fails there unless it has since been
   * elected). Per round: cut off or crash the victim and commit one on the other two; Start 5-14
   * commands on the sender without waiting; commit one more on the servers up; check the persisted
   * log's size; bring the victim back and commit one on all three.
   */
  private static void snapcommon(
      long seed, boolean disconnect, boolean reliable, boolean crash, Compaction compaction) {
    int servers = 3;
    try (LabHarness h = new LabHarness(servers, !reliable, seed, compaction)) {
      h.one(h.randomCmd(), servers, true);
      int leader1 = h.checkOneLeader();

      for (int i = 0; i < 30; i++) {
        int victim = (leader1 + 1) % servers;
        int sender = leader1;
        if (i % 3 == 1) {
          sender = (leader1 + 1) % servers;
          victim = leader1;
        }

        if (disconnect) {
          h.disconnect(victim);
          h.one(h.randomCmd(), servers - 1, true);
        }
        if (crash) {
          h.crash(victim);
          h.one(h.randomCmd(), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot.
        int nn = SNAPSHOT_INTERVAL / 2 + h.random.nextInt(SNAPSHOT_INTERVAL);
        for (int k = 0; k < nn; k++) {
          h.startCommand(sender, h.randomCmd());
        }

        // Let the appliers catch up with the Starts; without faults make sure every follower has,
        // so that SnapshotBasic needs no InstallSnapshot.
        if (!disconnect && !crash) {
          h.one(h.randomCmd(), servers, true);
        } else {
          h.one(h.randomCmd(), servers - 1, true);
        }

        long size = h.logSize();
        if (size >= MAX_LOG_SIZE) {
          fail("log size too large: %d bytes >= %d%s", size, MAX_LOG_SIZE, h.replay());
        }

        if (disconnect || crash) {
          // The victim's log ends before the point the others compacted their logs to: only a
          // snapshot can catch it up.
          boolean needsSnapshot = lastLogIndex(h, victim) < compactedTo(h, victim);
          long installed = h.cluster.snapshotsInstalled();
          if (disconnect) {
            h.connect(victim);
          } else {
            h.start(victim);
            h.connect(victim);
          }
          h.one(h.randomCmd(), servers, true);
          if (needsSnapshot) {
            assertThat(h.cluster.snapshotsInstalled())
                .as("round %d: victim %d caught up by InstallSnapshot%s", i, victim, h.replay())
                .isGreaterThan(installed);
          }
          leader1 = h.checkOneLeader();
        }
      }

      if (disconnect || crash) {
        assertThat(h.cluster.snapshotsInstalled())
            .as("snapshots installed" + h.replay())
            .isPositive();
      } else {
        assertThat(h.cluster.snapshotsInstalled())
            .as("no faults, so every follower kept up from the log" + h.replay())
            .isZero();
      }
    }
  }

  /** The last index in server {@code i}'s log (its durable log while it is down). */
  private static long lastLogIndex(LabHarness h, int i) {
    return h.up(i) ? h.lastIndex(i) : h.cluster.durableLog(i).size();
  }

  /**
   * The lowest index the servers other than {@code victim} compacted their logs to: a leader among
   * them can send entries after it, and needs a snapshot for a follower whose log ends before it.
   */
  private static long compactedTo(LabHarness h, int victim) {
    long to = Long.MAX_VALUE;
    for (int j = 0; j < h.n; j++) {
      if (j != victim) {
        to = Math.min(to, h.cluster.raft(j).status().snapshotIndex());
      }
    }
    return to;
  }

  /**
   * SnapshotAllCrash (3): five rounds of committing 5-14 commands, crashing and restarting all
   * three; the next command lands after every one committed before (snapshot and log restored).
   */
  @Test
  void snapshotAllCrash() {
    int servers = 3;
    try (LabHarness h = new LabHarness(servers, false, seed(36), COMPACTION)) {
      h.one(h.randomCmd(), servers, true);
      for (int i = 0; i < 5; i++) {
        // Perhaps enough to get a snapshot.
        int nn = SNAPSHOT_INTERVAL / 2 + h.random.nextInt(SNAPSHOT_INTERVAL);
        for (int k = 0; k < nn; k++) {
          h.one(h.randomCmd(), servers, true);
        }
        long index1 = h.one(h.randomCmd(), servers, true);

        crashAndRestartAll(h);

        long index2 = h.one(h.randomCmd(), servers, true);
        assertThat(index2)
            .as("index decreased from %d to %d%s", index1, index2, h.replay())
            .isGreaterThan(index1);
      }
      assertThat(h.cluster.snapshot(0)).as("a snapshot was taken" + h.replay()).isNotNull();
    }
  }

  /**
   * SnapshotInit (3): commit enough for a snapshot, crash and restart all, commit one (written back
   * to disk), crash and restart all again, commit one. Each restarted server starts from its
   * snapshot, not from index 0, and never applies again an entry the snapshot covers (the State
   * Machine Safety checker, the labs' lastApplied check, fails the test at once if it does).
   */
  @Test
  void snapshotInit() {
    int servers = 3;
    try (LabHarness h = new LabHarness(servers, false, seed(37), COMPACTION)) {
      h.one(h.randomCmd(), servers, true);
      // Enough ops to make a snapshot.
      for (int i = 0; i < SNAPSHOT_INTERVAL + 1; i++) {
        h.one(h.randomCmd(), servers, true);
      }

      crashAndRestartAll(h);
      assertStartedFromSnapshot(h);
      // A single op, to get something written back to persistent storage.
      h.one(h.randomCmd(), servers, true);

      crashAndRestartAll(h);
      assertStartedFromSnapshot(h);
      // Another op, to trigger a snapshot lost by the write-back.
      h.one(h.randomCmd(), servers, true);
    }
  }

  private static void crashAndRestartAll(LabHarness h) {
    for (int i = 0; i < h.n; i++) {
      h.crash(i);
    }
    for (int i = 0; i < h.n; i++) {
      h.start(i);
      h.connect(i);
    }
  }

  private static void assertStartedFromSnapshot(LabHarness h) {
    for (int i = 0; i < h.n; i++) {
      SimSnapshot snapshot = h.cluster.snapshot(i);
      assertThat(snapshot).as("server %d has a snapshot%s", i, h.replay()).isNotNull();
      assertThat(snapshot.meta().getIndex()).isPositive();
      assertThat(h.appliedAtStart(i))
          .as("server %d's applied index at restart%s", i, h.replay())
          .isEqualTo(snapshot.meta().getIndex());
    }
  }

  // ---------------------------------------------------------------- the harness can fail

  /** Without compaction the persisted log passes the labs' bound: the size check can fail. */
  @Test
  void aServerThatNeverCompactsFailsTheLogSizeBound() {
    assertThatThrownBy(() -> snapcommon(seed(31), false, true, false, Compaction.OFF))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("log size too large");
  }
}
