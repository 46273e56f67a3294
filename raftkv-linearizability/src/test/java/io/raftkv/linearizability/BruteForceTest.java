package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Small random histories, most of them not linearizable, checked against the definition by brute
 * force: some order of the operations (each unknown-outcome one possibly left out) that respects
 * real time and that the model accepts.
 */
class BruteForceTest {

  private static final String[] VALUES = {"a", "b"};
  private static final String[] READS = {"a", "b", "ab", "ba", "aa", "bb"};

  @Test
  void checkerAgreesWithBruteForceOnSmallRandomHistories() {
    Random random = new Random(2026);
    LinearizabilityChecker checker = LinearizabilityChecker.withBudget(Duration.ofSeconds(10));
    int legal = 0;
    for (int i = 0; i < 10_000; i++) {
      List<Operation<KvInput, KvOutput>> ops = randomHistory(random, 2 + random.nextInt(7));
      boolean expected = linearizable(ops, new boolean[ops.size()], Optional.empty());
      CheckResult.Verdict want = expected ? CheckResult.Verdict.OK : CheckResult.Verdict.ILLEGAL;
      History<KvInput, KvOutput> history = new History<>(ops);
      assertThat(checker.check(new UnreducedKvModel(), history).verdict())
          .as("%s", ops)
          .isEqualTo(want);
      assertThat(checker.check(new KvModel(), history).verdict()).as("%s", ops).isEqualTo(want);
      legal += expected ? 1 : 0;
    }
    assertThat(legal).as("a mix of legal and illegal histories").isBetween(1000, 9000);
  }

  private static List<Operation<KvInput, KvOutput>> randomHistory(Random random, int n) {
    List<Operation<KvInput, KvOutput>> ops = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long call = random.nextInt(20);
      long ret = call + random.nextInt(8);
      KvInput input;
      KvOutput output;
      switch (random.nextInt(4)) {
        case 0:
          input = KvInput.get("x");
          int r = random.nextInt(READS.length + 1);
          output = r == READS.length ? KvOutput.noKey() : KvOutput.value(READS[r]);
          break;
        case 1:
          input = KvInput.put("x", VALUES[random.nextInt(2)]);
          output = KvOutput.ok();
          break;
        case 2:
          input = KvInput.append("x", VALUES[random.nextInt(2)]);
          output = KvOutput.ok();
          break;
        default:
          input = KvInput.delete("x");
          output = random.nextBoolean() ? KvOutput.ok() : KvOutput.noKey();
          break;
      }
      ops.add(
          random.nextInt(6) == 0
              ? Operation.unknown(i, input, call)
              : Operation.completed(i, input, call, ret, output));
    }
    return ops;
  }

  /** Whether the operations not yet {@code placed} can follow, from {@code state}. */
  private static boolean linearizable(
      List<Operation<KvInput, KvOutput>> ops, boolean[] placed, Optional<String> state) {
    boolean onlyUnknownLeft = true;
    for (int i = 0; i < ops.size(); i++) {
      if (!placed[i] && ops.get(i).outcomeKnown()) {
        onlyUnknownLeft = false;
      }
    }
    if (onlyUnknownLeft) {
      return true; // the rest never take effect
    }
    KvModel model = new KvModel();
    for (int i = 0; i < ops.size(); i++) {
      if (placed[i] || !minimal(ops, placed, i)) {
        continue;
      }
      Operation<KvInput, KvOutput> op = ops.get(i);
      Optional<Optional<String>> next = model.step(state, op.input(), op.output());
      if (next.isPresent()) {
        placed[i] = true;
        boolean ok = linearizable(ops, placed, next.get());
        placed[i] = false;
        if (ok) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether no remaining operation returned before {@code i} was called. */
  private static boolean minimal(List<Operation<KvInput, KvOutput>> ops, boolean[] placed, int i) {
    for (int j = 0; j < ops.size(); j++) {
      if (!placed[j] && ops.get(j).returnTime() < ops.get(i).callTime()) {
        return false;
      }
    }
    return true;
  }
}
