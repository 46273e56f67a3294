package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.raft.PersistentState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulated disk: what survives a crash, and the log the checkers are shown at a restart. */
class SimStorageTest {

  private static Entry entry(long index, long term) {
    return Entry.newBuilder().setIndex(index).setTerm(term).build();
  }

  /**
   * Figure 13, rule 7, across a crash: a follower installs a snapshot whose last entry its log does
   * not hold (a deposed leader's suffix of term 2 where the snapshot has term 3) and crashes before
   * the log's compaction is synced. The restart drops the old suffix; the durable log shown to the
   * checkers (before the restart reconciles it) must not graft that suffix onto the snapshot, a
   * history that never existed (Log Matching would report the node against itself).
   */
  @Test
  void aCrashBeforeTheCompactionIsSyncedShowsTheLogARestartLoads() {
    SimStorage disk = new SimStorage();
    disk.persist(
        HardState.newBuilder().setCurrentTerm(2).build(),
        List.of(entry(1, 1), entry(2, 2), entry(3, 2)),
        true);
    SnapshotMeta meta = SnapshotMeta.newBuilder().setIndex(2).setTerm(3).build();
    disk.saveSnapshot(new SimSnapshot(meta, List.of(entry(1, 1), entry(2, 3)), null));
    disk.compact(meta); // not synced
    disk.crash();

    assertThat(disk.durableLog()).containsExactly(entry(1, 1), entry(2, 3));
    PersistentState restored = disk.restore();
    assertThat(restored.snapshot()).isEqualTo(meta);
    assertThat(restored.entries()).isEmpty();
    assertThat(disk.durableLog()).containsExactly(entry(1, 1), entry(2, 3));
  }

  /** When the log holds the snapshot's last entry, what follows it stays (rule 6). */
  @Test
  void aCrashBeforeTheCompactionKeepsTheSuffixAfterAMatchingEntry() {
    SimStorage disk = new SimStorage();
    disk.persist(
        HardState.newBuilder().setCurrentTerm(2).build(),
        List.of(entry(1, 1), entry(2, 2), entry(3, 2)),
        true);
    SnapshotMeta meta = SnapshotMeta.newBuilder().setIndex(2).setTerm(2).build();
    disk.saveSnapshot(new SimSnapshot(meta, List.of(entry(1, 1), entry(2, 2)), null));
    disk.compact(meta);
    disk.crash();

    assertThat(disk.durableLog()).containsExactly(entry(1, 1), entry(2, 2), entry(3, 2));
    assertThat(disk.restore().entries()).endsWith(entry(2, 2), entry(3, 2));
  }
}
