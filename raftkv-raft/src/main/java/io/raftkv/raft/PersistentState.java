package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import java.util.List;

/**
 * What a node finds on its disk at start: the hard state and the log's entries after {@code offset}
 * (indexes offset+1..n, no gaps; the ones up to offset stay on disk, readable through a {@link
 * LogReader}), plus the index its state machine has already applied (0 for a state machine rebuilt
 * from the log).
 *
 * @param offset how many leading entries were left on disk (at most {@code appliedIndex})
 * @param offsetTerm the term of the entry at {@code offset} (0 when offset is 0)
 */
public record PersistentState(
    HardState hardState, List<Entry> entries, long appliedIndex, long offset, long offsetTerm) {

  /** The whole log, from index 1. */
  public PersistentState(HardState hardState, List<Entry> entries, long appliedIndex) {
    this(hardState, entries, appliedIndex, 0, 0);
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
  }
}
