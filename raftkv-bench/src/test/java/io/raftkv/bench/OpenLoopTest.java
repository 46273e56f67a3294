package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongUnaryOperator;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.junit.jupiter.api.Test;

/**
 * The open loop on simulated time ({@link FakeTime}, {@link FakeSession}): operations are sent when
 * they are due whatever the completions, and latency runs from the due time.
 */
class OpenLoopTest {
  private static final long MS = 1_000_000;
  private static final long US = 1_000;

  private final FakeTime time = new FakeTime();
  private final FakeSession.Log log = new FakeSession.Log();
  private final Recording recording = new Recording();

  /** All PUTs at {@code rate}/s (evenly spaced), over {@code clients} fake clients. */
  private OpenLoop load(int clients, double rate, int maxOutstanding, LongUnaryOperator service) {
    Arrivals arrivals = new Arrivals(rate, Arrivals.Kind.UNIFORM, maxOutstanding);
    Workload w =
        new Workload(
            clients, 1, Duration.ofSeconds(1), Duration.ZERO, 0, 0, 100, 16, 8, 1, arrivals);
    List<LoadClient> cs = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      cs.add(new LoadClient(new FakeSession(time, log, service), i, 8));
    }
    byte[][] keys = new byte[w.keys()][];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = w.key(i);
    }
    return new OpenLoop(cs, w, arrivals, keys, recording, time);
  }

  private List<Long> sent() {
    return log.ops.stream().map(FakeSession.Op::sent).toList();
  }

  @Test
  void sendsEveryOperationWhenItIsDueWhateverTheCompletions() {
    // 1,000/s for 10 ms; each operation takes 3.5 ms, so up to four are in flight at once.
    OpenLoop loop = load(4, 1000, 100, n -> 3500 * US);

    loop.issue(0, 10 * MS);
    time.runAll();

    assertThat(sent())
        .containsExactly(0L, MS, 2 * MS, 3 * MS, 4 * MS, 5 * MS, 6 * MS, 7 * MS, 8 * MS, 9 * MS);
    assertThat(loop.takeCounts()).isEqualTo(new OpenLoop.Counts(10, 10, 0, 0, 0, 4));
    assertFromDueTime(recording.interval(OpType.PUT, null), List.of(3500L), 10);
  }

  @Test
  void latencyRunsFromTheDueTimeNotFromTheSend() {
    // One client; the first operation stalls 4.5 ms, the others take 0.1 ms. Operations 1-4 fall
    // due during the stall and wait for the client: their waits count.
    OpenLoop loop = load(1, 1000, 100, n -> n == 0 ? 4500 * US : 100 * US);

    loop.issue(0, 10 * MS);
    time.runAll();

    assertThat(sent())
        .containsExactly(
            0L, 4500 * US, 4600 * US, 4700 * US, 4800 * US, 5 * MS, 6 * MS, 7 * MS, 8 * MS, 9 * MS);
    Histogram h = recording.interval(OpType.PUT, null);
    List<Long> fromDue = List.of(4500L, 3600L, 2700L, 1800L, 900L, 100L, 100L, 100L, 100L, 100L);
    assertFromDueTime(h, fromDue);
    // Late: sent 1 ms or more after due (3.5, 2.6 and 1.7 ms; 0.8 ms is not).
    assertThat(loop.takeCounts()).isEqualTo(new OpenLoop.Counts(10, 10, 3, 0, 3500 * US, 5));
  }

  /** The check above tells the corrected latencies from what a closed loop would have measured. */
  @Test
  void theDueTimeCheckRejectsLatenciesMeasuredFromTheSend() {
    OpenLoop loop = load(1, 1000, 100, n -> n == 0 ? 4500 * US : 100 * US);
    loop.issue(0, 10 * MS);
    time.runAll();

    Histogram fromSend = Measurement.newHistogram();
    for (FakeSession.Op op : log.ops) {
      fromSend.recordValue((op.done() - op.sent()) / US);
    }
    List<Long> fromDue = List.of(4500L, 3600L, 2700L, 1800L, 900L, 100L, 100L, 100L, 100L, 100L);
    assertThatThrownBy(() -> assertFromDueTime(fromSend, fromDue))
        .isInstanceOf(AssertionError.class);
  }

  @Test
  void arrivalsBeyondTheOutstandingLimitAreDroppedAndCounted() {
    // One client, at most 3 outstanding: during the 4.5 ms stall, arrivals 1 and 2 wait, 3 and 4
    // are dropped.
    OpenLoop loop = load(1, 1000, 3, n -> n == 0 ? 4500 * US : 100 * US);

    loop.issue(0, 10 * MS);
    time.runAll();

    assertThat(sent())
        .containsExactly(0L, 4500 * US, 4600 * US, 5 * MS, 6 * MS, 7 * MS, 8 * MS, 9 * MS);
    OpenLoop.Counts c = loop.takeCounts();
    assertThat(c.due()).isEqualTo(10);
    assertThat(c.sent()).isEqualTo(8);
    assertThat(c.dropped()).isEqualTo(2);
    assertThat(c.peakOutstanding()).isEqualTo(3);
    assertThat(recording.interval(OpType.PUT, null).getTotalCount()).isEqualTo(8);
  }

  @Test
  void aStopLeavesTheBacklogUnsentAndCountsIt() {
    OpenLoop loop = load(1, 1000, 100, n -> n == 0 ? 4500 * US : 100 * US);

    loop.issue(0, 4 * MS + 1); // due at 0..4 ms; 1-4 wait behind the stall
    loop.stop();
    time.runAll();

    assertThat(loop.abandoned()).isEqualTo(4);
    assertThat(sent()).containsExactly(0L);
    assertThat(loop.inFlight()).isZero();
  }

  @Test
  void aSessionThatCompletesAtOnceIsLoopedNotRecursed() {
    Arrivals arrivals = new Arrivals(1e9, Arrivals.Kind.UNIFORM, 10);
    Workload w =
        new Workload(1, 1, Duration.ofSeconds(1), Duration.ZERO, 0, 0, 1, 16, 8, 1, arrivals);
    Target.Session instant =
        new FakeSession(time, log, n -> 0) {
          @Override
          public java.util.concurrent.CompletableFuture<?> putAsync(byte[] k, byte[] v) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
          }
        };
    OpenLoop loop =
        new OpenLoop(
            List.of(new LoadClient(instant, 1, 8)),
            w,
            arrivals,
            new byte[][] {w.key(0)},
            recording,
            time);

    loop.issue(0, 200_000); // 200,000 arrivals, 1 ns apart, all at time 0 for the clock
    assertThat(recording.interval(OpType.PUT, null).getTotalCount()).isEqualTo(200_000);
  }

  /**
   * Asserts that {@code h} holds exactly these latencies (microseconds, within the histogram's
   * precision), each {@code times} times.
   */
  static void assertFromDueTime(Histogram h, List<Long> expectedMicros, int times) {
    List<Long> all = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      all.addAll(expectedMicros);
    }
    assertFromDueTime(h, all);
  }

  static void assertFromDueTime(Histogram h, List<Long> expectedMicros) {
    List<Long> recorded = new ArrayList<>();
    for (HistogramIterationValue v : h.recordedValues()) {
      for (long i = 0; i < v.getCountAtValueIteratedTo(); i++) {
        recorded.add(v.getValueIteratedTo());
      }
    }
    List<Long> expected = expectedMicros.stream().sorted().toList();
    assertThat(recorded).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(h.valuesAreEquivalent(recorded.get(i), expected.get(i)))
          .as("latency %d: recorded %d µs, expected %d µs", i, recorded.get(i), expected.get(i))
          .isTrue();
    }
  }
}
