package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One seed, one run: the trace of a scenario depends on nothing but its seed. */
class DeterminismTest {

  private static List<String> trace(long seed) {
    List<String> lines = new ArrayList<>();
    ScenarioResult r = new RandomScenario(seed, lines::add, true).run();
    lines.add("events " + r.events() + " at " + r.simulatedMillis());
    return lines;
  }

  @Test
  void theSameSeedGivesTheIdenticalTrace() {
    for (long seed : new long[] {1, 42, 7_777_777}) {
      List<String> first = trace(seed);
      List<String> second = trace(seed);
      assertThat(first.size()).isGreaterThan(100);
      assertThat(second).isEqualTo(first);
    }
  }

  @Test
  void differentSeedsGiveDifferentTraces() {
    assertThat(trace(1)).isNotEqualTo(trace(2));
  }

  @Test
  void theSameClusterSeedGivesTheSameCountersAndLogs() {
    long[] bytes = new long[2];
    List<List<String>> logs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      SimCluster c = new SimCluster(SimConfig.defaults(5), 99);
      List<String> lines = new ArrayList<>();
      c.addObserver(TraceRecorder.into(lines));
      c.setUnreliable(true);
      c.setLongReordering(true);
      c.setDuplicateProbability(0.1);
      c.runUntil(() -> c.currentLeader() >= 0, 10_000);
      for (int k = 0; k < 20; k++) {
        int l = Math.max(0, c.currentLeader());
        c.propose(l, com.google.protobuf.ByteString.copyFromUtf8("cmd" + k));
        c.runFor(37);
      }
      c.runFor(3_000);
      bytes[run] = c.totalBytes();
      logs.add(lines);
    }
    assertThat(bytes[1]).isEqualTo(bytes[0]);
    assertThat(logs.get(1)).isEqualTo(logs.get(0));
  }
}
