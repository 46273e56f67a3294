package io.raftkv.client.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import io.raftkv.proto.kvs.SessionHeader;
import org.junit.jupiter.api.Test;

/**
 * A client's exactly-once session: the id the cluster registered (§6.3), its sequence numbers, and
 * its loss on expiry.
 */
class WriteSessionTest {
  private final WriteSession session = new WriteSession();

  private static SessionHeader header(long clientId, long sequence) {
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(sequence).build();
  }

  @Test
  void noSessionExistsBeforeTheClientRegisters() {
    assertThat(session.registered()).isFalse();
    assertThat(session.clientId()).isZero();
    assertThat(session.lastSequence()).isZero();
    assertThatIllegalStateException().isThrownBy(session::next);
  }

  @Test
  void aRegisteredSessionNumbersItsWritesFromOne() {
    session.registered(7);
    assertThat(session.next()).isEqualTo(header(7, 1));
    assertThat(session.clientId()).isEqualTo(7);
    assertThat(session.next()).isEqualTo(header(7, 2));
    assertThat(session.lastSequence()).isEqualTo(2);
  }

  @Test
  void anExpiredSessionIsForgottenAndANewRegistrationStartsAgainAtOne() {
    session.registered(7);
    session.next();
    session.expired();
    assertThat(session.registered()).isFalse();
    assertThat(session.clientId()).isZero();
    session.registered(9);
    assertThat(session.next()).isEqualTo(header(9, 1));
  }

  @Test
  void clientIdZeroIsNoSession() {
    assertThatIllegalArgumentException().isThrownBy(() -> session.registered(0));
  }
}
