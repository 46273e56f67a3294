package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A history the size of a benchmark run checks in well under a few seconds. */
class PerformanceTest {

  @Test
  void tenThousandOperationsOverFiftyKeysFromTenClients() {
    History<KvInput, KvOutput> history = RandomKvHistory.generate(42, 10_000, 10, 50, 20, 0.01);
    KvModel model = new KvModel();
    LinearizabilityChecker checker = LinearizabilityChecker.withBudget(Duration.ofSeconds(30));
    checker.check(model, history); // warm-up

    CheckResult parallel = checker.check(model, history);
    CheckResult sequential = checker.parallelism(1).check(model, history);
    System.out.println("10,000 ops / 50 keys / 10 clients, parallel: " + parallel);
    System.out.println("10,000 ops / 50 keys / 10 clients, 1 thread: " + sequential);
    assertThat(parallel.verdict()).isEqualTo(CheckResult.Verdict.OK);
    assertThat(sequential.verdict()).isEqualTo(CheckResult.Verdict.OK);
    assertThat(parallel.partitions()).isEqualTo(50);
    assertThat(parallel.elapsed()).isLessThan(Duration.ofSeconds(3));
    assertThat(sequential.elapsed()).isLessThan(Duration.ofSeconds(3));

    CheckResult bad = checker.check(model, RandomKvHistory.withPhantomRead(history, 5000));
    System.out.println("with a phantom read: " + bad.verdict() + " in " + bad.elapsed());
    assertThat(bad.verdict()).isEqualTo(CheckResult.Verdict.ILLEGAL);
    assertThat(bad.elapsed()).isLessThan(Duration.ofSeconds(3));
  }

  @Test
  void oneHotKeyWithManyConcurrentClients() {
    // Every operation on one key, each concurrent with ~10 others: the search's cost grows
    // exponentially with that width (e.g. concurrent reads of one value in any order), so much
    // wider windows than this get slow.
    History<KvInput, KvOutput> history = RandomKvHistory.generate(7, 3_000, 10, 1, 10, 0.01);
    CheckResult result =
        LinearizabilityChecker.withBudget(Duration.ofSeconds(30)).check(new KvModel(), history);
    System.out.println("3,000 ops / 1 key / 10 clients / jitter 10: " + result);
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.OK);
    assertThat(result.elapsed()).isLessThan(Duration.ofSeconds(3));
  }
}
