package io.raftkv.bench;

import java.util.Arrays;

/** Percentiles and empirical CDFs of one metric's samples (milliseconds; NaN = no value). */
final class FailoverStats {
  private final double[] sorted;
  private final int missing;

  FailoverStats(double[] samples) {
    this.sorted = Arrays.stream(samples).filter(v -> !Double.isNaN(v)).sorted().toArray();
    this.missing = samples.length - sorted.length;
  }

  int count() {
    return sorted.length;
  }

  /** Samples that were NaN: trials where the event was not seen within the time limit. */
  int missing() {
    return missing;
  }

  /**
   * Nearest-rank percentile (the smallest sample with at least p% of the samples at or below it),
   * so every figure reported is a value actually measured; NaN with no samples.
   */
  double percentile(double p) {
    if (p <= 0 || p > 100) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + p);
    }
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  double max() {
    return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
  }

  /** The CDF's x values: the samples in ascending order. */
  double[] cdfX() {
    return sorted.clone();
  }

  /**
   * The CDF's y values in percent: the share of all trials (missing ones included, so a curve that
   * stops below 100% shows failed trials) at or below each x.
   */
  double[] cdfPercent() {
    int n = sorted.length + missing;
    double[] y = new double[sorted.length];
    for (int i = 0; i < y.length; i++) {
      y[i] = 100.0 * (i + 1) / n;
    }
    return y;
  }
}
