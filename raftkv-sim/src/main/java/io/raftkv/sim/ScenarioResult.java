package io.raftkv.sim;

import java.util.List;

/**
 * What one random scenario did and found.
 *
 * @param seed the seed that replays it ({@code build/dev/sim --seed S})
 * @param nodes the cluster size the seed chose
 * @param events simulated events run (ticks and message deliveries)
 * @param simulatedMillis simulated time covered
 * @param kv whether it was a KV scenario (nodes with the KV service, clients, histories)
 * @param snapshotsInstalled snapshots followers installed from their leader (§7)
 */
public record ScenarioResult(
    long seed,
    int nodes,
    List<Violation> violations,
    long events,
    long simulatedMillis,
    boolean kv,
    long snapshotsInstalled) {

  public ScenarioResult {
    violations = List.copyOf(violations);
  }

  /** A core scenario's result. */
  public ScenarioResult(
      long seed, int nodes, List<Violation> violations, long events, long simulatedMillis) {
    this(seed, nodes, violations, events, simulatedMillis, false, 0);
  }

  /** The command that replays this scenario. */
  public String replayCommand() {
    return "build/dev/sim " + (kv ? "--kv " : "") + "--seed " + seed;
  }
}
