package io.raftkv.server;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * A warning that may repeat at network speed (a foreign node retrying its stream every 100 ms, a
 * forger in a loop): logged at most once per interval, with how many were left out since, so the
 * log says it goes on without being buried.
 *
 * <p>Thread-safety: thread-safe.
 */
final class RateLimitedLog {
  static final long DEFAULT_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Logger log;
  private final long intervalNanos;
  private final LongSupplier clock;
  private final AtomicLong nextNanos;
  private final AtomicLong suppressed = new AtomicLong();

  RateLimitedLog(Logger log, long intervalNanos, LongSupplier clock) {
    this.log = log;
    this.intervalNanos = intervalNanos;
    this.clock = clock;
    this.nextNanos = new AtomicLong(clock.getAsLong());
  }

  RateLimitedLog(Logger log) {
    this(log, DEFAULT_INTERVAL_NANOS, System::nanoTime);
  }

  /** Logs {@code message} at WARN unless one was logged less than an interval ago. */
  void warn(String message) {
    long now = clock.getAsLong();
    long next = nextNanos.get();
    if (now - next < 0 || !nextNanos.compareAndSet(next, now + intervalNanos)) {
      suppressed.incrementAndGet();
      return;
    }
    long left = suppressed.getAndSet(0);
    if (left > 0) {
      log.warn(
          "{} ({} more like this in the last {} s)",
          message,
          left,
          TimeUnit.NANOSECONDS.toSeconds(intervalNanos));
    } else {
      log.warn(message);
    }
  }
}
