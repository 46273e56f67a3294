package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.testkit.TestCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS cluster of docs/operations.md on real processes: three {@code build/dev/svr} nodes with
 * client certificates required on the KV port and mutual TLS naming the member on the Raft port,
 * certificates made at run time (no openssl, no committed keys). A client with a certificate reads
 * and writes; a plaintext one is refused; a certificate that is not an admin user's may read the
 * status but not change the members; and after kill -9 of the leader the others elect a new one
 * over peer TLS and a write succeeds.
 */
class TlsClusterProcessTest {

  @Test
  void aTlsClusterServesCertifiedClientsRefusesOthersAndSurvivesItsLeadersDeath(@TempDir Path dir)
      throws Exception {
    TestCertificates.Authority ca = TestCertificates.Authority.create(dir.resolve("certs"), "ca");
    List<TestCertificates.Issued> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      // One certificate per node for both ports, as scripts/make-certs.sh makes them.
      String name = "raftkv-node-" + i;
      nodes.add(ca.issue("node-" + i, name, name, "localhost", "127.0.0.1"));
    }
    String[] root = tls(ca, ca.issue("root", "root"));
    String[] alice = tls(ca, ca.issue("alice", "alice"));

    try (LocalCluster c = new LocalCluster(3, dir.resolve("cluster"), "--client-cert-auth")) {
      c.nodeArgs(
              i ->
                  List.of(
                      "--cert-file", nodes.get(i).certFile().toString(),
                      "--key-file", nodes.get(i).keyFile().toString(),
                      "--trusted-ca-file", ca.certFile().toString(),
                      "--peer-cert-file", nodes.get(i).certFile().toString(),
                      "--peer-key-file", nodes.get(i).keyFile().toString(),
                      "--peer-trusted-ca-file", ca.certFile().toString()))
          .cltArgs(root);
      c.startAll(0);

      LocalCluster.Result put = c.cltAny("-o", "PUT", "-k", "hello", "-v", "world");
      assertThat(put.exit()).as("PUT over TLS: %s\n%s", put, c.logs()).isZero();
      LocalCluster.Result get = c.cltAny("-o", "GET", "-k", "hello");
      assertThat(get.exit()).as("GET over TLS: %s", get).isZero();
      assertThat(get.out().strip()).isEqualTo("world");

      // The server closes a plaintext connection in the handshake: clt cannot tell that from a
      // lost connection, so it exits 4 (docs/operations.md, TLS).
      LocalCluster.Result plain =
          LocalCluster.run(
              List.of("-s", c.kvsList(), "-o", "GET", "-k", "hello", "--timeout-ms", "3000"));
      assertThat(plain.exit()).as("plaintext: %s", plain).isEqualTo(4);
      assertThat(plain.out()).isEmpty();

      // Any certified client may read the status; changes need an --admin-users name (root).
      assertThat(run(alice, "status", "-s", c.kvsList()).exit()).isZero();
      LocalCluster.Result remove = run(alice, "member", "remove", "-s", c.kvsList(), "--id", "2");
      assertThat(remove.exit()).as("alice removes a member: %s", remove).isEqualTo(4);
      assertThat(remove.err().strip().lines()).hasSize(1);
      assertThat(remove.err())
          .contains("permission denied")
          .contains("--admin-users root; this client's is 'alice'");

      int leader = c.findLeader();
      c.kill(leader);
      LocalCluster.Result after =
          c.cltAny("-o", "PUT", "-k", "after", "-v", "failover", "--timeout-ms", "20000");
      assertThat(after.exit())
          .as("a write after the leader's kill -9: %s\n%s", after, c.logs())
          .isZero();
      int next = c.findLeader();
      assertThat(next).isNotEqualTo(leader);
      LocalCluster.Result read = c.clt(next, "-o", "GET", "-k", "hello");
      assertThat(read.out().strip()).as("%s", read).isEqualTo("world");
      assertThat(c.log(next)).doesNotContain("refused a Raft stream");
    }
  }

  private static String[] tls(TestCertificates.Authority ca, TestCertificates.Issued client) {
    return new String[] {
      "--cacert", ca.certFile().toString(),
      "--cert", client.certFile().toString(),
      "--key", client.keyFile().toString()
    };
  }

  /** clt with these TLS options rather than the cluster's. */
  private static LocalCluster.Result run(String[] tls, String... args) {
    List<String> cmd = new ArrayList<>(List.of(args));
    cmd.addAll(List.of(tls));
    return LocalCluster.run(cmd);
  }
}
