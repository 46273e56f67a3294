package io.raftkv.sim;

import java.util.List;

/**
 * What one random scenario did and found.
 *
 * @param seed the seed that replays it ({@code build/dev/sim --seed S})
 * @param nodes the cluster size the seed chose
 * @param events simulated events run (ticks and message deliveries)
 * @param simulatedMillis simulated time covered
 */
public record ScenarioResult(
    long seed, int nodes, List<Violation> violations, long events, long simulatedMillis) {

  public ScenarioResult {
    violations = List.copyOf(violations);
  }

  /** The command that replays this scenario. */
  public String replayCommand() {
    return "build/dev/sim --seed " + seed;
  }
}
