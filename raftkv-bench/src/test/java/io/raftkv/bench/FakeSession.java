package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongUnaryOperator;

/**
 * A target's session on {@link FakeTime}: each operation completes after the service time a
 * function of its number (counted over every session sharing {@code log}) gives. It records when
 * each was sent and completed, and fails the test if a client ever has two in flight.
 */
class FakeSession implements Target.Session {
  /** One operation as the fake server saw it. */
  record Op(int number, long sent, long done) {}

  /** Every session's operations, by number. */
  static final class Log {
    final List<Op> ops = new ArrayList<>();
  }

  private final FakeTime time;
  private final Log log;
  private final LongUnaryOperator serviceNanos;
  private boolean busy;

  FakeSession(FakeTime time, Log log, LongUnaryOperator serviceNanos) {
    this.time = time;
    this.log = log;
    this.serviceNanos = serviceNanos;
  }

  @Override
  public CompletableFuture<?> putAsync(byte[] key, byte[] value) {
    if (busy) {
      throw new AssertionError("two operations in flight on one client");
    }
    busy = true;
    int n = log.ops.size();
    long sent = time.nanoTime();
    long done = sent + serviceNanos.applyAsLong(n);
    log.ops.add(new Op(n, sent, done));
    CompletableFuture<Void> f = new CompletableFuture<>();
    time.at(
        done,
        () -> {
          busy = false;
          f.complete(null);
        });
    return f;
  }

  @Override
  public CompletableFuture<?> getAsync(byte[] key) {
    return putAsync(key, key);
  }

  @Override
  public CompletableFuture<?> appendAsync(byte[] key, byte[] value) {
    return putAsync(key, value);
  }

  @Override
  public Optional<byte[]> read(byte[] key) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void put(byte[] key, byte[] value) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void append(byte[] key, byte[] value) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void close() {}
}
