package io.raftkv.nemesis;

import io.grpc.ManagedChannel;
import io.raftkv.client.ClientTls;
import io.raftkv.testkit.TestCertificates;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How the nemesis's cluster speaks: plaintext, or TLS everywhere as docs/operations.md sets it up
 * (nemesis {@code --tls}). With TLS a certificate authority is made at run time (no key is ever
 * committed); each node gets a KV certificate naming 127.0.0.1 and localhost, checked by the
 * clients, and a peer certificate naming {@code raftkv-node-<id>}, the member identity the Raft
 * port admits; every client of the nemesis (the workload, the checks, the Admin calls: Chaos,
 * Status, membership changes) presents one certificate whose common name is {@code root}, svr's
 * default admin user, since svr runs with {@code --client-cert-auth}. A member added during the run
 * (replace-node, grow) gets its certificates when it is first started.
 *
 * <p>Not thread-safe for {@link #svrFlags} (the nemesis thread starts the nodes); {@link #channel}
 * is called by the clients' threads and only reads.
 */
final class ClusterTls {
  /** No TLS: plaintext svr, plaintext channels. */
  static final ClusterTls PLAINTEXT = new ClusterTls(null, ClientTls.PLAINTEXT);

  /** The CN of the nemesis's client certificate: svr's default {@code --admin-users}. */
  static final String ADMIN = "root";

  private final TestCertificates.Authority ca;
  private final ClientTls client;
  private final Map<Integer, List<String>> flags = new HashMap<>();

  private ClusterTls(TestCertificates.Authority ca, ClientTls client) {
    this.ca = ca;
    this.client = client;
  }

  /** A new authority and the nemesis's client certificate, their files under {@code dir}. */
  static ClusterTls create(Path dir) {
    TestCertificates.Authority ca = TestCertificates.Authority.create(dir, "ca");
    TestCertificates.Issued admin = ca.issue("client-" + ADMIN, ADMIN);
    return new ClusterTls(ca, new ClientTls(ca.certFile(), admin.certFile(), admin.keyFile()));
  }

  boolean enabled() {
    return ca != null;
  }

  /**
   * The TLS flags of node {@code id}'s svr command line (none in plaintext), its certificates
   * issued the first time (a restart reuses them).
   */
  List<String> svrFlags(int id) {
    if (!enabled()) {
      return List.of();
    }
    return flags.computeIfAbsent(id, this::issue);
  }

  private List<String> issue(int id) {
    TestCertificates.Issued kv =
        ca.issue("node-" + id + "-kv", "node-" + id, "127.0.0.1", "localhost");
    // The peer identity is the DNS subjectAltName raftkv-node-<id> (PeerIdentity); it is the CN
    // too, as scripts/make-certs.sh writes it, for people reading the certificate.
    String member = "raftkv-node-" + id;
    TestCertificates.Issued peer = ca.issue("node-" + id + "-peer", member, member);
    return TestCertificates.svrTlsFlags(ca.certFile(), kv, peer);
  }

  /** A channel to a node's KV port ("host:port"): what every client of the nemesis dials. */
  ManagedChannel channel(String target) {
    return client.channel(target);
  }

  @Override
  public String toString() {
    return enabled()
        ? "TLS on the KV and Raft ports (client certificates required; authority "
            + ca.certFile()
            + ")"
        : "plaintext";
  }
}
