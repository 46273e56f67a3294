package io.raftkv.sim;

import io.raftkv.proto.raft.ConfState;
import java.util.ArrayList;
import java.util.List;

/** Every safety checker, attached to one cluster, with their violations in one list. */
public final class SafetyCheckers {
  private final List<SafetyChecker> checkers;

  private SafetyCheckers(List<SafetyChecker> checkers) {
    this.checkers = checkers;
  }

  /** Creates all the checkers and attaches them to {@code cluster}. */
  public static SafetyCheckers attach(SimCluster cluster) {
    int n = cluster.size();
    SafetyCheckers all =
        new SafetyCheckers(
            List.of(
                new ElectionSafetyChecker(),
                new LeaderAppendOnlyChecker(n),
                new LogMatchingChecker(n),
                new LeaderCompletenessChecker(n),
                new StateMachineSafetyChecker(n),
                new ReadIndexSafetyChecker(),
                new ConfigurationChecker(
                    ConfState.newBuilder()
                        .addAllVoters(SimConfig.voters(cluster.config().initialVoters()))
                        .build())));
    for (SafetyChecker c : all.checkers) {
      cluster.addObserver(c);
    }
    return all;
  }

  public List<SafetyChecker> checkers() {
    return checkers;
  }

  /** Every violation found so far, checker by checker. */
  public List<Violation> violations() {
    List<Violation> out = new ArrayList<>();
    for (SafetyChecker c : checkers) {
      out.addAll(c.violations());
    }
    return out;
  }
}
