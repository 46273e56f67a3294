package io.raftkv.linearizability;

import java.util.Objects;

/**
 * One operation of a history: a client called it at {@code callTime} with {@code input} and saw
 * {@code output} at {@code returnTime}, or never learned its outcome (it timed out).
 *
 * <p>Times are any monotonic clock shared by all clients (e.g. {@link System#nanoTime()} in one
 * JVM). An operation that returned before another was called precedes it in real time; operations
 * whose intervals overlap or touch (a return and a call at the same time) are concurrent. An
 * operation whose outcome is unknown may have taken effect at any point after its call, or never.
 *
 * @param clientId who called it (for reports; the checker does not rely on it)
 * @param input the operation and its arguments, never null
 * @param callTime when it was called
 * @param returnTime when it returned, {@link #UNKNOWN_RETURN} when its outcome is unknown
 * @param output what it returned; null exactly when the outcome is unknown
 */
public record Operation<I, O>(int clientId, I input, long callTime, long returnTime, O output) {

  /** The return time of an operation whose outcome is unknown: +infinity. */
  public static final long UNKNOWN_RETURN = Long.MAX_VALUE;

  /** Validates the operation. */
  public Operation {
    Objects.requireNonNull(input, "input");
    if (callTime == UNKNOWN_RETURN) {
      throw new IllegalArgumentException("call time must be finite");
    }
    if (returnTime < callTime) {
      throw new IllegalArgumentException(
          "return time " + returnTime + " before call time " + callTime);
    }
    if ((returnTime == UNKNOWN_RETURN) != (output == null)) {
      throw new IllegalArgumentException(
          "an operation has an output exactly when its return time is known");
    }
  }

  /** An operation that returned {@code output} at {@code returnTime}. */
  public static <I, O> Operation<I, O> completed(
      int clientId, I input, long callTime, long returnTime, O output) {
    return new Operation<>(clientId, input, callTime, returnTime, Objects.requireNonNull(output));
  }

  /** An operation called at {@code callTime} whose outcome is unknown (e.g. it timed out). */
  public static <I, O> Operation<I, O> unknown(int clientId, I input, long callTime) {
    return new Operation<>(clientId, input, callTime, UNKNOWN_RETURN, null);
  }

  /** Whether the client saw the operation's output. */
  public boolean outcomeKnown() {
    return returnTime != UNKNOWN_RETURN;
  }

  @Override
  public String toString() {
    return "client "
        + clientId
        + " "
        + input
        + " -> "
        + (outcomeKnown() ? output : "?")
        + " ["
        + callTime
        + ", "
        + (outcomeKnown() ? String.valueOf(returnTime) : "inf")
        + "]";
  }
}
