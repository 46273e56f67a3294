package io.raftkv.bench;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one run (or several runs of one system, merged) measured: per-operation latency histograms
 * (microseconds) of the operations that completed within the measured window, errors, and the
 * window's length.
 */
final class Measurement {
  /** Latencies are recorded in microseconds, up to an hour, with 3 significant digits. */
  static Histogram newHistogram() {
    return new Histogram(3_600_000_000L, 3);
  }

  /** The figures of one operation type (or all), latencies in milliseconds. */
  record Stats(
      String op,
      long count,
      long errors,
      double opsPerSec,
      double meanMs,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      double p999Ms,
      double maxMs) {}

  final String target;
  final int nodes;
  final Map<OpType, Histogram> histograms = new EnumMap<>(OpType.class);
  final Map<OpType, Long> errors = new EnumMap<>(OpType.class);
  final List<String> sampleErrors = new ArrayList<>();
  double seconds;
  int runs;

  /** An open-loop run's own figures over the measured window (null for a closed loop). */
  OpenLoop.Counts open;

  /** With {@link #open}: the arrivals still waiting for a client at the end (never sent). */
  long abandoned;

  Measurement(String target, int nodes) {
    this.target = target;
    this.nodes = nodes;
    for (OpType op : OpType.values()) {
      histograms.put(op, newHistogram());
      errors.put(op, 0L);
    }
  }

  /** Adds another run of the same system: histograms and errors add up, and so do the windows. */
  void merge(Measurement other) {
    for (OpType op : OpType.values()) {
      histograms.get(op).add(other.histograms.get(op));
      errors.merge(op, other.errors.get(op), Long::sum);
    }
    for (String e : other.sampleErrors) {
      if (sampleErrors.size() < 10) {
        sampleErrors.add(e);
      }
    }
    seconds += other.seconds;
    runs += other.runs;
    if (other.open != null) {
      open = open == null ? other.open : open.plus(other.open);
      abandoned += other.abandoned;
    }
  }

  /** Adds an interval of the measured window's open-loop counts. */
  void addOpenLoop(OpenLoop.Counts c) {
    open = open == null ? c : open.plus(c);
  }

  /** The open loop's arrivals left unsent at the end of the run. */
  void openLoopEnd(long abandoned) {
    if (open == null) {
      open = new OpenLoop.Counts(0, 0, 0, 0, 0, 0);
    }
    this.abandoned = abandoned;
  }

  long totalErrors() {
    return errors.values().stream().mapToLong(Long::longValue).sum();
  }

  /** One row per operation type that ran (or failed), then "ALL". */
  List<Stats> stats() {
    List<Stats> rows = new ArrayList<>();
    Histogram all = newHistogram();
    for (OpType op : OpType.values()) {
      Histogram h = histograms.get(op);
      all.add(h);
      if (h.getTotalCount() > 0 || errors.get(op) > 0) {
        rows.add(stats(op.name(), h, errors.get(op)));
      }
    }
    rows.add(stats("ALL", all, totalErrors()));
    return rows;
  }

  Stats stats(String name) {
    return stats().stream().filter(s -> s.op().equals(name)).findFirst().orElse(null);
  }

  private Stats stats(String name, Histogram h, long errs) {
    double ops = seconds > 0 ? h.getTotalCount() / seconds : 0;
    boolean empty = h.getTotalCount() == 0;
    return new Stats(
        name,
        h.getTotalCount(),
        errs,
        ops,
        empty ? 0 : h.getMean() / 1000.0,
        ms(h, 50),
        ms(h, 90),
        ms(h, 99),
        ms(h, 99.9),
        empty ? 0 : h.getMaxValue() / 1000.0);
  }

  private static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
  }
}
