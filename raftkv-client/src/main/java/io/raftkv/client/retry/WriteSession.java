package io.raftkv.client.retry;

import io.raftkv.proto.kvs.SessionHeader;
import java.util.function.LongSupplier;

/**
 * A client's exactly-once session: a random non-zero 64-bit client id and the sequence number of
 * its last write (1, 2, 3...). Every attempt of one write carries the same (id, sequence), so the
 * cluster applies it at most once; SESSION_EXPIRED starts a new session (new id, sequence 1).
 *
 * <p>Not thread-safe: one write is outstanding per session, and the caller serializes them.
 */
public final class WriteSession {
  private final LongSupplier ids;
  private long clientId;
  private long lastSequence;

  /** {@code ids}: where client ids come from (zeros and the current id are skipped). */
  public WriteSession(LongSupplier ids) {
    this.ids = ids;
  }

  /** The session of the next write: a new sequence number (and a session if none yet). */
  SessionHeader next() {
    if (clientId == 0) {
      renew();
    }
    lastSequence++;
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(lastSequence).build();
  }

  /** Starts a new session: a new client id, sequence numbers from 1 again. */
  void renew() {
    long id;
    do {
      id = ids.getAsLong();
    } while (id == 0 || id == clientId);
    clientId = id;
    lastSequence = 0;
  }

  /** The current client id (0 before the first write). */
  public long clientId() {
    return clientId;
  }

  /** The sequence number of the last write sent (0 before the first write of a session). */
  public long lastSequence() {
    return lastSequence;
  }
}
