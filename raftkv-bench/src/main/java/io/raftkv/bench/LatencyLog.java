package io.raftkv.bench;

import java.util.Arrays;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * Every operation's completion time (epoch ms) and latency (µs), so that percentiles can be taken
 * afterwards over any window (e.g. while a snapshot was being sent, known only from a log line).
 * Thread-safe; a light load's few hundred operations per second fit easily.
 */
final class LatencyLog {
  private long[] at = new long[1 << 14];
  private long[] micros = new long[1 << 14];
  private int size;

  synchronized void add(long completedMillis, long latencyMicros) {
    if (size == at.length) {
      at = Arrays.copyOf(at, size * 2);
      micros = Arrays.copyOf(micros, size * 2);
    }
    at[size] = completedMillis;
    micros[size] = latencyMicros;
    size++;
  }

  /** The operations that completed in [fromMillis, toMillis). */
  synchronized Window window(String name, long fromMillis, long toMillis) {
    Histogram h = Measurement.newHistogram();
    long[] done = new long[size];
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (at[i] >= fromMillis && at[i] < toMillis) {
        h.recordValue(Math.max(1, micros[i]));
        done[n++] = at[i];
      }
    }
    return new Window(name, fromMillis, toMillis, h, longestGap(done, n, fromMillis, toMillis));
  }

  /**
   * The longest time in [from, to) without a completed operation: between two consecutive
   * completions, or between an end of the window and the completion nearest it. A stall shows here
   * even when the writes it held up are few (and so barely move a percentile).
   */
  static long longestGap(long[] completions, int n, long from, long to) {
    long[] t = Arrays.copyOf(completions, n);
    Arrays.sort(t);
    long gap = 0;
    long previous = from;
    for (long c : t) {
      gap = Math.max(gap, c - previous);
      previous = c;
    }
    return Math.max(gap, to - previous);
  }

  /**
   * The latencies of one window; milliseconds in every accessor. {@code longestGapMillis}: see
   * {@link #longestGap}.
   */
  record Window(
      String name, long fromMillis, long toMillis, Histogram histogram, long longestGapMillis) {
    long count() {
      return histogram.getTotalCount();
    }

    double seconds() {
      return (toMillis - fromMillis) / 1000.0;
    }

    double ms(double percentile) {
      return count() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1000.0;
    }

    double maxMs() {
      return count() == 0 ? Double.NaN : histogram.getMaxValue() / 1000.0;
    }

    String row() {
      return String.format(
          Locale.ROOT,
          "| %s | %.1f | %d | %.2f | %.2f | %.2f | %.2f |",
          name,
          seconds(),
          count(),
          ms(50),
          ms(99),
          ms(99.9),
          maxMs());
    }

    static String header() {
      return "| window | s | writes | p50 ms | p99 ms | p99.9 ms | max ms |\n"
          + "|---|---:|---:|---:|---:|---:|---:|\n";
    }
  }
}
