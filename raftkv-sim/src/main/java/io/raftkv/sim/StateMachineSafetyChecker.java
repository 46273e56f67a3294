package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import java.util.ArrayList;
import java.util.List;

/**
 * State Machine Safety (§5.4.3, Figure 3): if a server has applied a log entry at a given index, no
 * other server ever applies a different entry for that index. Also checks that each state machine
 * instance applies in order without gaps (a restarted instance starts again from index 1, or after
 * the snapshot it was loaded from, whose entries are checked as if applied then).
 */
public final class StateMachineSafetyChecker extends SafetyChecker {
  /** appliedAt.get(i - 1) is the entry first applied at index i anywhere. */
  private final List<Entry> appliedAt = new ArrayList<>();

  private final long[] nextIndex;

  public StateMachineSafetyChecker(int nodes) {
    super("State Machine Safety");
    nextIndex = new long[nodes];
    java.util.Arrays.fill(nextIndex, 1);
  }

  @Override
  public void entryApplied(long time, int node, Entry entry) {
    long index = entry.getIndex();
    if (index != nextIndex[node]) {
      violation(
          time,
          "node " + node + " applied index " + index + " when " + nextIndex[node] + " was next");
    }
    nextIndex[node] = index + 1;
    if (index <= appliedAt.size()) {
      Entry first = appliedAt.get((int) index - 1);
      if (!first.equals(entry)) {
        violation(
            time,
            "node "
                + node
                + " applied an entry of term "
                + entry.getTerm()
                + " at index "
                + index
                + " where another node applied one of term "
                + first.getTerm()
                + (first.getTerm() == entry.getTerm() ? " with different data" : ""));
      }
    } else if (index == appliedAt.size() + 1) {
      appliedAt.add(entry);
    }
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    nextIndex[node] = 1;
  }

  /**
   * A state machine loaded from a snapshot holds the effect of its entries: each must be the one
   * applied at its index everywhere (a wrong snapshot is caught like a wrong entry).
   */
  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    nextIndex[node] = 1;
    for (Entry e : log.subList(0, (int) snapshotIndex)) {
      entryApplied(time, node, e);
    }
  }
}
