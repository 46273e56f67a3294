package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.List;

/**
 * An immutable history: the operations some clients ran concurrently, in any order.
 *
 * @param operations the operations
 */
public record History<I, O>(List<Operation<I, O>> operations) {

  /** Copies {@code operations}. */
  public History {
    operations = List.copyOf(operations);
  }

  /** A history of {@code operations}. */
  @SafeVarargs
  public static <I, O> History<I, O> of(Operation<I, O>... operations) {
    List<Operation<I, O>> list = new ArrayList<>(operations.length);
    for (Operation<I, O> op : operations) {
      list.add(op);
    }
    return new History<>(list);
  }

  /** The number of operations. */
  public int size() {
    return operations.size();
  }
}
