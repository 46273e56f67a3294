package io.raftkv.client;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Where the steps of one {@link AsyncOperation} run and how it waits out a backoff. Two kinds: a
 * blocking call's {@link BlockingWait} (every step on the waiting thread, as gRPC's blocking stubs
 * do) and the asynchronous calls' {@link TimerExecutor} (steps on gRPC's callback threads, backoffs
 * on a shared timer).
 *
 * <p>Thread-safety: every method may be called from any thread.
 */
interface OperationExecutor extends Executor {

  /**
   * Runs {@code step} once {@code delayNanos} have passed (never earlier).
   *
   * @throws RejectedExecutionException if the timer no longer runs anything
   */
  void schedule(Runnable step, long delayNanos);

  /**
   * The executor the operation's gRPC calls deliver their callbacks to, or null for the channel's
   * own.
   */
  Executor callExecutor();
}
