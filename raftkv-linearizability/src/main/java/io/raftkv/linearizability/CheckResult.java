package io.raftkv.linearizability;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of a check.
 *
 * <ul>
 *   <li>{@link Verdict#OK}: every partition is linearizable; the history is.
 *   <li>{@link Verdict#ILLEGAL}: some partition is not; so the history is not. {@link
 *       #counterexample()} says which and why.
 *   <li>{@link Verdict#UNKNOWN}: no partition was found illegal, but some could not be decided
 *       within the budget ({@link #undecidedPartitions()}).
 * </ul>
 */
public final class CheckResult {

  /** Whether the history is linearizable. */
  public enum Verdict {
    /** Linearizable. */
    OK,
    /** Not linearizable. */
    ILLEGAL,
    /** Not decided within the budget. */
    UNKNOWN
  }

  private final Verdict verdict;
  private final Counterexample counterexample;
  private final List<String> undecidedPartitions;
  private final int partitions;
  private final long statesExplored;
  private final Duration elapsed;

  CheckResult(
      Verdict verdict,
      Counterexample counterexample,
      List<String> undecidedPartitions,
      int partitions,
      long statesExplored,
      Duration elapsed) {
    this.verdict = Objects.requireNonNull(verdict);
    this.counterexample = counterexample;
    this.undecidedPartitions = List.copyOf(undecidedPartitions);
    this.partitions = partitions;
    this.statesExplored = statesExplored;
    this.elapsed = elapsed;
  }

  /** The verdict. */
  public Verdict verdict() {
    return verdict;
  }

  /** Whether the verdict is {@link Verdict#OK}. */
  public boolean isOk() {
    return verdict == Verdict.OK;
  }

  /** For {@link Verdict#ILLEGAL}, a failing partition and why; empty otherwise. */
  public Optional<Counterexample> counterexample() {
    return Optional.ofNullable(counterexample);
  }

  /** For {@link Verdict#UNKNOWN}, the partitions not decided in time; empty otherwise. */
  public List<String> undecidedPartitions() {
    return undecidedPartitions;
  }

  /** The number of partitions the history was split into. */
  public int partitions() {
    return partitions;
  }

  /**
   * The number of distinct (linearized set, state) configurations the search memoized, over the
   * partitions that finished: a measure of the work done.
   */
  public long statesExplored() {
    return statesExplored;
  }

  /** How long the check took. */
  public Duration elapsed() {
    return elapsed;
  }

  @Override
  public String toString() {
    String head =
        verdict
            + " ("
            + partitions
            + " partitions, "
            + statesExplored
            + " states, "
            + elapsed.toMillis()
            + " ms)";
    switch (verdict) {
      case ILLEGAL:
        return head + "\n" + counterexample.explain();
      case UNKNOWN:
        return head + ": undecided partitions " + undecidedPartitions;
      default:
        return head;
    }
  }
}
