package io.raftkv.bench;

import java.time.Duration;

/**
 * How {@link Runner} drives the clients: the {@link ClosedLoop} (each client issues its next
 * operation when the previous one completed) or the {@link OpenLoop} (operations due on a fixed
 * schedule). Both record into a {@link Recording}; neither has a thread per client.
 *
 * <p>Thread-safety: {@link #start}, {@link #tick}, {@link #stop} and {@link #awaitIdle} are called
 * by the runner's thread.
 */
interface Load {
  /**
   * Starts issuing operations; the schedule (if any) runs from {@code startNanos} to {@code
   * endNanos}.
   */
  void start(long startNanos, long endNanos);

  /**
   * At each of the runner's ticks: adds this interval's figures of the load's own to {@code m} when
   * {@code measuring}, and returns them for the progress line ("" if none).
   */
  default String tick(boolean measuring, Measurement m) {
    return "";
  }

  /** Issues nothing more; operations in flight still complete. */
  void stop();

  /** Waits until no operation is in flight; false if some still were after {@code limit}. */
  boolean awaitIdle(Duration limit) throws InterruptedException;
}
