package io.raftkv.sim.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.sim.ScenarioResult;
import io.raftkv.sim.SoakRunner;
import io.raftkv.sim.Violation;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Random KV scenarios ({@code build/dev/sim --kv}): healthy ones keep every property ({@code
 * -Dsim.kvSeeds=N}, default 100), the same seed gives the same run, and the checks find a
 * deliberately broken runtime or client (a check that cannot fail proves nothing).
 */
class RandomKvScenarioTest {

  @Test
  void randomKvScenariosKeepEveryProperty() {
    int count = Integer.getInteger("sim.kvSeeds", 100);
    long base = Long.getLong("sim.baseSeed", 20261129L);
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    List<ScenarioResult> results =
        SoakRunner.run(SoakRunner.seeds(base, count), threads, s -> new RandomKvScenario(s).run());
    String failures =
        results.stream()
            .filter(r -> !r.violations().isEmpty())
            .map(r -> r.violations().get(0) + "\n  replay: " + r.replayCommand())
            .collect(Collectors.joining("\n"));
    assertThat(failures).as("violations (base seed %d)", base).isEmpty();
    assertThat(results).hasSize(count);
  }

  @Test
  void theSameSeedGivesTheSameRun() {
    List<List<String>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      List<String> lines = new ArrayList<>();
      ScenarioResult r = new RandomKvScenario(77, lines::add).run();
      lines.add("events " + r.events() + " at " + r.simulatedMillis());
      runs.add(lines);
    }
    assertThat(runs.get(0).size()).isGreaterThan(10);
    assertThat(runs.get(1)).isEqualTo(runs.get(0));
  }

  /** GETs served from local state without ReadIndex: some seed finds a stale read. */
  @Test
  void readsWithoutReadIndexAreFound() {
    assertThat(brokenRuns(SimKvCluster::breakReadsForTesting, "Linearizability"))
        .extracting(Violation::property)
        .contains("Linearizability");
  }

  /** Retries without a session: some seed finds an append applied twice. */
  @Test
  void retriesWithoutASessionAreFound() {
    assertThat(brokenRuns(SimKvCluster::breakSessionsForTesting, "Exactly-once"))
        .extracting(Violation::property)
        .contains("Exactly-once");
  }

  /** Snapshots that lose the user's keys on the way: some seed finds the loss. */
  @Test
  void snapshotsThatLoseDataAreFound() {
    assertThat(brokenRuns(SimKvCluster::breakSnapshotsForTesting, null))
        .extracting(Violation::property)
        .containsAnyOf("Linearizability", "Convergence");
  }

  /**
   * The violations of the first of seeds 1-40 whose broken run finds {@code property} (any
   * violation when null).
   */
  private static List<Violation> brokenRuns(Consumer<SimKvCluster> breakIt, String property) {
    for (long seed = 1; seed <= 40; seed++) {
      RandomKvScenario s = new RandomKvScenario(seed);
      breakIt.accept(s.cluster());
      List<Violation> found = s.run().violations();
      if (found.stream().anyMatch(v -> property == null || v.property().equals(property))) {
        return found;
      }
    }
    return List.of();
  }
}
