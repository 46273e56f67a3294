package io.raftkv.client;

import io.raftkv.proto.kvs.Status;

/**
 * A KV operation did not succeed: {@link #status()} says why and {@link #getMessage()} carries the
 * server's one-line explanation (or the client's, for transport failures and deadlines).
 *
 * <p>A plain {@code KvException} means the operation did not take effect. When a write may or may
 * not have been applied, {@link OutcomeUnknownException} (a subclass) is thrown instead.
 */
public class KvException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Status status;
  private final String leaderAddress;

  public KvException(Status status, String message) {
    this(status, message, "");
  }

  public KvException(Status status, String message, String leaderAddress) {
    super(message);
    this.status = status;
    this.leaderAddress = leaderAddress == null ? "" : leaderAddress;
  }

  /** The status of the answer that ended the operation (never {@code OK}). */
  public Status status() {
    return status;
  }

  /** With {@code NOT_LEADER}: the leader's client address when known, else empty. */
  public String leaderAddress() {
    return leaderAddress;
  }

  /** Whether the operation may have taken effect although it did not report success. */
  public boolean outcomeUnknown() {
    return false;
  }
}
