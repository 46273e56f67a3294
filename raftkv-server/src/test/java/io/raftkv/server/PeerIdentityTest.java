package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.testkit.TestCertificates;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A peer certificate names exactly one member, by the DNS name raftkv-node-<id>. */
class PeerIdentityTest {
  @TempDir Path dir;

  @Test
  void theMemberIsTheDnsNameRaftkvNodeId() throws Exception {
    assertThat(identity("a", "raftkv-node-7", "localhost", "127.0.0.1")).hasValue(7);
  }

  @Test
  void aCertificateNamingTwoMembersNamesNone() throws Exception {
    assertThat(identity("b", "raftkv-node-1", "raftkv-node-2")).isEmpty();
  }

  @Test
  void theCommonNameAloneOrALookalikeNamesNoMember() throws Exception {
    assertThat(identity("c")).isEmpty(); // CN raftkv-node-0, no subjectAltName
    assertThat(identity("d", "raftkv-node-01", "xraftkv-node-1", "raftkv-node-")).isEmpty();
  }

  private OptionalInt identity(String file, String... names) throws Exception {
    TestCertificates.Authority ca = TestCertificates.Authority.create(dir.resolve(file), "ca");
    TestCertificates.Issued issued = ca.issue(file, PeerIdentity.name(0), names);
    try (InputStream in = Files.newInputStream(issued.certFile())) {
      return PeerIdentity.of(
          (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
  }
}
