package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import java.util.Arrays;
import java.util.List;

/**
 * Leader Append-Only (§5.3, Figure 3): a leader never overwrites or deletes entries in its log; it
 * only appends. Checked on what each leader writes to its disk during its term.
 */
public final class LeaderAppendOnlyChecker extends SafetyChecker {
  private final long[] lastIndex;

  /** The term in which each node is leader, or -1. */
  private final long[] leaderTerm;

  public LeaderAppendOnlyChecker(int nodes) {
    super("Leader Append-Only");
    lastIndex = new long[nodes];
    leaderTerm = new long[nodes];
    Arrays.fill(leaderTerm, -1);
  }

  @Override
  public void roleChanged(long time, int node, Role role, long term) {
    leaderTerm[node] = role == Role.LEADER ? term : -1;
  }

  @Override
  public void entriesPersisted(long time, int node, List<Entry> entries) {
    long first = entries.get(0).getIndex();
    if (leaderTerm[node] >= 0 && first <= lastIndex[node]) {
      violation(
          time,
          "leader "
              + node
              + " of term "
              + leaderTerm[node]
              + " rewrote its log from index "
              + first
              + " (its log ended at "
              + lastIndex[node]
              + ")");
    }
    lastIndex[node] = entries.get(entries.size() - 1).getIndex();
  }

  @Override
  public void crashed(long time, int node) {
    leaderTerm[node] = -1;
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    leaderTerm[node] = -1;
    lastIndex[node] = log.size();
  }

  /** Only a follower installs a snapshot: a leader that did would have rewritten its log. */
  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    if (leaderTerm[node] >= 0) {
      violation(
          time,
          "leader "
              + node
              + " of term "
              + leaderTerm[node]
              + " installed a snapshot at "
              + snapshotIndex);
    }
    lastIndex[node] = log.size();
  }
}
