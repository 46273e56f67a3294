package io.raftkv.nemesis;

import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.Operation;

/**
 * One recorded client operation.
 *
 * @param client who ran it
 * @param input what it was
 * @param call when it was called (nanoseconds on the run's monotonic clock)
 * @param ret when it returned; -1 for {@link Outcome#UNKNOWN}
 * @param output what it returned, for {@link Outcome#OK} only
 * @param outcome whether it took effect
 * @param error the client's error, for {@link Outcome#UNKNOWN} and {@link Outcome#FAILED}
 */
record Op(
    int client,
    KvInput input,
    long call,
    long ret,
    KvOutput output,
    Outcome outcome,
    String error) {

  /** What became of an operation. */
  enum Outcome {
    /** Acknowledged, with an output. */
    OK,
    /** It may or may not have taken effect (timeout, OutcomeUnknownException, ...). */
    UNKNOWN,
    /** It certainly did not take effect (the client guarantees it); left out of the history. */
    FAILED
  }

  boolean isWrite() {
    return input instanceof KvInput.Put || input instanceof KvInput.Append;
  }

  /** The written value (a unique token) of a Put or Append, else null. */
  String token() {
    if (input instanceof KvInput.Put p) {
      return p.value();
    }
    if (input instanceof KvInput.Append a) {
      return a.value();
    }
    return null;
  }

  /** The return time, with an unknown outcome's as +infinity. */
  long returnOrInfinity() {
    return outcome == Outcome.UNKNOWN ? Long.MAX_VALUE : ret;
  }

  /** This operation for the checker; null for FAILED ones (they did not happen). */
  Operation<KvInput, KvOutput> toOperation() {
    return switch (outcome) {
      case OK -> Operation.completed(client, input, call, ret, output);
      case UNKNOWN -> Operation.unknown(client, input, call);
      case FAILED -> null;
    };
  }

  /** One JSON object (a line of the saved history). */
  String toJson() {
    StringBuilder s = new StringBuilder("{\"client\":").append(client);
    String type =
        input instanceof KvInput.Get
            ? "get"
            : input instanceof KvInput.Put
                ? "put"
                : input instanceof KvInput.Append ? "append" : "delete";
    s.append(",\"op\":\"").append(type).append('"');
    s.append(",\"key\":").append(quote(input.key()));
    if (token() != null) {
      s.append(",\"value\":").append(quote(token()));
    }
    s.append(",\"call\":").append(call);
    s.append(",\"return\":").append(outcome == Outcome.UNKNOWN ? "null" : Long.toString(ret));
    s.append(",\"outcome\":\"")
        .append(outcome.name().toLowerCase(java.util.Locale.ROOT))
        .append('"');
    if (output != null) {
      s.append(",\"output\":");
      if (output.status() == KvOutput.Status.VALUE) {
        s.append(quote(output.value()));
      } else {
        s.append('"').append(output.status().name()).append('"');
      }
    }
    if (error != null) {
      s.append(",\"error\":").append(quote(error));
    }
    return s.append('}').toString();
  }

  static String quote(String v) {
    StringBuilder s = new StringBuilder("\"");
    for (char c : v.toCharArray()) {
      switch (c) {
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        case '\n' -> s.append("\\n");
        default -> {
          if (c < 0x20) {
            s.append(String.format("\\u%04x", (int) c));
          } else {
            s.append(c);
          }
        }
      }
    }
    return s.append('"').toString();
  }
}
