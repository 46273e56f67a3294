package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Records a history from concurrent clients: call {@link #invoke} just before sending a request and
 * {@link #complete} just after its response arrives. Thread-safe.
 *
 * <p>An operation never completed (timed out, or the client gave up) is recorded with an unknown
 * outcome, which is what it is: it may or may not have taken effect.
 */
public final class HistoryRecorder<I, O> {

  private final LongSupplier clock;
  private final List<Pending<I, O>> operations = new ArrayList<>();

  /** A recorder timing operations with {@link System#nanoTime()}. */
  public HistoryRecorder() {
    this(System::nanoTime);
  }

  /** A recorder timing operations with {@code clock}, which must be monotonic. */
  public HistoryRecorder(LongSupplier clock) {
    this.clock = Objects.requireNonNull(clock);
  }

  /** Records the call of {@code input} by {@code clientId} now; returns a handle to complete it. */
  public int invoke(int clientId, I input) {
    Objects.requireNonNull(input);
    long now = clock.getAsLong();
    synchronized (operations) {
      operations.add(new Pending<>(clientId, input, now));
      return operations.size() - 1;
    }
  }

  /** Records that the operation {@code handle} returned {@code output} now. */
  public void complete(int handle, O output) {
    Objects.requireNonNull(output);
    long now = clock.getAsLong();
    synchronized (operations) {
      Pending<I, O> op = operations.get(handle);
      if (op.output != null) {
        throw new IllegalStateException("operation " + handle + " already completed");
      }
      op.output = output;
      op.returnTime = now;
    }
  }

  /**
   * Records that the operation {@code handle} certainly took no effect (a read that got no answer,
   * or a write refused definitely): it is left out of the history. Its output being unknown, it
   * would constrain nothing, yet every such operation multiplies the orders the checker must try.
   * Leaving out a write that did take effect makes the history fail the check, so this also checks
   * the claim.
   */
  public void discard(int handle) {
    synchronized (operations) {
      Pending<I, O> op = operations.get(handle);
      if (op.output != null) {
        throw new IllegalStateException("operation " + handle + " already completed");
      }
      op.discarded = true;
    }
  }

  /** The history so far; operations not completed have an unknown outcome. */
  public History<I, O> history() {
    synchronized (operations) {
      List<Operation<I, O>> ops = new ArrayList<>(operations.size());
      for (Pending<I, O> p : operations) {
        if (p.discarded) {
          continue;
        }
        ops.add(
            p.output == null
                ? Operation.unknown(p.clientId, p.input, p.callTime)
                : Operation.completed(p.clientId, p.input, p.callTime, p.returnTime, p.output));
      }
      return new History<>(ops);
    }
  }

  private static final class Pending<I, O> {
    final int clientId;
    final I input;
    final long callTime;
    long returnTime;
    O output;
    boolean discarded;

    Pending(int clientId, I input, long callTime) {
      this.clientId = clientId;
      this.input = input;
      this.callTime = callTime;
    }
  }
}
