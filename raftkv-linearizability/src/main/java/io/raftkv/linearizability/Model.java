package io.raftkv.linearizability;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A sequential specification: what a single copy of the object does for each operation, one at a
 * time. The checker decides whether a concurrent history could have been produced by this
 * specification with every operation taking effect atomically between its call and its return.
 *
 * <p>Implementations must be pure and thread-safe (partitions are checked in parallel) and states
 * must be immutable: the checker keeps and compares them.
 *
 * @param <S> the state; must be immutable, with {@link #stateEquals} and {@link #stateHash}
 *     consistent with each other
 * @param <I> an operation's input
 * @param <O> an operation's output
 */
public interface Model<S, I, O> {

  /** The state before any operation. */
  S init();

  /**
   * Applies one operation to {@code state}.
   *
   * @param output the output the client observed, or {@code null} when the operation's outcome is
   *     unknown (it timed out): the model must then accept the operation as if it returned whatever
   *     it would have returned in this state. (That the operation may also never have taken effect
   *     is the checker's business, not the model's.)
   * @return the state after the operation when the specification allows {@code output} for {@code
   *     input} in {@code state}; empty when it does not
   */
  Optional<S> step(S state, I input, O output);

  /**
   * Splits a history into independent sub-histories (for a key-value store: one per key), each
   * checked alone; the history is linearizable if and only if every part is (P-compositionality).
   * This is only sound when operations in different parts never affect each other. Keys are labels
   * used in reports. The default keeps the history whole.
   */
  default Map<String, List<Operation<I, O>>> partition(List<Operation<I, O>> history) {
    return Map.of("all", history);
  }

  /** Whether two states are the same; {@link Objects#equals} by default. */
  default boolean stateEquals(S a, S b) {
    return Objects.equals(a, b);
  }

  /**
   * A hash of a state consistent with {@link #stateEquals}; {@link Objects#hashCode} by default.
   */
  default int stateHash(S state) {
    return Objects.hashCode(state);
  }

  /** A state as shown in reports. */
  default String describeState(S state) {
    return String.valueOf(state);
  }
}
