package io.raftkv.raft;

import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;

/**
 * What a node finds on its disk at start: the hard state, where its log starts (the snapshot it was
 * compacted to, §7), the log's entries after {@code offset} (indexes offset+1..n, no gaps; those
 * from {@code snapshot.index + 1} to offset stay on disk, readable through a {@link LogReader}),
 * plus the index its state machine has already applied (0 for a state machine rebuilt from the
 * log).
 *
 * @param offset the last entry left on disk rather than loaded (at most {@code appliedIndex}, at
 *     least {@code snapshot.index})
 * @param offsetTerm the term of the entry at {@code offset} (0 when offset is 0)
 * @param snapshot where the log starts: entries up to {@code snapshot.index} were compacted away
 *     and the state machine holds their effect ({@code appliedIndex >= snapshot.index}); only its
 *     index and term count
 * @param configuration the configuration as of {@code appliedIndex}, as the state machine recorded
 *     it when it applied the last configuration entry or installed a snapshot (dissertation §4.1);
 *     empty (no voters) if it recorded none: then the log's entries loaded from {@code offset + 1}
 *     on, over the bootstrap configuration, say which configuration is in effect
 */
public record PersistentState(
    HardState hardState,
    List<Entry> entries,
    long appliedIndex,
    long offset,
    long offsetTerm,
    SnapshotMeta snapshot,
    ConfState configuration) {

  /** A log that may start after a snapshot, with no configuration recorded. */
  public PersistentState(
      HardState hardState,
      List<Entry> entries,
      long appliedIndex,
      long offset,
      long offsetTerm,
      SnapshotMeta snapshot) {
    this(
        hardState,
        entries,
        appliedIndex,
        offset,
        offsetTerm,
        snapshot,
        ConfState.getDefaultInstance());
  }

  /** The same state, with the configuration the state machine recorded as of its applied index. */
  public PersistentState withConfiguration(ConfState recorded) {
    return new PersistentState(
        hardState, entries, appliedIndex, offset, offsetTerm, snapshot, recorded);
  }

  /** The whole log, from index 1. */
  public PersistentState(HardState hardState, List<Entry> entries, long appliedIndex) {
    this(hardState, entries, appliedIndex, 0, 0);
  }

  /** A log never compacted, its first {@code offset} entries left on disk. */
  public PersistentState(
      HardState hardState, List<Entry> entries, long appliedIndex, long offset, long offsetTerm) {
    this(hardState, entries, appliedIndex, offset, offsetTerm, SnapshotMeta.getDefaultInstance());
  }

  public static PersistentState empty() {
    return new PersistentState(HardState.getDefaultInstance(), List.of(), 0);
  }

  public PersistentState {
    entries = List.copyOf(entries);
    if (offset < 0 || offset > appliedIndex) {
      throw new IllegalArgumentException(
          "entries left on disk ("
              + offset
              + ") must be applied ones (applied "
              + appliedIndex
              + ")");
    }
    if (offset < snapshot.getIndex()) {
      throw new IllegalArgumentException(
          "the log starts after index "
              + snapshot.getIndex()
              + " (a snapshot) but entries are loaded from "
              + (offset + 1));
    }
    if (offset == snapshot.getIndex() && offsetTerm != snapshot.getTerm()) {
      throw new IllegalArgumentException(
          "the snapshot at index "
              + offset
              + " has term "
              + snapshot.getTerm()
              + ", not "
              + offsetTerm);
    }
  }
}
