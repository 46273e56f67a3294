package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Random scenarios with every checker on ({@code -Dsim.seeds=N}, default 1,000; {@code
 * -Dsim.baseSeed=B}). A failure lists the command that replays each failing seed.
 */
class SoakTest {

  @Test
  void randomScenariosKeepEveryProperty() {
    int count = Integer.getInteger("sim.seeds", 1000);
    long base = Long.getLong("sim.baseSeed", 20261122L);
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    List<ScenarioResult> results = SoakRunner.run(SoakRunner.seeds(base, count), threads);
    String failures =
        results.stream()
            .filter(r -> !r.violations().isEmpty())
            .map(r -> r.violations().get(0) + "\n  replay: " + r.replayCommand())
            .collect(Collectors.joining("\n"));
    assertThat(failures).as("violations (base seed %d)", base).isEmpty();
    assertThat(results).hasSize(count);
  }
}
