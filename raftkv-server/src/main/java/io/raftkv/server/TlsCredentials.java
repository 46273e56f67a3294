package io.raftkv.server;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One port's TLS material, loaded from its {@link TlsFiles} and re-read when the files change, so
 * that a rotated certificate (or authority) takes effect without a restart: new handshakes use the
 * new files, established connections keep theirs.
 *
 * <p>grpc's AdvancedTls managers hold the material and swap it atomically; the files are watched
 * here rather than by their own file-refresh methods, which check at most once a minute and install
 * a key and certificate only when both files changed. Here a new pair is installed once the key
 * matches the certificate (a rotation caught halfway waits for the next check), and a file that
 * fails to load is logged while the previous material stays in use.
 *
 * <p>The same material serves the port (server side) and, for the Raft port, dials peers (client
 * side): a peer certificate is good for both, as etcd's are.
 *
 * <p>Thread-safety: {@link #reload} runs on the reloader thread; the managers are thread-safe.
 */
final class TlsCredentials implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TlsCredentials.class);

  private final TlsFiles files;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();

  /** Checks the certificates of those who connect to us; client certificates name no host. */
  private final AdvancedTlsX509TrustManager inbound;

  /** Checks the certificate of the server we dial, and that it has the name we dialed. */
  private final AdvancedTlsX509TrustManager outbound;

  // Reloader-thread state: the files' modification times when last installed.
  private long certTime;
  private long keyTime;
  private long caTime;
  private ScheduledFuture<?> task;

  private TlsCredentials(TlsFiles files) throws GeneralSecurityException {
    this.files = files;
    this.inbound =
        AdvancedTlsX509TrustManager.newBuilder()
            .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
            .build();
    this.outbound =
        AdvancedTlsX509TrustManager.newBuilder()
            .setVerification(
                AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
            .build();
  }

  /**
   * Loads the files now (a bad file fails here, with one line naming it) and checks them for
   * changes every {@code reloadMillis} on {@code reloader}.
   *
   * @throws IllegalArgumentException if a file cannot be read or parsed, or the key does not match
   *     the certificate
   */
  static TlsCredentials load(TlsFiles files, long reloadMillis, ScheduledExecutorService reloader) {
    TlsCredentials c;
    try {
      c = new TlsCredentials(files);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
    c.loadIdentity();
    c.loadTrust();
    c.task =
        reloader.scheduleWithFixedDelay(
            c::reload, reloadMillis, reloadMillis, TimeUnit.MILLISECONDS);
    return c;
  }

  /** Installs whichever files changed since they were last installed. */
  void reload() {
    try {
      if (modified(files.certFile()) != certTime || modified(files.keyFile()) != keyTime) {
        loadIdentity();
        log.info("TLS: installed the certificate {} (its files changed)", files.certFile());
      }
    } catch (IllegalArgumentException e) {
      log.warn("TLS: keeping the previous certificate: {}", e.getMessage());
    }
    try {
      if (files.trustedCaFile() != null && modified(files.trustedCaFile()) != caTime) {
        loadTrust();
        log.info("TLS: installed the trusted CA file {} (it changed)", files.trustedCaFile());
      }
    } catch (IllegalArgumentException e) {
      log.warn("TLS: keeping the previous trusted authorities: {}", e.getMessage());
    }
  }

  private void loadIdentity() {
    long certModified = modified(files.certFile());
    long keyModified = modified(files.keyFile());
    X509Certificate[] chain;
    PrivateKey key;
    try (InputStream in = Files.newInputStream(files.certFile())) {
      chain = CertificateUtils.getX509Certificates(in);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read the TLS certificate " + files.certFile() + ": " + why(e), e);
    }
    try (InputStream in = Files.newInputStream(files.keyFile())) {
      key = CertificateUtils.getPrivateKey(in);
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read the TLS key "
              + files.keyFile()
              + ": "
              + why(e)
              + keyFormatHint(files.keyFile()),
          e);
    }
    if (chain.length == 0) {
      throw new IllegalArgumentException(files.certFile() + " holds no certificate");
    }
    if (!matches(key, chain[0])) {
      throw new IllegalArgumentException(
          "the key " + files.keyFile() + " is not the key of the certificate " + files.certFile());
    }
    keys.updateIdentityCredentials(chain, key);
    certTime = certModified;
    keyTime = keyModified;
  }

  private void loadTrust() {
    if (files.trustedCaFile() == null) {
      return;
    }
    long modified = modified(files.trustedCaFile());
    try (InputStream in = Files.newInputStream(files.trustedCaFile())) {
      X509Certificate[] authorities = CertificateUtils.getX509Certificates(in);
      if (authorities.length == 0) {
        throw new GeneralSecurityException("no certificate in it");
      }
      for (AdvancedTlsX509TrustManager tm : List.of(inbound, outbound)) {
        tm.updateTrustCredentials(authorities);
      }
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read the trusted CA file " + files.trustedCaFile() + ": " + why(e), e);
    }
    caTime = modified;
  }

  /**
   * The port's server side: our certificate; a client certificate required ({@code
   * --client-cert-auth}, and always on the Raft port), or checked when offered (a trusted CA
   * given), or not asked for.
   */
  ServerCredentials serverCredentials() {
    TlsServerCredentials.Builder b = TlsServerCredentials.newBuilder().keyManager(keys);
    if (files.trustedCaFile() != null) {
      b.trustManager(inbound)
          .clientAuth(
              files.clientCertAuth()
                  ? TlsServerCredentials.ClientAuth.REQUIRE
                  : TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    return b.build();
  }

  /**
   * Dialing a peer: our certificate, and the peer's checked against the trusted CA and against the
   * name the channel's authority gives (see {@link PeerIdentity}).
   */
  ChannelCredentials channelCredentials() {
    return TlsChannelCredentials.newBuilder().keyManager(keys).trustManager(outbound).build();
  }

  /** Whether {@code key} is the private half of {@code cert}'s public key: sign, then verify. */
  private static boolean matches(PrivateKey key, X509Certificate cert) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> null;
        };
    if (algorithm == null) {
      return true; // no check for other key types: the handshake will tell
    }
    try {
      byte[] probe = "raftkv".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(probe);
      byte[] signature = s.sign();
      Signature v = Signature.getInstance(algorithm);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static long modified(Path file) {
    return file.toFile().lastModified();
  }

  private static String why(Throwable e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  /** grpc reads PKCS#8 keys only; the commonest mistake is an older PEM format, so say how. */
  private static String keyFormatHint(Path keyFile) {
    try {
      String pem = Files.readString(keyFile, StandardCharsets.US_ASCII);
      if (pem.contains("BEGIN RSA PRIVATE KEY") || pem.contains("BEGIN EC PRIVATE KEY")) {
        return " (the key must be unencrypted PKCS#8, 'BEGIN PRIVATE KEY': convert it with"
            + " openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW)";
      }
      if (pem.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
        return " (the key must not be encrypted: openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW)";
      }
    } catch (IOException | RuntimeException e) {
      // no hint
    }
    return "";
  }

  @Override
  public void close() {
    if (task != null) {
      task.cancel(false);
    }
  }
}
