package io.raftkv.bench;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.raftkv.client.ClientTls;
import io.raftkv.testkit.TestCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * The certificates of one TLS cluster that bench starts, made at run time in the cluster's own
 * temporary directory (no openssl, no key ever committed), and the server flags and client settings
 * that use them. Both systems get the same protection: TLS on the client port with client
 * certificates required, and mutual TLS between members.
 *
 * <ul>
 *   <li>{@code ca.crt}: one authority that signs everything and that everyone trusts.
 *   <li>{@code server-<i>}: node i's client-port certificate, naming 127.0.0.1 and localhost (the
 *       clients dial 127.0.0.1). etcd also uses it between members, which dial 127.0.0.1 too.
 *   <li>{@code peer-<i>}: raftkv node i's Raft-port certificate; raftkv accepts a peer only if its
 *       certificate names the member ({@code raftkv-node-<i>}, docs/operations.md, peer identity).
 *   <li>{@code client}: bench's certificate, CN root (scripts/make-certs.sh's client name).
 * </ul>
 *
 * <p>Thread-safety: immutable once made.
 */
final class ClusterCertificates {
  private final Path caFile;
  private final List<TestCertificates.Issued> servers;
  private final List<TestCertificates.Issued> peers;
  private final TestCertificates.Issued client;

  private ClusterCertificates(
      Path caFile,
      List<TestCertificates.Issued> servers,
      List<TestCertificates.Issued> peers,
      TestCertificates.Issued client) {
    this.caFile = caFile;
    this.servers = servers;
    this.peers = peers;
    this.client = client;
  }

  /** Makes the authority and every certificate of a {@code nodes}-node cluster in {@code dir}. */
  static ClusterCertificates create(Path dir, int nodes) {
    TestCertificates.Authority ca = TestCertificates.Authority.create(dir, "ca");
    List<TestCertificates.Issued> servers = new ArrayList<>();
    List<TestCertificates.Issued> peers = new ArrayList<>();
    for (int i = 0; i < nodes; i++) {
      servers.add(ca.issue("server-" + i, "node-" + i, "127.0.0.1", "localhost"));
      String member = "raftkv-node-" + i;
      peers.add(ca.issue("peer-" + i, member, member));
    }
    return new ClusterCertificates(ca.certFile(), servers, peers, ca.issue("client", "root"));
  }

  /** svr's flags for node i: client TLS with client certificates required, peer mTLS. */
  List<String> svrArgs(int i) {
    return flags(i, peers.get(i));
  }

  /**
   * etcd's flags for member i: the same protection (its URLs must be https:// too). etcd checks
   * client certificates on its peer port only when told to.
   */
  List<String> etcdArgs(int i) {
    List<String> args = new ArrayList<>(flags(i, servers.get(i)));
    args.add("--peer-client-cert-auth");
    return args;
  }

  /** svr took etcd's names for these flags, so one list serves both. */
  private List<String> flags(int i, TestCertificates.Issued peer) {
    return TestCertificates.svrTlsFlags(caFile, servers.get(i), peer);
  }

  /** How bench's raftkv clients connect: the authority and bench's certificate (what clt takes). */
  ClientTls clientTls() {
    return new ClientTls(caFile, client.certFile(), client.keyFile());
  }

  /** The same for jetcd, which takes a Netty SslContext. */
  SslContext jetcdSslContext() {
    try {
      return GrpcSslContexts.forClient()
          .trustManager(caFile.toFile())
          .keyManager(client.certFile().toFile(), client.keyFile().toFile())
          .build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot load bench's client certificate for etcd", e);
    }
  }
}
