package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.KvException;
import io.raftkv.client.OutcomeUnknownException;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.proto.kvs.Status;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The history checks catch what they are meant to catch, on hand-made histories. */
class ChecksTest {

  private static Op ok(int client, KvInput in, long call, long ret, KvOutput out) {
    return new Op(client, in, call, ret, out, Op.Outcome.OK, null);
  }

  private static Op unknown(int client, KvInput in, long call) {
    return new Op(client, in, call, -1, null, Op.Outcome.UNKNOWN, "timeout");
  }

  @Test
  void acknowledgedAppendMissingFromTheFinalValueIsLost() {
    List<Op> ops =
        List.of(
            ok(0, KvInput.append("k", "[0.1]"), 0, 10, KvOutput.ok()),
            ok(1, KvInput.append("k", "[1.1]"), 5, 15, KvOutput.ok()));
    assertThat(Checks.lostWrites(ops, Map.of("k", "[0.1][1.1]"))).isEmpty();
    assertThat(Checks.lostWrites(ops, Map.of("k", "[0.1]")))
        .singleElement()
        .asString()
        .contains("[1.1]");
    Map<String, String> absent = new HashMap<>();
    absent.put("k", null);
    assertThat(Checks.lostWrites(ops, absent)).hasSize(2);
  }

  @Test
  void appendThatALaterPutMayHaveOverwrittenIsNotLost() {
    List<Op> ops =
        List.of(
            ok(0, KvInput.append("k", "[0.1]"), 0, 10, KvOutput.ok()),
            unknown(1, KvInput.put("k", "[1.1]"), 20),
            ok(2, KvInput.append("k", "[2.1]"), 30, 40, KvOutput.ok()));
    // The put (unknown outcome) may have come after either append: nothing is provably lost.
    assertThat(Checks.lostWrites(ops, Map.of("k", "[1.1]"))).isEmpty();
    // A put that returned before an append was called cannot have overwritten it.
    List<Op> before =
        List.of(
            ok(1, KvInput.put("k", "[1.1]"), 0, 5, KvOutput.ok()),
            ok(2, KvInput.append("k", "[2.1]"), 30, 40, KvOutput.ok()));
    assertThat(Checks.lostWrites(before, Map.of("k", "[1.1]"))).hasSize(1);
  }

  @Test
  void tokenAppliedTwiceIsFound() {
    List<Op> ops =
        List.of(
            ok(0, KvInput.append("k", "[0.1]"), 0, 10, KvOutput.ok()),
            ok(1, KvInput.get("k"), 20, 30, KvOutput.value("[0.1][0.1]")));
    assertThat(Checks.duplicates(ops, Map.of("k", "[0.1]"))).hasSize(1);
    assertThat(Checks.duplicates(List.of(), Map.of("k", "[0.1][1.1][0.1]"))).hasSize(1);
    assertThat(Checks.duplicates(List.of(), Map.of("k", "[0.1][0.11]"))).isEmpty();
  }

  @Test
  void staleReadIsNotLinearizableAndUnknownWritesAreAllowed() {
    List<Op> stale =
        List.of(
            ok(0, KvInput.append("k", "[0.1]"), 0, 10, KvOutput.ok()),
            ok(1, KvInput.get("k"), 20, 30, KvOutput.noKey()));
    assertThat(Checks.linearizability(stale, Duration.ofSeconds(10)).verdict())
        .isEqualTo(CheckResult.Verdict.ILLEGAL);

    List<Op> fine =
        List.of(
            unknown(0, KvInput.append("k", "[0.1]"), 0),
            ok(1, KvInput.get("k"), 20, 30, KvOutput.value("[0.1]")),
            new Op(
                2,
                KvInput.append("k", "[2.1]"),
                21,
                25,
                null,
                Op.Outcome.FAILED,
                "no leader found"),
            ok(1, KvInput.get("k"), 40, 50, KvOutput.value("[0.1]")));
    assertThat(Checks.linearizability(fine, Duration.ofSeconds(10)).isOk()).isTrue();
  }

  @Test
  void onlyGuaranteedFailuresCountAsNotHappened() {
    assertThat(
            Workload.definitelyNotApplied(
                new KvException(Status.UNAVAILABLE, "no leader found within 5000 ms; last: x")))
        .isTrue();
    assertThat(Workload.definitelyNotApplied(new KvException(Status.INVALID_ARGUMENT, "bad")))
        .isTrue();
    assertThat(Workload.definitelyNotApplied(new KvException(Status.INTERNAL, "boom"))).isFalse();
    assertThat(Workload.definitelyNotApplied(new KvException(Status.TIMEOUT, "no answer")))
        .isFalse();
    assertThat(
            Workload.definitelyNotApplied(
                new OutcomeUnknownException(Status.UNAVAILABLE, "no leader found")))
        .isFalse();
  }

  @Test
  void writeStallIsTheLongestGapBetweenAcknowledgedWrites() {
    Workload w =
        new Workload(
            () -> List.of("127.0.0.1:1"),
            ClusterTls.PLAINTEXT::channel,
            1,
            1,
            System::nanoTime,
            8,
            Duration.ofSeconds(5),
            0,
            Duration.ofSeconds(1));
    for (long t : new long[] {100, 150, 400, 420}) {
      w.record(ok(0, KvInput.append("k", "[" + t + "]"), t - 1, t, KvOutput.ok()));
    }
    w.record(ok(0, KvInput.get("k"), 500, 900, KvOutput.noKey()));
    assertThat(w.longestWriteGap(100, 500)).isEqualTo(250);
    assertThat(w.longestWriteGap(0, 1000)).isEqualTo(580);
  }
}
