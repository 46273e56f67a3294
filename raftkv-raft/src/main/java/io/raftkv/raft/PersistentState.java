package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import java.util.List;

/**
 * What a node finds on its disk at start: the hard state and the whole log (indexes 1..n, no gaps),
 * plus the index its state machine has already applied (0 for a state machine rebuilt from the
 * log).
 */
public record PersistentState(HardState hardState, List<Entry> entries, long appliedIndex) {
  public static PersistentState empty() {
    return new PersistentState(HardState.getDefaultInstance(), List.of(), 0);
  }

  public PersistentState {
    entries = List.copyOf(entries);
  }
}
