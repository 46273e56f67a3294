package io.raftkv.node;

/**
 * When a node snapshots its state machine and compacts its log (§7): every {@code snapshotEntries}
 * applied entries it makes the state machine's state durable as a snapshot and drops the log up to
 * {@code catchupEntries} entries before it, so that a follower that lags by less still catches up
 * from the log rather than by a snapshot (etcd keeps 5,000; hashicorp/raft 10,240). The log then
 * holds between {@code catchupEntries} and {@code catchupEntries + snapshotEntries} entries (plus
 * those not yet applied), however many are written.
 *
 * @param snapshotEntries applied entries between two snapshots; 0 turns compaction off
 * @param catchupEntries entries kept before the latest snapshot
 */
public record Compaction(long snapshotEntries, long catchupEntries) {

  /** No snapshots: the log grows for ever (the simulator's default, and tests'). */
  public static final Compaction OFF = new Compaction(0, 0);

  public Compaction {
    if (snapshotEntries < 0 || catchupEntries < 0) {
      throw new IllegalArgumentException(
          "snapshot interval and catch-up entries must not be negative: "
              + snapshotEntries
              + ", "
              + catchupEntries);
    }
  }

  public boolean enabled() {
    return snapshotEntries > 0;
  }
}
