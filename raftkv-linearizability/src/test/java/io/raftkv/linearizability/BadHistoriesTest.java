package io.raftkv.linearizability;

import static io.raftkv.linearizability.Kv.append;
import static io.raftkv.linearizability.Kv.check;
import static io.raftkv.linearizability.Kv.delete;
import static io.raftkv.linearizability.Kv.get;
import static io.raftkv.linearizability.Kv.getMissing;
import static io.raftkv.linearizability.Kv.put;
import static io.raftkv.linearizability.Kv.timedOut;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Histories that are not linearizable, which the checker must reject and explain. */
class BadHistoriesTest {

  private static Counterexample illegal(CheckResult result) {
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.ILLEGAL);
    assertThat(result.counterexample()).isPresent();
    return result.counterexample().get();
  }

  @Test
  void staleReadAfterACompletedWrite() {
    var write = put(1, "x", "b", 10, 20);
    var staleRead = get(2, "x", "a", 30, 40);
    Counterexample why = illegal(check(put(1, "x", "a", 0, 5), write, staleRead));
    assertThat(why.partition()).isEqualTo("x");
    assertThat(why.longestPrefix()).endsWith(write);
    assertThat(why.stateAfterPrefix()).isEqualTo("\"b\"");
    assertThat(why.rejectedByModel()).containsExactly(staleRead);
    assertThat(why.overdue()).isEqualTo(staleRead);
    assertThat(why.explain()).contains("partition 'x'", "Get(x) -> \"a\"", "rejected by the model");
  }

  @Test
  void readOfMissingKeyAfterCompletedWrite() {
    illegal(check(put(1, "x", "a", 0, 5), getMissing(2, "x", 6, 7)));
  }

  @Test
  void lostAcknowledgedWrite() {
    // Appends a and b both acknowledged, in sequence; the final read lost b.
    Counterexample why =
        illegal(
            check(
                append(1, "x", "a", 0, 5),
                append(2, "x", "b", 6, 10),
                put(3, "y", "unrelated", 0, 10),
                get(3, "x", "a", 20, 30)));
    assertThat(why.partition()).isEqualTo("x");
  }

  @Test
  void lostWriteHiddenBehindConcurrentOnes() {
    // a, b concurrent; c after both; a read after c must see c.
    illegal(
        check(
            put(1, "x", "a", 0, 10),
            put(2, "x", "b", 0, 10),
            put(3, "x", "c", 11, 20),
            get(4, "x", "b", 21, 30)));
  }

  @Test
  void duplicatedAppend() {
    // The append was applied twice (e.g. a retried request executed twice).
    illegal(
        check(append(1, "x", "a", 0, 10), append(2, "x", "b", 0, 10), get(3, "x", "abb", 20, 30)));
  }

  @Test
  void duplicatedTimedOutAppend() {
    // Even an append of unknown outcome takes effect at most once.
    illegal(
        check(
            append(1, "x", "a", 0, 10),
            timedOut(2, KvInput.append("x", "b"), 20),
            get(3, "x", "abb", 30, 40)));
  }

  @Test
  void readOfAValueNeverWritten() {
    Counterexample why =
        illegal(
            check(
                put(1, "x", "a", 0, 10),
                put(2, "x", "b", 5, 15),
                get(3, "x", "zzz", 0, 100),
                put(1, "x", "c", 20, 30)));
    assertThat(why.rejectedByModel()).anyMatch(op -> op.output().equals(KvOutput.value("zzz")));
  }

  @Test
  void nonOverlappingOperationsObservedOutOfRealTimeOrder() {
    // a was appended and acknowledged before b was called: "ba" reverses real time.
    illegal(
        check(append(1, "x", "a", 0, 10), append(2, "x", "b", 20, 30), get(3, "x", "ba", 0, 100)));
    // Two reads in sequence see the two sequential writes in the wrong order.
    illegal(
        check(
            put(1, "x", "a", 0, 10),
            put(1, "x", "b", 20, 30),
            get(2, "x", "b", 0, 40),
            get(2, "x", "a", 50, 60)));
  }

  @Test
  void readsMustAgreeOnTheOrderOfConcurrentWrites() {
    illegal(
        check(
            put(1, "x", "a", 0, 10),
            put(2, "x", "b", 0, 10),
            get(3, "x", "a", 11, 12),
            get(3, "x", "b", 13, 14),
            get(4, "x", "a", 15, 16)));
  }

  @Test
  void timedOutWriteCannotTakeEffectBeforeItsCall() {
    illegal(
        check(
            put(1, "x", "a", 0, 10),
            get(2, "x", "b", 20, 30),
            timedOut(3, KvInput.put("x", "b"), 40)));
  }

  @Test
  void deleteOfAnExistingKeyCannotReportNoKey() {
    illegal(check(put(1, "x", "a", 0, 10), Kv.deleteMissing(2, "x", 20, 30)));
  }

  @Test
  void deleteMustRemoveTheKey() {
    illegal(check(put(1, "x", "a", 0, 10), delete(2, "x", 20, 30), get(1, "x", "a", 40, 50)));
  }

  @Test
  void oneBadKeyAmongManyGoodOnes() {
    var ops = new java.util.ArrayList<Operation<KvInput, KvOutput>>();
    for (int k = 0; k < 20; k++) {
      ops.add(put(1, "k" + k, "v", 10 * k, 10 * k + 5));
      ops.add(get(2, "k" + k, "v", 10 * k + 6, 10 * k + 9));
    }
    ops.add(getMissing(3, "k7", 1000, 1001));
    assertThat(illegal(check(ops)).partition()).isEqualTo("k7");
  }
}
