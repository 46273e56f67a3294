package io.raftkv.sim;

import java.util.ArrayList;
import java.util.List;

/**
 * A checker of one property, fed by the cluster's trace. It records violations rather than throw,
 * so one run reports everything it found along with the seed that replays it.
 *
 * <p>Thread-safety: none; called on the simulation thread.
 */
public abstract class SafetyChecker implements ClusterObserver {
  private final String property;
  private final List<Violation> violations = new ArrayList<>();

  protected SafetyChecker(String property) {
    this.property = property;
  }

  public String property() {
    return property;
  }

  public List<Violation> violations() {
    return List.copyOf(violations);
  }

  protected void violation(long time, String detail) {
    // A broken invariant tends to repeat on every later event: keep the first few.
    if (violations.size() < 20) {
      violations.add(new Violation(property, detail, time));
    }
  }
}
