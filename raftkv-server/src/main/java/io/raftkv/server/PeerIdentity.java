package io.raftkv.server;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a peer certificate names the member it belongs to: a DNS subject alternative name {@code
 * raftkv-node-<id>} (scripts/make-certs.sh also sets it as the common name, for people reading it).
 * A name, not an address: a member keeps its identity when it moves, and the name is checked the
 * way TLS checks every server name, so the dialing side needs nothing beyond standard hostname
 * verification (it dials with that name as the authority).
 *
 * <p>Thread-safety: stateless.
 */
final class PeerIdentity {
  private static final String PREFIX = "raftkv-node-";
  private static final Pattern NAME =
      Pattern.compile(Pattern.quote(PREFIX) + "(0|[1-9][0-9]{0,9})");

  /** The subjectAltName entry type of a DNS name (RFC 5280, 4.2.1.6). */
  private static final int DNS_NAME = 2;

  private PeerIdentity() {}

  /** The name node {@code id}'s peer certificate carries. */
  static String name(int id) {
    return PREFIX + id;
  }

  /**
   * The member {@code certificate} names, if it names exactly one (a certificate naming two would
   * let its holder speak for both).
   */
  static OptionalInt of(X509Certificate certificate) {
    Collection<List<?>> names;
    try {
      names = certificate.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return OptionalInt.empty();
    }
    if (names == null) {
      return OptionalInt.empty();
    }
    OptionalInt found = OptionalInt.empty();
    for (List<?> n : names) {
      if (n.size() < 2 || !(n.get(0) instanceof Integer type) || type != DNS_NAME) {
        continue;
      }
      Matcher m = NAME.matcher(String.valueOf(n.get(1)));
      if (m.matches()) {
        long id = Long.parseLong(m.group(1));
        if (id > Integer.MAX_VALUE || found.isPresent()) {
          return OptionalInt.empty();
        }
        found = OptionalInt.of((int) id);
      }
    }
    return found;
  }
}
