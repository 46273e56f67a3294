package io.raftkv.linearizability;

import java.util.List;

/**
 * Why a partition of a history is not linearizable, from the deepest point the search reached: the
 * longest sequence of operations it could linearize (respecting real time and the model), and the
 * operations that could not come next. At that point {@code overdue} has returned, so it (or an
 * operation preceding it) had to be placed; every pending operation was either rejected by the
 * model in {@code stateAfterPrefix} or led only to dead ends.
 *
 * <p>This is an explanation, not a minimal proof: other linearizable prefixes of the same length
 * may exist.
 *
 * @param partition the partition's label (for {@link KvModel}, the key)
 * @param partitionSize the number of operations in the partition
 * @param longestPrefix the longest linearizable prefix found, in linearization order
 * @param stateAfterPrefix the model's state after {@code longestPrefix}
 * @param rejectedByModel pending operations the model rejects in that state
 * @param deadEnds pending operations the model accepts in that state, but after which the rest
 *     cannot be linearized
 * @param overdue the operation whose return the search reached without having placed it
 */
public record Counterexample(
    String partition,
    int partitionSize,
    List<Operation<?, ?>> longestPrefix,
    String stateAfterPrefix,
    List<Operation<?, ?>> rejectedByModel,
    List<Operation<?, ?>> deadEnds,
    Operation<?, ?> overdue) {

  /** Copies the lists. */
  public Counterexample {
    longestPrefix = List.copyOf(longestPrefix);
    rejectedByModel = List.copyOf(rejectedByModel);
    deadEnds = List.copyOf(deadEnds);
  }

  /** A multi-line human-readable explanation. */
  public String explain() {
    StringBuilder s = new StringBuilder();
    s.append("partition '")
        .append(partition)
        .append("' (")
        .append(partitionSize)
        .append(" operations) is not linearizable.\n");
    s.append("Longest linearizable prefix found (")
        .append(longestPrefix.size())
        .append(" operations):\n");
    for (int i = 0; i < longestPrefix.size(); i++) {
      s.append("  ").append(i + 1).append(". ").append(longestPrefix.get(i)).append('\n');
    }
    s.append("State after it: ").append(stateAfterPrefix).append('\n');
    s.append("No pending operation can come next:\n");
    for (Operation<?, ?> op : rejectedByModel) {
      s.append("  ").append(op).append(": rejected by the model in this state\n");
    }
    for (Operation<?, ?> op : deadEnds) {
      s.append("  ").append(op).append(": allowed, but the rest cannot be linearized after it\n");
    }
    s.append("yet ").append(overdue).append(" has already returned.");
    return s.toString();
  }

  @Override
  public String toString() {
    return explain();
  }
}
