package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import java.util.Arrays;
import java.util.List;

/**
 * Leader Completeness (§5.4, Figure 3): if an entry is committed in a term, it is present in the
 * logs of the leaders of all higher terms. The checker keeps the committed chain (the prefix hash
 * at every index any node has committed, and the term of the node that first committed it); a node
 * that becomes leader of term T must hold that chain's prefix up to the highest index committed in
 * a term below T. (Only below: a vote gathered in term 8 may arrive after term 9's leader committed
 * more, and the late leader of term 8 need not hold it.) A node committing an index must agree with
 * the chain as well: a committed entry, once committed anywhere, never changes.
 */
public final class LeaderCompletenessChecker extends SafetyChecker {
  private final LogHashes[] logs;

  /** committedHashes[i] is the prefix hash of the committed log up to i. */
  private long[] committedHashes = new long[64];

  /** commitTerms[i] is the term of the node that first committed index i. */
  private long[] commitTerms = new long[64];

  private final long[] nodeTerm;

  private int committed;

  public LeaderCompletenessChecker(int nodes) {
    super("Leader Completeness");
    logs = new LogHashes[nodes];
    nodeTerm = new long[nodes];
    for (int i = 0; i < nodes; i++) {
      logs[i] = new LogHashes();
    }
  }

  @Override
  public void entriesPersisted(long time, int node, List<Entry> entries) {
    logs[node].replaceFrom(entries);
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    logs[node].reset(log);
    nodeTerm[node] = hardState.getCurrentTerm();
  }

  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    logs[node].reset(log);
  }

  @Override
  public void commitChanged(long time, int node, long commitIndex) {
    LogHashes log = logs[node];
    if (commitIndex > log.lastIndex()) {
      violation(
          time,
          "node " + node + " commits index " + commitIndex + " beyond its log " + log.lastIndex());
      return;
    }
    long common = Math.min(commitIndex, committed);
    if (log.hash(common) != committedHashes[(int) common]) {
      violation(
          time,
          "node "
              + node
              + " commits index "
              + commitIndex
              + " but its log differs from the committed log at or before index "
              + common);
      return;
    }
    while (committed < commitIndex) {
      committed++;
      if (committed >= committedHashes.length) {
        committedHashes = Arrays.copyOf(committedHashes, committedHashes.length * 2);
        commitTerms = Arrays.copyOf(commitTerms, commitTerms.length * 2);
      }
      committedHashes[committed] = log.hash(committed);
      commitTerms[committed] = nodeTerm[node];
    }
  }

  @Override
  public void roleChanged(long time, int node, Role role, long term) {
    nodeTerm[node] = term;
    if (role != Role.LEADER) {
      return;
    }
    // Usually the top of the chain was committed in a lower term and the scan stops at once.
    int required = committed;
    while (required > 0 && commitTerms[required] >= term) {
      required--;
    }
    LogHashes log = logs[node];
    if (log.lastIndex() < required || log.hash(required) != committedHashes[required]) {
      violation(
          time,
          "node "
              + node
              + " became leader of term "
              + term
              + " without every entry committed in earlier terms (committed up to "
              + required
              + ", its log ends at "
              + log.lastIndex()
              + ")");
    }
  }
}
