package io.raftkv.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Order statistics of a small list of samples (one-shot wall times): exact, no histogram, since
 * there are only tens of them.
 */
final class Percentiles {
  private Percentiles() {}

  static double min(List<Long> xs) {
    return sorted(xs).get(0);
  }

  static double max(List<Long> xs) {
    List<Long> s = sorted(xs);
    return s.get(s.size() - 1);
  }

  /** The middle sample, or the mean of the two middle ones for an even count. */
  static double median(List<Long> xs) {
    List<Long> s = sorted(xs);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2.0;
  }

  /**
   * Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it
   * (never an interpolated value that was not measured).
   */
  static double percentile(List<Long> xs, double p) {
    if (p <= 0 || p > 100) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + p);
    }
    List<Long> s = sorted(xs);
    int rank = (int) Math.ceil(p * s.size() / 100.0);
    return s.get(Math.max(rank, 1) - 1);
  }

  private static List<Long> sorted(List<Long> xs) {
    if (xs.isEmpty()) {
      throw new IllegalArgumentException("no samples");
    }
    List<Long> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s;
  }
}
