package io.raftkv.sim;

import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * The simulator's clock and its one queue of future events. Events run in order of time, and events
 * due at the same millisecond in the order they were scheduled, so a run depends on nothing but its
 * seed (no wall clock, no hash order).
 *
 * <p>Thread-safety: none; a simulation runs on one thread.
 */
final class EventQueue {
  private record Event(long time, long seq, Runnable action) {}

  private final PriorityQueue<Event> queue =
      new PriorityQueue<>(Comparator.comparingLong(Event::time).thenComparingLong(Event::seq));
  private long now;
  private long seq;
  private long processed;
  private long maxEvents = Long.MAX_VALUE;

  /** Thrown when a run exceeds its event budget: a message storm or a livelock. */
  static final class BudgetExceeded extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    BudgetExceeded(String message) {
      super(message);
    }
  }

  /**
   * Caps the events a run may process; beyond it {@link #runNext} throws {@link BudgetExceeded}.
   */
  void setLimit(long maxEvents) {
    this.maxEvents = maxEvents;
  }

  long now() {
    return now;
  }

  /** How many events have run so far. */
  long processed() {
    return processed;
  }

  /** Runs {@code action} at {@code time} (never in the past). */
  void at(long time, Runnable action) {
    queue.add(new Event(Math.max(time, now), seq++, action));
  }

  /**
   * Runs the next event if it is due at or before {@code until}.
   *
   * @return whether an event ran
   */
  boolean runNext(long until) {
    Event e = queue.peek();
    if (e == null || e.time() > until) {
      return false;
    }
    if (processed >= maxEvents) {
      throw new BudgetExceeded(
          "more than " + maxEvents + " events by " + now + " ms (" + queue.size() + " queued)");
    }
    queue.poll();
    now = e.time();
    processed++;
    e.action().run();
    return true;
  }

  /** Moves the clock forward to {@code time} once nothing earlier is left to run. */
  void advanceTo(long time) {
    now = Math.max(now, time);
  }
}
