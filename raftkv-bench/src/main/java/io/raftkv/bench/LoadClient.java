package io.raftkv.bench;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * One simulated client of a load: its session, its random source and its value buffer. It has at
 * most one operation in flight (a raftkv session has one write outstanding; etcd's clients are held
 * to the same), so its state needs no lock: each operation is started after the previous one
 * completed, which is a happens-before edge.
 */
final class LoadClient {
  final Target.Session session;
  final SplittableRandom random;
  private final byte[] value;

  LoadClient(Target.Session session, long seed, int valueSize) {
    this.session = session;
    this.random = new SplittableRandom(seed);
    this.value = new byte[valueSize];
    for (int i = 0; i < value.length; i++) {
      value[i] = (byte) ('a' + random.nextInt(26));
    }
  }

  /**
   * Starts {@code op} on {@code key}; the future completes (exceptionally on an error) when it
   * does. A PUT or APPEND sends a fresh value: a few bytes changed is enough to defeat any caching.
   */
  CompletableFuture<?> start(OpType op, byte[] key) {
    value[random.nextInt(value.length)] = (byte) ('a' + random.nextInt(26));
    try {
      return switch (op) {
        case GET -> session.getAsync(key);
        case PUT -> session.putAsync(key, value);
        case APPEND -> session.appendAsync(key, value);
      };
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The exception a completed future failed with, or null if it succeeded. */
  static Throwable failure(CompletableFuture<?> done) {
    try {
      done.join();
      return null;
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause() != null ? e.getCause() : e;
    } catch (RuntimeException e) {
      return e;
    }
  }
}
