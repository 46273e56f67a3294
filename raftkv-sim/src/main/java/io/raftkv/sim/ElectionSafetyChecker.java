package io.raftkv.sim;

import io.raftkv.raft.Role;
import java.util.HashMap;
import java.util.Map;

/** Election Safety (§5.2, Figure 3): at most one leader can be elected in a given term, ever. */
public final class ElectionSafetyChecker extends SafetyChecker {
  private final Map<Long, Integer> leaderOfTerm = new HashMap<>();

  public ElectionSafetyChecker() {
    super("Election Safety");
  }

  @Override
  public void roleChanged(long time, int node, Role role, long term) {
    if (role != Role.LEADER) {
      return;
    }
    Integer earlier = leaderOfTerm.putIfAbsent(term, node);
    if (earlier != null && earlier != node) {
      violation(time, "nodes " + earlier + " and " + node + " were both leader in term " + term);
    }
  }
}
