package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ArrivalsTest {
  private static long[] offsets(Arrivals a, long seed, int n) {
    Arrivals.Schedule s = a.schedule(seed);
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = s.next();
    }
    return out;
  }

  @Test
  void evenlySpacedArrivalsDoNotDrift() {
    long[] t = offsets(new Arrivals(3, Arrivals.Kind.UNIFORM, 1), 1, 4);
    assertThat(t).containsExactly(0, 333_333_333, 666_666_667, 1_000_000_000);
    long[] many = offsets(new Arrivals(7, Arrivals.Kind.UNIFORM, 1), 1, 70_001);
    assertThat(many[70_000]).isEqualTo(10_000_000_000_000L); // 10,000 s, to the nanosecond
  }

  @Test
  void poissonArrivalsAreSeededAndExponential() {
    Arrivals a = new Arrivals(1000, Arrivals.Kind.POISSON, 1);
    assertThat(offsets(a, 7, 1000)).containsExactly(offsets(a, 7, 1000));
    assertThat(offsets(a, 7, 1000)).isNotEqualTo(offsets(a, 8, 1000));
    assertThat(offsets(a, 7, 1)).containsExactly(0);
    assertThat(exponentialGaps(offsets(a, 7, 200_001), 1e6)).isTrue();
  }

  /** The check above does tell exponential gaps from evenly spaced ones. */
  @Test
  void theExponentialCheckRejectsEvenlySpacedArrivals() {
    Arrivals a = new Arrivals(1000, Arrivals.Kind.UNIFORM, 1);
    assertThat(exponentialGaps(offsets(a, 7, 200_001), 1e6)).isFalse();
  }

  @Test
  void ratesAndLimitsAreChecked() {
    assertThatThrownBy(() -> new Arrivals(0, Arrivals.Kind.UNIFORM, 1))
        .hasMessageContaining("--rate");
    assertThatThrownBy(() -> new Arrivals(Double.NaN, Arrivals.Kind.UNIFORM, 1))
        .hasMessageContaining("--rate");
    assertThatThrownBy(() -> new Arrivals(10, Arrivals.Kind.UNIFORM, 0))
        .hasMessageContaining("--max-outstanding");
  }

  /**
   * Whether the gaps look exponential with this mean (ns): mean within 1 %, standard deviation
   * equal to the mean within 2 %, and about e^-1 of the gaps above the mean.
   */
  private static boolean exponentialGaps(long[] t, double meanNanos) {
    int n = t.length - 1;
    double sum = 0;
    double sq = 0;
    int above = 0;
    for (int i = 0; i < n; i++) {
      double g = t[i + 1] - t[i];
      sum += g;
      sq += g * g;
      above += g > meanNanos ? 1 : 0;
    }
    double mean = sum / n;
    double sd = Math.sqrt(sq / n - mean * mean);
    return Math.abs(mean / meanNanos - 1) < 0.01
        && Math.abs(sd / mean - 1) < 0.02
        && Math.abs((double) above / n - Math.exp(-1)) < 0.01;
  }
}
