package io.raftkv.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The executor of one blocking call: the thread that waits for the operation runs each of its steps
 * (the gRPC calls' callbacks, the step after a backoff) in {@link #await}, as gRPC's own blocking
 * stubs do with their ThreadlessExecutor. A blocking call so costs no thread hand-off and no timer
 * thread: a backoff is the waiting thread's timed poll.
 *
 * <p>Thread-safety: {@link #execute} and {@link #schedule} may be called from any thread; {@link
 * #await} by the one thread that waits, once.
 */
final class BlockingWait implements OperationExecutor {
  private static final Runnable WAKE = () -> {};

  private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();

  // Guarded by tasks: an operation waits out one backoff at a time.
  private Runnable timer;
  private long timerDue;
  private boolean done;

  @Override
  public void execute(Runnable step) {
    synchronized (tasks) {
      if (!done) {
        tasks.add(step);
        return;
      }
    }
    // The wait is over (a late callback of a cancelled call): nobody drains the queue any more.
    step.run();
  }

  @Override
  public void schedule(Runnable step, long delayNanos) {
    synchronized (tasks) {
      if (timer != null) {
        throw new IllegalStateException("one backoff at a time");
      }
      timer = step;
      timerDue = System.nanoTime() + delayNanos;
    }
    tasks.add(WAKE);
  }

  @Override
  public Executor callExecutor() {
    return this;
  }

  /**
   * Runs the operation's steps until {@code result} is complete, and returns its value. An
   * interrupt runs {@code onInterrupt} (which makes the operation end soon: its call cancelled,
   * nothing retried) and cuts a pending backoff short; the wait then goes on until the operation
   * has ended, and the interrupt is kept.
   */
  <T> T await(CompletableFuture<T> result, Runnable onInterrupt) throws ExecutionException {
    // Completed by another thread (a write refused at close): wake up.
    result.whenComplete((v, e) -> tasks.add(WAKE));
    boolean interrupted = false;
    try {
      while (!result.isDone()) {
        Runnable step;
        try {
          step = next();
        } catch (InterruptedException e) {
          interrupted = true;
          onInterrupt.run();
          synchronized (tasks) {
            timerDue = System.nanoTime();
          }
          continue;
        }
        if (step != null) {
          step.run();
        }
      }
    } finally {
      synchronized (tasks) {
        done = true;
      }
      for (Runnable late; (late = tasks.poll()) != null; ) {
        late.run();
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      return result.get();
    } catch (InterruptedException e) {
      throw new AssertionError("the result is complete", e);
    }
  }

  /** The next step to run: the backoff's step if due, else a task (null if none came in time). */
  private Runnable next() throws InterruptedException {
    long wait;
    synchronized (tasks) {
      if (timer != null) {
        wait = timerDue - System.nanoTime();
        if (wait <= 0) {
          Runnable step = timer;
          timer = null;
          return step;
        }
      } else {
        wait = Long.MAX_VALUE;
      }
    }
    return wait == Long.MAX_VALUE ? tasks.take() : tasks.poll(wait, TimeUnit.NANOSECONDS);
  }
}
