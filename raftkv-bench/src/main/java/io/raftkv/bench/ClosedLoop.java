package io.raftkv.bench;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The closed loop: each client issues its next operation as soon as the previous one completed. A
 * client is a chain of futures, not a thread: when an operation completes, the thread that
 * completes it (a gRPC or jetcd callback thread) records its latency and starts the next one.
 * Latency is measured from the moment an operation is started to the moment it completes.
 *
 * <p>Thread-safety: see {@link Load}; the chains run on the targets' callback threads.
 */
final class ClosedLoop implements Load {
  private final List<LoadClient> clients;
  private final Workload w;
  private final byte[][] keys;
  private final Recording recording;
  private final LongSupplier clock;
  private final CountDownLatch ended;
  private volatile boolean stopped;

  ClosedLoop(
      List<LoadClient> clients,
      Workload w,
      byte[][] keys,
      Recording recording,
      LongSupplier clock) {
    this.clients = clients;
    this.w = w;
    this.keys = keys;
    this.recording = recording;
    this.clock = clock;
    this.ended = new CountDownLatch(clients.size());
  }

  /**
   * Starts every client's chain from a thread of its own, which ends once each has its first
   * operation in flight (or, with a session that completes at once every time, runs that chain
   * until {@link #stop}: the runner's thread must stay free to tick and stop).
   */
  @Override
  public void start(long startNanos, long endNanos) {
    Thread t = new Thread(this::startChains, "closed-loop-start");
    t.setDaemon(true);
    t.start();
  }

  /** Starts every client's first operation on the calling thread. */
  void startChains() {
    for (LoadClient c : clients) {
      next(c);
    }
  }

  /**
   * Issues {@code c}'s operations until one is in flight: a session that completes at once is
   * looped over here rather than recursed into.
   */
  private void next(LoadClient c) {
    while (!stopped) {
      OpType op = w.nextOp(c.random);
      byte[] key = keys[c.random.nextInt(keys.length)];
      long t0 = clock.getAsLong();
      CompletableFuture<?> f = c.start(op, key);
      if (!f.isDone()) {
        f.whenComplete(
            (r, e) -> {
              done(op, t0, e);
              next(c);
            });
        return;
      }
      done(op, t0, LoadClient.failure(f));
    }
    ended.countDown();
  }

  private void done(OpType op, long t0, Throwable e) {
    if (e == null) {
      recording.success(op, clock.getAsLong() - t0);
    } else if (!stopped) {
      recording.error(op, OpenLoop.unwrap(e));
    }
  }

  @Override
  public void stop() {
    stopped = true;
  }

  @Override
  public boolean awaitIdle(Duration limit) throws InterruptedException {
    return ended.await(limit.toNanos(), TimeUnit.NANOSECONDS);
  }
}
