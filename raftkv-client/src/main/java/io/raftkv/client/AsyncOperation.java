package io.raftkv.client;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * One operation in flight: the attempts that its {@link RetryPolicy.Operation} asks for, as
 * asynchronous gRPC calls, the backoffs between them on its {@link OperationExecutor}, and its end
 * in a future (the server's response, or the policy's {@link KvException}). This is {@link
 * KvClient}'s only retry loop: its blocking calls run it too, on a {@link BlockingWait}.
 *
 * <p>Thread-safety: the steps (the first attempt, each call's end, each backoff's end) run one
 * after another, never two at once: each step's last action starts the next call or timer, and gRPC
 * and the timers hand over with a happens-before edge. {@link #abort} may be called from any thread
 * at any time.
 */
final class AsyncOperation {

  /** What one attempt sends: a KvService method and its request. */
  record Rpc<Q>(MethodDescriptor<Q, KvResponse> method, Q request) {}

  private final RetryPolicy.Operation op;
  private final Function<RetryPolicy.Operation, Rpc<?>> rpcs;
  private final OperationExecutor executor;
  private final Function<String, ManagedChannel> channels;
  private final BooleanSupplier closed;
  private final Object sessionLock;
  private final Runnable onEnd;
  private final CompletableFuture<KvResponse> result;

  private volatile boolean aborted;
  private volatile boolean ended;
  private volatile ClientCall<?, KvResponse> current;

  /**
   * @param op the policy's operation (created by the caller: a write takes its sequence then)
   * @param rpcs what the next attempt sends, given the operation's state
   * @param channels the channel to a server address
   * @param closed whether the client was closed (then no further attempt is made)
   * @param sessionLock held while the policy decides, for a write (it changes the session); null
   *     for a read
   * @param onEnd run once the operation has ended, before {@code result} completes
   * @param result completed with the response or the error that ends the operation
   */
  AsyncOperation(
      RetryPolicy.Operation op,
      Function<RetryPolicy.Operation, Rpc<?>> rpcs,
      OperationExecutor executor,
      Function<String, ManagedChannel> channels,
      BooleanSupplier closed,
      Object sessionLock,
      Runnable onEnd,
      CompletableFuture<KvResponse> result) {
    this.op = op;
    this.rpcs = rpcs;
    this.executor = executor;
    this.channels = channels;
    this.closed = closed;
    this.sessionLock = sessionLock;
    this.onEnd = onEnd;
    this.result = result;
  }

  /** Makes the first attempt, on the calling thread. */
  void start() {
    step(this::attempt);
  }

  /**
   * Ends the operation soon: the call in flight is cancelled and nothing is retried; it ends as at
   * its deadline (a write that may have applied with {@link OutcomeUnknownException}). A backoff
   * already waited for runs out first, unless the executor cuts it short ({@link BlockingWait}).
   */
  void abort() {
    aborted = true;
    ClientCall<?, KvResponse> c = current;
    if (c != null) {
      c.cancel("the operation was aborted", null);
    }
  }

  private void attempt() {
    String server = op.target();
    long budget = op.attemptBudgetNanos(System.nanoTime());
    Rpc<?> rpc = rpcs.apply(op);
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(budget, TimeUnit.NANOSECONDS);
    if (executor.callExecutor() != null) {
      options = options.withExecutor(executor.callExecutor());
    }
    call(channels.apply(server), rpc, options, server, budget);
  }

  private <Q> void call(
      ManagedChannel channel, Rpc<Q> rpc, CallOptions options, String server, long budget) {
    ClientCall<Q, KvResponse> call = channel.newCall(rpc.method(), options);
    current = call;
    ClientCalls.asyncUnaryCall(call, rpc.request(), new Answers(server, budget));
    if (aborted) {
      call.cancel("the operation was aborted", null); // abort() may have seen the previous call
    }
  }

  /** One attempt's outcome, as gRPC reports it. */
  private final class Answers implements StreamObserver<KvResponse> {
    private final String server;
    private final long budget;
    private KvResponse response;

    Answers(String server, long budget) {
      this.server = server;
      this.budget = budget;
    }

    @Override
    public void onNext(KvResponse r) {
      response = r;
    }

    @Override
    public void onError(Throwable t) {
      io.grpc.Status g = io.grpc.Status.fromThrowable(t);
      step(() -> decide(KvClient.transportFailure(server, g, budget), null));
    }

    @Override
    public void onCompleted() {
      KvResponse r = response;
      step(
          () ->
              decide(
                  r != null
                      ? RetryPolicy.Answer.of(server, r)
                      : RetryPolicy.Answer.transportFailure(
                          server, Status.INTERNAL, server + ": the call ended without a response"),
                  r));
    }
  }

  private void decide(RetryPolicy.Answer answer, KvResponse response) {
    if (ended) {
      return; // a call left behind by a step that failed: the operation is over
    }
    current = null;
    RetryPolicy.Decision d;
    long now = System.nanoTime();
    if (sessionLock != null) {
      synchronized (sessionLock) {
        d = op.onAnswer(answer, now);
      }
    } else {
      d = op.onAnswer(answer, now);
    }
    switch (d.kind()) {
      case DONE -> end(response, null);
      case FAIL -> end(null, d.error());
      case RETRY -> {
        if (aborted || closed.getAsBoolean()) {
          end(null, op.giveUp());
        } else if (d.delayNanos() == 0) {
          afterBackoff();
        } else {
          try {
            executor.schedule(() -> step(this::afterBackoff), d.delayNanos());
          } catch (RejectedExecutionException e) {
            end(null, op.giveUp());
          }
        }
      }
    }
  }

  private void afterBackoff() {
    if (ended) {
      return;
    }
    // Closed, aborted or overslept: end as the deadline would (a write that may have applied is
    // reported unknown, never failed).
    if (aborted || closed.getAsBoolean() || !op.hasTimeForAnAttempt(System.nanoTime())) {
      end(null, op.giveUp());
    } else {
      attempt();
    }
  }

  /** Runs a step; anything it throws ends the operation with that error. */
  private void step(Runnable s) {
    try {
      s.run();
    } catch (Throwable t) {
      end(null, t);
    }
  }

  private void end(KvResponse response, Throwable error) {
    if (ended) {
      return;
    }
    ended = true;
    current = null;
    try {
      onEnd.run();
    } finally {
      if (error != null) {
        result.completeExceptionally(error);
      } else {
        result.complete(response);
      }
    }
  }
}
