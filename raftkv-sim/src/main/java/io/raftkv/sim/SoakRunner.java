package io.raftkv.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongFunction;

/**
 * Runs many random scenarios, in parallel on {@code threads} threads. Each scenario is
 * deterministic on its own seed, so parallelism changes the wall time only, never a result.
 */
public final class SoakRunner {
  private SoakRunner() {}

  /** The {@code count} scenario seeds derived from {@code baseSeed}. */
  public static long[] seeds(long baseSeed, int count) {
    SplittableRandom r = new SplittableRandom(baseSeed);
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      out[i] = r.nextLong() & Long.MAX_VALUE;
    }
    return out;
  }

  /** Runs the core scenario of every seed; results come back in the order of {@code seeds}. */
  public static List<ScenarioResult> run(long[] seeds, int threads) {
    return run(seeds, threads, s -> new RandomScenario(s).run());
  }

  /** Runs {@code scenario} for every seed; results come back in the order of {@code seeds}. */
  public static List<ScenarioResult> run(
      long[] seeds, int threads, LongFunction<ScenarioResult> scenario) {
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
    try {
      List<Future<ScenarioResult>> futures = new ArrayList<>();
      for (long s : seeds) {
        futures.add(pool.submit(() -> scenario.apply(s)));
      }
      List<ScenarioResult> out = new ArrayList<>();
      for (Future<ScenarioResult> f : futures) {
        out.add(f.get());
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("a scenario crashed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }
}
