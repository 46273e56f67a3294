package io.raftkv.client.retry;

import io.raftkv.proto.kvs.SessionHeader;

/**
 * A client's exactly-once session: the client id the cluster gave it when it registered
 * (RegisterClient, dissertation §6.3: the index of the registration's log entry) and the sequence
 * number of its last write (1, 2, 3...). Every attempt of one write carries the same (id,
 * sequence), so the cluster applies it at most once. The client registers lazily, before its first
 * write, and again after SESSION_EXPIRED: the cluster answers SESSION_EXPIRED to any write naming
 * an id it has no session for, so an id is never made up by the client.
 *
 * <p>Not thread-safe: one write is outstanding per session, and the caller serializes them.
 */
public final class WriteSession {
  private long clientId;
  private long lastSequence;

  /** Whether a session is registered (false before the first write and after an expiry). */
  boolean registered() {
    return clientId != 0;
  }

  /** The cluster registered a session with this id: sequence numbers start at 1. */
  void registered(long id) {
    if (id == 0) {
      throw new IllegalArgumentException("client id 0 means no session");
    }
    clientId = id;
    lastSequence = 0;
  }

  /** The cluster has no session of this id any more: the next write registers a new one. */
  void expired() {
    clientId = 0;
    lastSequence = 0;
  }

  /** The session of the next write: a new sequence number. */
  SessionHeader next() {
    if (clientId == 0) {
      throw new IllegalStateException("no session is registered");
    }
    lastSequence++;
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(lastSequence).build();
  }

  /** The current client id (0 when none is registered). */
  public long clientId() {
    return clientId;
  }

  /** The sequence number of the last write sent (0 before the first write of a session). */
  public long lastSequence() {
    return lastSequence;
  }
}
