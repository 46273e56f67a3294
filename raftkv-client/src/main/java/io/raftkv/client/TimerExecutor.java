package io.raftkv.client;

import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The executor of {@link KvClient}'s asynchronous calls: a step runs on the thread that hands it
 * over (a gRPC callback thread, or the caller's for the first attempt), and a backoff is a task on
 * a timer. The steps never block (they start a call or a timer, or complete a future), so no thread
 * waits for an operation: a client with any number of operations in flight uses gRPC's threads and
 * one timer thread shared by every client of the process.
 *
 * <p>Thread-safety: every method may be called from any thread.
 */
final class TimerExecutor implements OperationExecutor {

  /** The timer of the clients built without one: one daemon thread, made at its first backoff. */
  private static final class Shared {
    static final ScheduledExecutorService TIMER = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor t =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread th = new Thread(r, "raftkv-client-timer");
                th.setDaemon(true);
                return th;
              });
      t.setRemoveOnCancelPolicy(true);
      return t;
    }
  }

  private final ScheduledExecutorService timer;

  /** Backoffs on {@code timer}, or on the process's shared timer when null. */
  TimerExecutor(ScheduledExecutorService timer) {
    this.timer = timer;
  }

  @Override
  public void execute(Runnable step) {
    step.run();
  }

  @Override
  public void schedule(Runnable step, long delayNanos) {
    (timer != null ? timer : Shared.TIMER).schedule(step, delayNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public Executor callExecutor() {
    return null;
  }
}
