package io.raftkv.client;

import io.raftkv.proto.kvs.Status;

/**
 * A write ended without a definite answer: it may have been applied, or not. This happens when the
 * deadline passes after an attempt that timed out, found the cluster unavailable or lost its
 * connection, and when the cluster forgot the client's session (SESSION_EXPIRED) after such an
 * attempt. Reading the key tells what happened; retrying an APPEND may apply it twice.
 */
public final class OutcomeUnknownException extends KvException {
  private static final long serialVersionUID = 1L;

  public OutcomeUnknownException(Status status, String message) {
    super(status, message);
  }

  @Override
  public boolean outcomeUnknown() {
    return true;
  }
}
