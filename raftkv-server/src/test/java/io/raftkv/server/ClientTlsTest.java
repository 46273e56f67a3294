package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.client.ClientTls;
import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Client TLS on the KV port ({@code --cert-file --key-file --trusted-ca-file --client-cert-auth}),
 * with certificates made at run time: a client with a certificate from the trusted authority is
 * served; plaintext, no certificate, a certificate from another authority, and a server the
 * client's authority did not sign are all refused; a rotated certificate is used without restart.
 */
class ClientTlsTest {
  @TempDir Path dir;
  private TestCertificates.Authority ca;
  private TestCertificates.Issued serverCert;
  private KvServer server;
  private String address;
  private final List<KvClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    ca = TestCertificates.Authority.create(dir.resolve("ca"), "ca");
    serverCert = ca.issue("node-0", "raftkv-node-0", "raftkv-node-0", "localhost", "127.0.0.1");
    int[] ports = FreePorts.pick(2);
    address = "127.0.0.1:" + ports[1];
    server =
        start(
            "-r",
            Integer.toString(ports[0]),
            "-i",
            "0",
            "-p",
            Integer.toString(ports[1]),
            "--leader",
            "--data-dir",
            dir.resolve("data").toString(),
            "--cert-file",
            serverCert.certFile().toString(),
            "--key-file",
            serverCert.keyFile().toString(),
            "--trusted-ca-file",
            ca.certFile().toString(),
            "--client-cert-auth",
            "--tls-reload-ms",
            "100");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (server.node().status().role() != Role.LEADER) {
      assertThat(System.nanoTime()).as("node 0 leads").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @AfterEach
  void stop() {
    clients.forEach(KvClient::close);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aClientWithACertificateFromTheTrustedAuthorityIsServed() throws Exception {
    TestCertificates.Issued alice = ca.issue("alice", "alice");
    KvClient c = client(new ClientTls(ca.certFile(), alice.certFile(), alice.keyFile()));
    c.put(bytes("k"), bytes("v"));
    assertThat(c.get(bytes("k"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(bytes("v")));
  }

  @Test
  void plaintextIsRefused() {
    assertRefused(ClientTls.PLAINTEXT);
  }

  @Test
  void aClientWithoutACertificateIsRefused() {
    assertRefused(new ClientTls(ca.certFile(), null, null));
  }

  @Test
  void aClientCertificateFromAnotherAuthorityIsRefused() {
    TestCertificates.Authority other =
        TestCertificates.Authority.create(dir.resolve("other"), "other");
    TestCertificates.Issued mallory = other.issue("mallory", "mallory");
    assertRefused(new ClientTls(ca.certFile(), mallory.certFile(), mallory.keyFile()));
  }

  @Test
  void aServerWhoseCertificateTheClientsAuthorityDidNotSignIsRefused() {
    TestCertificates.Authority other =
        TestCertificates.Authority.create(dir.resolve("other"), "other");
    TestCertificates.Issued alice = ca.issue("alice", "alice");
    assertRefused(new ClientTls(other.certFile(), alice.certFile(), alice.keyFile()));
  }

  @Test
  void aRotatedServerCertificateIsUsedWithoutARestart() throws Exception {
    // A new authority signs the node's new certificate and the client's; the node keeps trusting
    // the old authority for clients until its trusted CA file changes too.
    TestCertificates.Authority next =
        TestCertificates.Authority.create(dir.resolve("next"), "next");
    TestCertificates.Issued rotated =
        next.issue("node-0", "raftkv-node-0", "raftkv-node-0", "localhost", "127.0.0.1");
    TestCertificates.Issued alice = ca.issue("alice", "alice");
    ClientTls trustsNext = new ClientTls(next.certFile(), alice.certFile(), alice.keyFile());
    assertRefused(trustsNext);

    // Key first, then certificate, each replaced atomically, as an operator's tool would.
    Files.move(rotated.keyFile(), serverCert.keyFile(), StandardCopyOption.REPLACE_EXISTING);
    Files.move(rotated.certFile(), serverCert.certFile(), StandardCopyOption.REPLACE_EXISTING);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (KvClient c = build(trustsNext)) {
        c.put(bytes("k"), bytes("rotated"));
        break;
      } catch (KvException e) {
        assertThat(System.nanoTime()).as("the rotated certificate is served").isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  private void assertRefused(ClientTls tls) {
    KvClient c = client(tls);
    assertThatThrownBy(() -> c.put(bytes("k"), bytes("v")))
        .isInstanceOf(KvException.class)
        .satisfies(
            e ->
                System.err.println(
                    "REFUSED: "
                        + e.getMessage()
                        + " unknown="
                        + ((KvException) e).outcomeUnknown()));
  }

  private KvClient client(ClientTls tls) {
    KvClient c = build(tls);
    clients.add(c);
    return c;
  }

  private KvClient build(ClientTls tls) {
    return KvClient.builder(List.of(address))
        .timeout(Duration.ofSeconds(2))
        .attemptTimeout(Duration.ofSeconds(1))
        .channelFactory(tls::channel)
        .build();
  }

  private static KvServer start(String... args) {
    SvrMain svr = new SvrMain();
    new CommandLine(svr).parseArgs(args);
    return KvServer.start(svr.toConfig());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
