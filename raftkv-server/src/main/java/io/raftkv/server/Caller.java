package io.raftkv.server;

import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.ServerCall;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who made a call on the KV port, for the Admin service's guard and its log: the remote address,
 * and the common name (CN) of the client certificate the TLS handshake verified, if any.
 *
 * <p>Thread-safety: immutable.
 *
 * @param address the caller's remote address
 * @param commonName the CN of its verified client certificate; null without one (plaintext, a
 *     client that offered none, or a certificate without exactly one CN)
 */
record Caller(SocketAddress address, String commonName) {
  /** The caller of the Admin call being served (null outside one). */
  static final Context.Key<Caller> CURRENT = Context.key("raftkv-caller");

  /** The caller of {@code call}, from its transport's attributes. */
  static Caller of(ServerCall<?, ?> call) {
    return new Caller(
        call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR),
        commonName(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
  }

  /** The caller of the current call, or one with neither address nor name outside a call. */
  static Caller current() {
    Caller c = CURRENT.get();
    return c != null ? c : new Caller(null, null);
  }

  /**
   * The CN of the peer's leaf certificate. A session's peer certificates are only those the
   * handshake verified against the trusted authorities, so the name is the authority's word.
   */
  static String commonName(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? commonName(leaf) : null;
    } catch (SSLPeerUnverifiedException e) {
      return null; // TLS without a client certificate
    }
  }

  /**
   * The subject's CN, if it has exactly one: with two, which one names the holder would depend on
   * who reads it (as a peer certificate naming two members is refused, {@link PeerIdentity}).
   */
  static String commonName(X509Certificate certificate) {
    List<Rdn> rdns;
    try {
      rdns = new LdapName(certificate.getSubjectX500Principal().getName()).getRdns();
    } catch (InvalidNameException e) {
      return null;
    }
    String found = null;
    try {
      for (Rdn rdn : rdns) {
        // toAttributes: a multi-valued RDN (CN=a+CN=b) is one attribute with two values.
        Attribute cn = rdn.toAttributes().get("cn");
        if (cn == null) {
          continue;
        }
        if (found != null || cn.size() != 1 || !(cn.get() instanceof String name)) {
          return null;
        }
        found = name;
      }
    } catch (NamingException e) {
      return null;
    }
    return found;
  }

  /** For the log: {@code CN=root at /127.0.0.1:53412}, or the address alone. */
  @Override
  public String toString() {
    return (commonName != null ? "CN=" + commonName + " at " : "") + address;
  }
}
