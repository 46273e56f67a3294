package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Random histories produced by a sequential store are linearizable; a phantom read is not. */
class RandomHistoriesTest {

  private static final LinearizabilityChecker CHECKER =
      LinearizabilityChecker.withBudget(Duration.ofSeconds(10));

  @ParameterizedTest(name = "{0} ops, {1} clients, {2} keys, jitter {3}, timeouts {4}")
  @CsvSource({
    "300, 5, 1, 10, 0.0",
    "300, 5, 1, 10, 0.02",
    "400, 8, 3, 20, 0.05",
    "1000, 10, 10, 30, 0.02",
    "200, 4, 2, 40, 0.05",
  })
  void generatedHistoriesAreLinearizableAndPhantomReadsAreNot(
      int operations, int clients, int keys, int jitter, double timeoutRate) {
    for (long seed = 0; seed < 20; seed++) {
      History<KvInput, KvOutput> history =
          RandomKvHistory.generate(seed, operations, clients, keys, jitter, timeoutRate);
      CheckResult good = CHECKER.check(new KvModel(), history);
      assertThat(good.verdict()).as("seed %d: %s", seed, good).isEqualTo(CheckResult.Verdict.OK);

      CheckResult bad =
          CHECKER.check(new KvModel(), RandomKvHistory.withPhantomRead(history, (int) seed * 7));
      assertThat(bad.verdict()).as("seed %d: %s", seed, bad).isEqualTo(CheckResult.Verdict.ILLEGAL);
      assertThat(bad.counterexample().orElseThrow().explain()).contains("never-written");

      List<Operation<KvInput, KvOutput>> shuffled = new ArrayList<>(history.operations());
      Collections.shuffle(shuffled, new Random(seed));
      assertThat(CHECKER.check(new KvModel(), new History<>(shuffled)).verdict())
          .isEqualTo(CheckResult.Verdict.OK);
    }
  }

  @ParameterizedTest(name = "{0} ops, {1} clients, {2} keys, timeouts {3}")
  @CsvSource({"100, 4, 1, 0.1", "200, 5, 3, 0.1", "150, 3, 1, 0.2"})
  void withoutTheKvReductionVerdictsAreTheSame(
      int operations, int clients, int keys, double timeoutRate) {
    for (long seed = 100; seed < 120; seed++) {
      History<KvInput, KvOutput> history =
          RandomKvHistory.generate(seed, operations, clients, keys, 8, timeoutRate);
      CheckResult good = CHECKER.check(new UnreducedKvModel(), history);
      assertThat(good.verdict()).as("seed %d: %s", seed, good).isEqualTo(CheckResult.Verdict.OK);
      CheckResult bad =
          CHECKER.check(new UnreducedKvModel(), RandomKvHistory.withPhantomRead(history, 3));
      assertThat(bad.verdict()).as("seed %d: %s", seed, bad).isEqualTo(CheckResult.Verdict.ILLEGAL);
    }
  }
}
