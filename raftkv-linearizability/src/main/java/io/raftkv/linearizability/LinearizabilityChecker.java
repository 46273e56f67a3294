package io.raftkv.linearizability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Decides whether a history is linearizable with respect to a {@link Model}, the way Porcupine
 * does: the history is split by {@link Model#partition}, and each partition is searched (Wing &amp;
 * Gong with Lowe's memoization) on a small thread pool.
 *
 * <p>Guarantees: {@link CheckResult.Verdict#OK} and {@link CheckResult.Verdict#ILLEGAL} are exact
 * answers for the model (the search is exhaustive, modulo configurations proven equivalent by
 * memoization); an operation with an unknown outcome is allowed to take effect at any point after
 * its call, or never. The check returns {@link CheckResult.Verdict#UNKNOWN} rather than run (much)
 * past its budget: searches poll the deadline every ~1,000 steps and the caller stops waiting
 * shortly after it (a model's {@code step} that blocks is the only way to overrun). The search is
 * exponential in the worst case (linearizability checking is NP-complete), but fast for the
 * histories of real systems, where few operations are concurrent per partition.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LinearizabilityChecker {

  /** How long past the deadline the caller waits for searches to notice it. */
  private static final long GRACE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

  private final Duration budget;
  private final int parallelism;
  private final long maxStates;

  private LinearizabilityChecker(Duration budget, int parallelism, long maxStates) {
    this.budget = budget;
    this.parallelism = parallelism;
    this.maxStates = maxStates;
  }

  /**
   * A checker that answers {@link CheckResult.Verdict#UNKNOWN} after {@code budget}, checking
   * partitions on as many threads as there are processors (at most 8).
   */
  public static LinearizabilityChecker withBudget(Duration budget) {
    if (budget.isNegative()) {
      throw new IllegalArgumentException("negative budget " + budget);
    }
    return new LinearizabilityChecker(
        budget, Math.min(8, Runtime.getRuntime().availableProcessors()), Long.MAX_VALUE);
  }

  /** This checker, checking partitions on {@code threads} threads (1: in the caller's thread). */
  public LinearizabilityChecker parallelism(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads " + threads);
    }
    return new LinearizabilityChecker(budget, threads, maxStates);
  }

  /**
   * This checker, answering {@link CheckResult.Verdict#UNKNOWN} for a partition once its search has
   * memoized more than {@code states} configurations (a memory budget: each costs roughly 100 bytes
   * plus the state and one bit per operation of the partition). Unlimited by default.
   */
  public LinearizabilityChecker maxStatesPerPartition(long states) {
    if (states < 1) {
      throw new IllegalArgumentException("states " + states);
    }
    return new LinearizabilityChecker(budget, parallelism, states);
  }

  /** Checks {@code history} against {@code model}. */
  public <S, I, O> CheckResult check(Model<S, I, O> model, History<I, O> history) {
    Objects.requireNonNull(model);
    long start = System.nanoTime();
    long deadline = start + saturatedNanos(budget);
    AtomicBoolean illegalFound = new AtomicBoolean();
    BooleanSupplier stop = () -> illegalFound.get() || System.nanoTime() - deadline >= 0;

    List<Map.Entry<String, List<Operation<I, O>>>> parts =
        new ArrayList<>(model.partition(history.operations()).entrySet());
    // Smallest first: cheap partitions are decided (and illegal ones found) before the big ones
    // can use up the budget.
    parts.sort(Comparator.comparingInt(e -> e.getValue().size()));

    Tally tally = new Tally(parts.size());
    int threads = Math.min(parallelism, parts.size());
    if (threads <= 1) {
      for (Map.Entry<String, List<Operation<I, O>>> part : parts) {
        PartitionSearch.Outcome outcome = search(model, part, stop, maxStates);
        tally.add(part.getKey(), outcome);
        if (outcome.verdict() == CheckResult.Verdict.ILLEGAL) {
          break;
        }
      }
    } else {
      runInParallel(model, parts, stop, illegalFound, deadline, threads, tally);
    }
    return tally.result(Duration.ofNanos(System.nanoTime() - start));
  }

  private <S, I, O> void runInParallel(
      Model<S, I, O> model,
      List<Map.Entry<String, List<Operation<I, O>>>> parts,
      BooleanSupplier stop,
      AtomicBoolean illegalFound,
      long deadline,
      int threads,
      Tally tally) {
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "linearizability-check");
              t.setDaemon(true);
              return t;
            });
    try {
      CompletionService<PartitionSearch.Outcome> done = new ExecutorCompletionService<>(pool);
      Map<Future<PartitionSearch.Outcome>, String> labels = new HashMap<>();
      for (Map.Entry<String, List<Operation<I, O>>> part : parts) {
        labels.put(done.submit(() -> search(model, part, stop, maxStates)), part.getKey());
      }
      for (int remaining = parts.size(); remaining > 0; remaining--) {
        long wait = deadline + GRACE_NANOS - System.nanoTime();
        Future<PartitionSearch.Outcome> next =
            wait > 0 ? done.poll(wait, TimeUnit.NANOSECONDS) : done.poll();
        if (next == null) {
          break; // out of time: what has not finished is undecided
        }
        PartitionSearch.Outcome outcome = next.get();
        String label = labels.remove(next);
        tally.add(label, outcome);
        if (outcome.verdict() == CheckResult.Verdict.ILLEGAL) {
          illegalFound.set(true);
          break;
        }
      }
      for (String label : labels.values()) {
        tally.undecided(label);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      illegalFound.set(true); // stops the searches
      throw new IllegalStateException("interrupted while checking", e);
    } catch (ExecutionException e) {
      illegalFound.set(true);
      throw new IllegalStateException("the model failed", e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  private static <S, I, O> PartitionSearch.Outcome search(
      Model<S, I, O> model,
      Map.Entry<String, List<Operation<I, O>>> part,
      BooleanSupplier stop,
      long maxStates) {
    return new PartitionSearch<>(model, part.getKey(), part.getValue()).run(stop, maxStates);
  }

  private static long saturatedNanos(Duration d) {
    try {
      return Math.min(d.toNanos(), Long.MAX_VALUE / 4);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 4;
    }
  }

  /** Combines the partitions' outcomes: ILLEGAL wins, then UNKNOWN. */
  private static final class Tally {
    private final int partitions;
    private final List<String> undecided = new ArrayList<>();
    private Counterexample counterexample;
    private long states;

    Tally(int partitions) {
      this.partitions = partitions;
    }

    void add(String label, PartitionSearch.Outcome outcome) {
      states += outcome.states();
      switch (outcome.verdict()) {
        case ILLEGAL:
          if (counterexample == null) {
            counterexample = outcome.counterexample();
          }
          break;
        case UNKNOWN:
          undecided(label);
          break;
        default:
          break;
      }
    }

    void undecided(String label) {
      undecided.add(label);
    }

    CheckResult result(Duration elapsed) {
      if (counterexample != null) {
        return new CheckResult(
            CheckResult.Verdict.ILLEGAL, counterexample, List.of(), partitions, states, elapsed);
      }
      if (!undecided.isEmpty()) {
        return new CheckResult(
            CheckResult.Verdict.UNKNOWN, null, undecided, partitions, states, elapsed);
      }
      return new CheckResult(CheckResult.Verdict.OK, null, List.of(), partitions, states, elapsed);
    }
  }
}
