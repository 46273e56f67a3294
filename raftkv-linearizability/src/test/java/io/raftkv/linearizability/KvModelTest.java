package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KvModelTest {

  private final KvModel model = new KvModel();
  private final Optional<String> absent = Optional.empty();
  private final Optional<String> a = Optional.of("a");

  @Test
  void getReturnsTheValueOrNoKey() {
    assertThat(model.step(a, KvInput.get("k"), KvOutput.value("a"))).contains(a);
    assertThat(model.step(a, KvInput.get("k"), KvOutput.value("b"))).isEmpty();
    assertThat(model.step(a, KvInput.get("k"), KvOutput.noKey())).isEmpty();
    assertThat(model.step(absent, KvInput.get("k"), KvOutput.noKey())).contains(absent);
    assertThat(model.step(absent, KvInput.get("k"), KvOutput.value(""))).isEmpty();
    assertThat(model.step(a, KvInput.get("k"), null)).contains(a);
  }

  @Test
  void putAndAppend() {
    assertThat(model.step(a, KvInput.put("k", "b"), KvOutput.ok())).contains(Optional.of("b"));
    assertThat(model.step(a, KvInput.append("k", "b"), KvOutput.ok())).contains(Optional.of("ab"));
    assertThat(model.step(absent, KvInput.append("k", "b"), KvOutput.ok()))
        .contains(Optional.of("b"));
    assertThat(model.step(a, KvInput.put("k", "b"), KvOutput.noKey())).isEmpty();
    assertThat(model.step(a, KvInput.append("k", "b"), null)).contains(Optional.of("ab"));
  }

  @Test
  void deleteOfAMissingKeyReportsNoKeyAndChangesNothing() {
    assertThat(model.step(a, KvInput.delete("k"), KvOutput.ok())).contains(absent);
    assertThat(model.step(a, KvInput.delete("k"), KvOutput.noKey())).isEmpty();
    assertThat(model.step(absent, KvInput.delete("k"), KvOutput.noKey())).contains(absent);
    assertThat(model.step(absent, KvInput.delete("k"), KvOutput.ok())).isEmpty();
    assertThat(model.step(a, KvInput.delete("k"), null)).contains(absent);
  }

  @Test
  void partitionsByKeyAndDropsGetsOfUnknownOutcome() {
    var ops =
        List.of(
            Kv.put(1, "x", "1", 0, 1),
            Kv.put(1, "y", "1", 2, 3),
            Kv.timedOut(2, KvInput.get("x"), 4),
            Kv.timedOut(2, KvInput.put("x", "2"), 5),
            Kv.get(3, "x", "2", 10, 11));
    var parts = model.partition(ops);
    assertThat(parts).containsOnlyKeys("x", "y");
    assertThat(parts.get("x")).containsExactly(ops.get(0), ops.get(3), ops.get(4));
  }

  @Test
  void partitionDropsTimedOutWritesNothingObserved() {
    var seen = Kv.timedOut(2, KvInput.append("x", "seen;"), 1);
    var unseen = Kv.timedOut(2, KvInput.put("x", "unseen;"), 2);
    var read = Kv.get(1, "x", "a;seen;", 10, 11);
    var ops = List.of(Kv.put(1, "x", "a;", 0, 1), seen, unseen, read);
    assertThat(model.partition(ops).get("x")).containsExactly(ops.get(0), seen, read);
  }

  @Test
  void partitionKeepsTimedOutWritesADeleteMayHaveObserved() {
    var write = Kv.timedOut(2, KvInput.put("x", "a"), 0);
    var delete = Kv.delete(1, "x", 10, 20);
    var earlierDelete = Kv.timedOut(3, KvInput.put("y", "b"), 30);
    var ops = List.of(write, delete, Kv.delete(1, "y", 10, 20), earlierDelete);
    assertThat(model.partition(ops).get("x")).containsExactly(write, delete);
    assertThat(model.partition(ops).get("y")).hasSize(1);
    assertThat(Kv.check(ops).verdict()).isEqualTo(CheckResult.Verdict.ILLEGAL);
    assertThat(Kv.check(List.of(write, delete)).verdict()).isEqualTo(CheckResult.Verdict.OK);
  }
}
