package io.raftkv.bench;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The open loop's arrival process: when operations are due, whatever the completions (bench run
 * --rate). Arrivals are evenly spaced or a Poisson process (exponential gaps from a seeded random
 * source), so a run's schedule is the same every time.
 *
 * @param rate operations per second over all clients
 * @param kind evenly spaced or Poisson
 * @param maxOutstanding the most operations in flight or waiting for a free client at once; an
 *     arrival beyond it is dropped (and counted)
 */
record Arrivals(double rate, Kind kind, int maxOutstanding) {

  /** How arrivals are spaced. */
  enum Kind {
    UNIFORM,
    POISSON
  }

  Arrivals {
    if (!(rate > 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException("--rate must be positive: " + rate);
    }
    if (maxOutstanding < 1) {
      throw new IllegalArgumentException("--max-outstanding must be at least 1");
    }
  }

  /** The due times of one run, seeded by {@code seed} (Poisson only). */
  Schedule schedule(long seed) {
    return new Schedule(this, seed);
  }

  /** A run's due times, in order, as offsets in nanoseconds from its start. Not thread-safe. */
  static final class Schedule {
    private final Arrivals a;
    private final SplittableRandom random;
    private long count;
    private double poissonNanos;

    private Schedule(Arrivals a, long seed) {
      this.a = a;
      this.random = new SplittableRandom(seed);
    }

    /** The next arrival's offset: the first is at 0. */
    long next() {
      long n = count++;
      if (a.kind == Kind.UNIFORM) {
        // From the index, not by adding gaps: no rounding drift over millions of arrivals.
        return Math.round(n * 1e9 / a.rate);
      }
      if (n > 0) {
        // Exponential gap with mean 1/rate; 1 - u is in (0, 1], so the logarithm is finite.
        poissonNanos += -Math.log(1 - random.nextDouble()) * 1e9 / a.rate;
      }
      return Math.round(poissonNanos);
    }
  }

  String describe() {
    return String.format(
        Locale.ROOT,
        "open loop, %s arrivals at %,.0f ops/s, at most %,d outstanding",
        kind == Kind.UNIFORM ? "evenly spaced" : "Poisson",
        rate,
        maxOutstanding);
  }
}
