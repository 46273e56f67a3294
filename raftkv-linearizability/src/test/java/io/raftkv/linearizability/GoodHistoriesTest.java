package io.raftkv.linearizability;

import static io.raftkv.linearizability.Kv.append;
import static io.raftkv.linearizability.Kv.check;
import static io.raftkv.linearizability.Kv.delete;
import static io.raftkv.linearizability.Kv.deleteMissing;
import static io.raftkv.linearizability.Kv.get;
import static io.raftkv.linearizability.Kv.getMissing;
import static io.raftkv.linearizability.Kv.put;
import static io.raftkv.linearizability.Kv.timedOut;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Linearizable histories, which the checker must accept. */
class GoodHistoriesTest {

  @Test
  void emptyHistory() {
    assertThat(check().verdict()).isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void sequentialHistory() {
    CheckResult result =
        check(
            getMissing(1, "x", 0, 1),
            put(1, "x", "a", 2, 3),
            get(2, "x", "a", 4, 5),
            append(1, "x", "b", 6, 7),
            get(2, "x", "ab", 8, 9),
            delete(1, "x", 10, 11),
            deleteMissing(2, "x", 12, 13),
            getMissing(1, "x", 14, 15),
            append(2, "x", "c", 16, 17),
            get(1, "x", "c", 18, 19));
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void concurrentWritesReadInEitherOrder() {
    // Two overlapping puts: readers may see them in either order, as long as they agree.
    assertThat(
            check(
                    put(1, "x", "a", 0, 10),
                    put(2, "x", "b", 0, 10),
                    get(3, "x", "b", 11, 12),
                    get(3, "x", "b", 13, 14))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
    assertThat(
            check(
                    put(1, "x", "a", 0, 10),
                    put(2, "x", "b", 0, 10),
                    get(3, "x", "a", 11, 12),
                    get(4, "x", "a", 13, 14))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void concurrentReadMaySeeOldOrNewValue() {
    // A read overlapping a write, and reads overlapping each other, seeing the old and new value.
    assertThat(
            check(
                    put(1, "x", "a", 0, 1),
                    put(1, "x", "b", 10, 30),
                    get(2, "x", "a", 5, 25),
                    get(3, "x", "b", 12, 20),
                    get(4, "x", "a", 8, 15))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void concurrentAppendsInAnyInterleaving() {
    assertThat(
            check(
                    append(1, "x", "a", 0, 10),
                    append(2, "x", "b", 1, 11),
                    append(3, "x", "c", 2, 12),
                    get(4, "x", "b", 3, 4),
                    get(4, "x", "bca", 13, 14))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void operationsTouchingAtTheSameInstantAreConcurrent() {
    // The get is called at the instant the put returns: it may come first.
    assertThat(check(put(1, "x", "a", 0, 10), getMissing(2, "x", 10, 20)).verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void concurrentDeletesOnlyOneFindsTheKey() {
    assertThat(
            check(
                    put(1, "x", "a", 0, 1),
                    delete(2, "x", 2, 10),
                    deleteMissing(3, "x", 3, 9),
                    getMissing(1, "x", 11, 12))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void timedOutWriteThatApplied() {
    assertThat(
            check(
                    put(1, "x", "a", 0, 10),
                    timedOut(2, KvInput.put("x", "b"), 20),
                    get(3, "x", "a", 25, 30),
                    get(3, "x", "b", 1000, 1010),
                    get(1, "x", "b", 2000, 2010))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void timedOutWriteThatNeverApplied() {
    assertThat(
            check(
                    put(1, "x", "a", 0, 10),
                    timedOut(2, KvInput.put("x", "b"), 20),
                    timedOut(2, KvInput.append("x", "c"), 21),
                    timedOut(2, KvInput.delete("x"), 22),
                    get(3, "x", "a", 25, 30),
                    get(3, "x", "a", 1000, 1010))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void timedOutAppendAppliedOnceAmongOthers() {
    assertThat(
            check(
                    append(1, "x", "a", 0, 10),
                    timedOut(2, KvInput.append("x", "b"), 20),
                    append(1, "x", "c", 30, 40),
                    get(3, "x", "abc", 50, 60))
                .verdict())
        .isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void keysAreIndependent() {
    CheckResult result =
        check(
            put(1, "x", "a", 0, 10),
            put(2, "y", "b", 5, 15),
            get(3, "y", "b", 20, 30),
            get(3, "x", "a", 31, 40),
            getMissing(4, "z", 0, 100));
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.OK);
    assertThat(result.partitions()).isEqualTo(3);
  }
}
