package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Where a load records its operations: one HdrHistogram {@link Recorder} of latencies
 * (microseconds) per operation type, error counts per type since the last interval, up to ten
 * sample errors, and the successes so far.
 *
 * <p>Thread-safe: operations complete on any thread; {@link #interval} and {@link #takeErrors} are
 * for the one thread that ticks.
 */
final class Recording {
  private final Recorder[] recorders = new Recorder[OpType.values().length];
  private final AtomicLongArray errors = new AtomicLongArray(OpType.values().length);
  private final List<String> sampleErrors = new ArrayList<>();
  private final LongAdder completed = new LongAdder();

  Recording() {
    for (OpType op : OpType.values()) {
      recorders[op.ordinal()] = new Recorder(3_600_000_000L, 3);
    }
  }

  /** A success that took {@code nanos} (recorded in microseconds, at least 1). */
  void success(OpType op, long nanos) {
    recorders[op.ordinal()].recordValue(Math.max(1, nanos / 1000));
    completed.increment();
  }

  void error(OpType op, Throwable e) {
    errors.incrementAndGet(op.ordinal());
    synchronized (sampleErrors) {
      if (sampleErrors.size() < 10) {
        sampleErrors.add(op + ": " + e);
      }
    }
  }

  /** The latencies of {@code op} since the last call (reusing {@code recycle}, may be null). */
  Histogram interval(OpType op, Histogram recycle) {
    return recorders[op.ordinal()].getIntervalHistogram(recycle);
  }

  /** The errors of {@code op} since the last call. */
  long takeErrors(OpType op) {
    return errors.getAndSet(op.ordinal(), 0);
  }

  /** Successes so far, warm-up included. */
  long completed() {
    return completed.sum();
  }

  List<String> sampleErrors() {
    synchronized (sampleErrors) {
      return List.copyOf(sampleErrors);
    }
  }
}
