package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pathological histories: the budget must yield UNKNOWN instead of a hang. */
class BudgetTest {

  private static final Duration BUDGET = Duration.ofMillis(500);
  private static final Duration MARGIN = Duration.ofMillis(1500);

  /**
   * On each key, {@code writers} puts of distinct values all concurrent with a read of a value
   * never written: to prove it illegal the search must try every subset of the puts (2^writers
   * configurations).
   */
  private static History<KvInput, KvOutput> pathological(int keys, int writers) {
    List<Operation<KvInput, KvOutput>> ops = new ArrayList<>();
    for (int k = 0; k < keys; k++) {
      for (int w = 0; w < writers; w++) {
        ops.add(Kv.put(w, "k" + k, "v" + w, 0, 1000));
      }
      ops.add(Kv.get(writers, "k" + k, "never written", 0, 1000));
    }
    return new History<>(ops);
  }

  @Test
  void hugePathologicalHistoryIsUnknownWithinTheBudget() {
    CheckResult result =
        LinearizabilityChecker.withBudget(BUDGET)
            .parallelism(4)
            .check(new KvModel(), pathological(8, 100));
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.UNKNOWN);
    assertThat(result.undecidedPartitions()).hasSize(8);
    assertThat(result.elapsed()).isLessThan(BUDGET.plus(MARGIN));
    System.out.println("pathological, 4 threads: " + result);
  }

  @Test
  void budgetHoldsInTheCallersThreadToo() {
    CheckResult result =
        LinearizabilityChecker.withBudget(BUDGET)
            .parallelism(1)
            .check(new KvModel(), pathological(3, 200));
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.UNKNOWN);
    assertThat(result.elapsed()).isLessThan(BUDGET.plus(MARGIN));
  }

  @Test
  void stateLimitYieldsUnknown() {
    CheckResult result =
        LinearizabilityChecker.withBudget(Duration.ofSeconds(30))
            .maxStatesPerPartition(10_000)
            .check(new KvModel(), pathological(1, 100));
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.UNKNOWN);
    assertThat(result.elapsed()).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void anIllegalPartitionWinsOverUndecidedOnes() {
    List<Operation<KvInput, KvOutput>> ops = new ArrayList<>(pathological(2, 100).operations());
    ops.add(Kv.put(1, "bad", "a", 0, 10));
    ops.add(Kv.getMissing(2, "bad", 20, 30));
    CheckResult result =
        LinearizabilityChecker.withBudget(BUDGET).check(new KvModel(), new History<>(ops));
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.ILLEGAL);
    assertThat(result.counterexample().orElseThrow().partition()).isEqualTo("bad");
  }
}
