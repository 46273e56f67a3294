package io.raftkv.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificate authorities and the certificates they sign, made at run time for tests (no private
 * key is ever committed), written as PEM files the way {@code scripts/make-certs.sh} writes them:
 * certificates as {@code CERTIFICATE} blocks, keys unencrypted PKCS#8 ({@code PRIVATE KEY}).
 *
 * <p>Keys are EC P-256 (milliseconds to generate, unlike RSA). Thread-safety: an {@link Authority}
 * may issue from several threads; each issued name must be unique within its directory.
 */
public final class TestCertificates {
  private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

  private TestCertificates() {}

  /** A certificate and its private key, as PEM files. */
  public record Issued(Path certFile, Path keyFile) {}

  /**
   * svr's TLS flags (etcd's names, so etcd takes the same list): client TLS with client
   * certificates required, and mutual TLS between members, all trusting {@code trustedCa}.
   *
   * @param peer the node's peer certificate, naming the member (raftkv-node-&lt;id&gt;)
   */
  public static java.util.List<String> svrTlsFlags(Path trustedCa, Issued server, Issued peer) {
    return java.util.List.of(
        "--cert-file",
        server.certFile().toString(),
        "--key-file",
        server.keyFile().toString(),
        "--trusted-ca-file",
        trustedCa.toString(),
        "--client-cert-auth",
        "--peer-cert-file",
        peer.certFile().toString(),
        "--peer-key-file",
        peer.keyFile().toString(),
        "--peer-trusted-ca-file",
        trustedCa.toString());
  }

  /** A self-signed certificate authority whose files live in one directory. */
  public static final class Authority {
    private final Path dir;
    private final KeyPair keys;
    private final X509Certificate certificate;
    private final Path certFile;

    private Authority(Path dir, KeyPair keys, X509Certificate certificate, Path certFile) {
      this.dir = dir;
      this.keys = keys;
      this.certificate = certificate;
      this.certFile = certFile;
    }

    /**
     * A new authority named {@code name}, its certificate written to {@code dir/name.crt} (the
     * directory is created if needed).
     */
    public static Authority create(Path dir, String name) {
      try {
        Files.createDirectories(dir);
        KeyPair keys = newKeyPair();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = builder(subject, subject, keys, Duration.ofDays(1));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate cert = sign(b, keys.getPrivate());
        Path file = dir.resolve(name + ".crt");
        writePem(file, "CERTIFICATE", cert.getEncoded());
        return new Authority(dir, keys, cert, file);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The authority's own certificate (what a peer trusts), PEM. */
    public Path certFile() {
      return certFile;
    }

    /**
     * A certificate for {@code commonName}, good for TLS servers and clients both, with these
     * subject alternative names (DNS names, and IP addresses written as such): {@code
     * dir/fileName.crt} and {@code dir/fileName.key}.
     */
    public Issued issue(String fileName, String commonName, String... altNames) {
      return issue(fileName, commonName, Duration.ofDays(1), altNames);
    }

    /** As {@link #issue(String, String, String...)}, valid for {@code validity} from now. */
    public Issued issue(String fileName, String commonName, Duration validity, String... altNames) {
      try {
        KeyPair leaf = newKeyPair();
        X509v3CertificateBuilder b =
            builder(
                new X500Name(certificate.getSubjectX500Principal().getName()),
                new X500Name("CN=" + commonName),
                leaf,
                validity);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(
            Extension.keyUsage,
            true,
            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(
            Extension.extendedKeyUsage,
            false,
            new ExtendedKeyUsage(
                new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        if (altNames.length > 0) {
          List<GeneralName> names = new ArrayList<>();
          for (String n : altNames) {
            boolean ip = n.matches("[0-9.]+") || n.contains(":");
            names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
          }
          b.addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(names.toArray(GeneralName[]::new)));
        }
        X509Certificate cert = sign(b, keys.getPrivate());
        Path certOut = dir.resolve(fileName + ".crt");
        Path keyOut = dir.resolve(fileName + ".key");
        writePem(certOut, "CERTIFICATE", cert.getEncoded());
        writePem(keyOut, "PRIVATE KEY", leaf.getPrivate().getEncoded());
        return new Issued(certOut, keyOut);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509v3CertificateBuilder builder(
      X500Name issuer, X500Name subject, KeyPair keys, Duration validity) {
    // An hour back: a machine whose clock is a little behind still accepts the certificate.
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIALS.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(validity)),
        subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey issuerKey)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static void writePem(Path file, String type, byte[] der) throws IOException {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    Files.writeString(
        file,
        "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n",
        StandardCharsets.US_ASCII);
  }
}
