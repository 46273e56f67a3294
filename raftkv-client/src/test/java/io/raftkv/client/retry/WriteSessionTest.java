package io.raftkv.client.retry;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.kvs.SessionHeader;
import java.util.PrimitiveIterator;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** A client's exactly-once session: its id, its sequence numbers, and a new session on expiry. */
class WriteSessionTest {
  private final PrimitiveIterator.OfLong ids = LongStream.of(0, 7, 7, 9).iterator();
  private final WriteSession session = new WriteSession(ids::nextLong);

  private static SessionHeader header(long clientId, long sequence) {
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(sequence).build();
  }

  @Test
  void noSessionExistsBeforeTheFirstWrite() {
    assertThat(session.clientId()).isZero();
    assertThat(session.lastSequence()).isZero();
  }

  @Test
  void theFirstWriteStartsASessionWithANonZeroIdAndLaterWritesKeepIt() {
    // 0 means "no session" on the wire: it is skipped.
    assertThat(session.next()).isEqualTo(header(7, 1));
    assertThat(session.clientId()).isEqualTo(7);
    assertThat(session.lastSequence()).isEqualTo(1);
    assertThat(session.next()).isEqualTo(header(7, 2));
    assertThat(session.lastSequence()).isEqualTo(2);
  }

  @Test
  void aRenewedSessionHasANewIdAndStartsItsSequenceAgain() {
    session.next();
    session.renew();
    // The supplier repeats the current id 7 once: a renewal never keeps the expired id.
    assertThat(session.clientId()).isEqualTo(9);
    assertThat(session.lastSequence()).isZero();
    assertThat(session.next()).isEqualTo(header(9, 1));
  }
}
