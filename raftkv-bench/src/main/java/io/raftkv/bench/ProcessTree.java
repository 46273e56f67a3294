package io.raftkv.bench;

import java.util.Optional;
import java.util.function.LongUnaryOperator;

/**
 * Sums a per-process figure (resident memory, CPU time) over a process and its descendants, so a
 * launcher that forks its server instead of exec'ing it is still measured as the whole server.
 */
final class ProcessTree {
  private ProcessTree() {}

  /**
   * @param read the figure of one pid, or a negative number when it cannot be read
   * @return the sum over the tree, or -1 when the process itself cannot be read
   */
  static long sum(long pid, LongUnaryOperator read) {
    long own = read.applyAsLong(pid);
    if (own < 0) {
      return -1;
    }
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    if (h.isPresent()) {
      own += h.get().descendants().mapToLong(d -> Math.max(0, read.applyAsLong(d.pid()))).sum();
    }
    return own;
  }
}
