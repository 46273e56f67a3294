package io.raftkv.bench;

import java.util.PriorityQueue;

/**
 * Simulated time for the loads' tests: events run in time order (ties in the order scheduled) on
 * the thread that advances the clock, so a test is deterministic and never sleeps.
 */
final class FakeTime implements OpenLoop.Clock {
  private record Event(long at, long seq, Runnable run) {}

  private final PriorityQueue<Event> events =
      new PriorityQueue<>(
          (a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
  private long now;
  private long seq;

  /** Runs {@code r} at time {@code at}. */
  void at(long at, Runnable r) {
    events.add(new Event(at, seq++, r));
  }

  @Override
  public long nanoTime() {
    return now;
  }

  /** Runs every event due by {@code deadline}, then sets the time to it. */
  @Override
  public void sleepUntil(long deadline) {
    while (!events.isEmpty() && events.peek().at <= deadline) {
      Event e = events.poll();
      now = Math.max(now, e.at);
      e.run.run();
    }
    now = Math.max(now, deadline);
  }

  /** Runs every event, however late. */
  void runAll() {
    while (!events.isEmpty()) {
      sleepUntil(events.peek().at);
    }
  }
}
