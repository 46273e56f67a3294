package io.raftkv.linearizability;

import java.util.Objects;

/**
 * What a key-value operation returned: {@link #ok()}, {@link #noKey()}, or a Get's {@link
 * #value(String)}.
 *
 * @param status which of the three
 * @param value the value read, for {@link Status#VALUE} only (null otherwise)
 */
public record KvOutput(Status status, String value) {

  /** The kinds of outputs. */
  public enum Status {
    /** A Put, Append or Delete succeeded. */
    OK,
    /** A Get or Delete found no such key. */
    NO_KEY,
    /** A Get read a value. */
    VALUE
  }

  private static final KvOutput OK = new KvOutput(Status.OK, null);
  private static final KvOutput NO_KEY = new KvOutput(Status.NO_KEY, null);

  /** Checks that a value comes with {@link Status#VALUE} and only with it. */
  public KvOutput {
    Objects.requireNonNull(status);
    if ((status == Status.VALUE) != (value != null)) {
      throw new IllegalArgumentException("a value goes with status VALUE and only with it");
    }
  }

  /** Success of a Put, Append or Delete. */
  public static KvOutput ok() {
    return OK;
  }

  /** A Get or Delete of a missing key. */
  public static KvOutput noKey() {
    return NO_KEY;
  }

  /** A Get that read {@code value}. */
  public static KvOutput value(String value) {
    return new KvOutput(Status.VALUE, Objects.requireNonNull(value));
  }

  @Override
  public String toString() {
    return status == Status.VALUE ? "\"" + value + "\"" : status.name();
  }
}
