package io.raftkv.client;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.okhttp.OkHttpChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a client reaches the KV port: plaintext, or TLS with etcdctl's options, {@code --cacert} (the
 * authority the server's certificate is checked against; the JVM's default ones without it) and
 * {@code --cert}/{@code --key} (this client's certificate, for servers started with {@code
 * --client-cert-auth}). The server's certificate must name the host dialed (a DNS or IP
 * subjectAltName), as HTTPS does.
 *
 * <p>Thread-safety: immutable.
 *
 * @param caFile PEM authorities; null for the JVM's defaults
 * @param certFile PEM certificate chain of this client; null for none
 * @param keyFile its private key (PEM, unencrypted PKCS#8); null exactly when {@code certFile} is
 *     (checked when the first channel is made)
 */
public record ClientTls(Path caFile, Path certFile, Path keyFile) {
  /** No TLS. */
  public static final ClientTls PLAINTEXT = new ClientTls(null, null, null);

  /** The lines every clt command's help gives these options. */
  static final String USAGE =
      String.join(
          "\n",
          "  --cacert FILE    Use TLS, and check the server's certificate against the authorities",
          "                   in FILE (PEM).",
          "  --cert FILE, --key FILE",
          "                   Use TLS, and present this client certificate and its key (PEM,",
          "                   PKCS#8), for servers started with --client-cert-auth.");

  /** Whether any TLS option was given. */
  public boolean enabled() {
    return caFile != null || certFile != null;
  }

  /** Whether {@code option} is one of the TLS options (all take a FILE). */
  static boolean isOption(String option) {
    return option.equals("--cacert") || option.equals("--cert") || option.equals("--key");
  }

  /** This with {@code option} (one of {@link #isOption}) set to {@code file}. */
  ClientTls with(String option, String file) throws CltMain.UsageException {
    Path p = Path.of(file);
    if (!Files.isReadable(p)) {
      throw new CltMain.UsageException(option + " " + file + " is not a readable file");
    }
    return switch (option) {
      case "--cacert" -> new ClientTls(p, certFile, keyFile);
      case "--cert" -> new ClientTls(caFile, p, keyFile);
      case "--key" -> new ClientTls(caFile, certFile, p);
      default -> throw new IllegalArgumentException(option);
    };
  }

  /** Checks what the options say together, once all are read. */
  ClientTls checked() throws CltMain.UsageException {
    if ((certFile == null) != (keyFile == null)) {
      throw new CltMain.UsageException("--cert and --key go together: give both or neither");
    }
    return this;
  }

  /** A channel to "host:port": plaintext, or TLS with these files. */
  public ManagedChannel channel(String target) {
    return builder(target).build();
  }

  /**
   * A channel builder for "host:port", credentials set.
   *
   * @throws IllegalArgumentException if a file cannot be read or parsed (one line naming it)
   */
  public OkHttpChannelBuilder builder(String target) {
    if (!enabled()) {
      return OkHttpChannelBuilder.forTarget(target).usePlaintext();
    }
    return OkHttpChannelBuilder.forTarget(target, credentials());
  }

  private ChannelCredentials credentials() {
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException(
          "a client certificate needs its key, and a key its certificate");
    }
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    try {
      if (caFile != null) {
        b.trustManager(caFile.toFile());
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read the --cacert file " + caFile + ": " + e.getMessage(), e);
    }
    try {
      if (certFile != null) {
        b.keyManager(certFile.toFile(), keyFile.toFile());
      }
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot read the client certificate "
              + certFile
              + " or key "
              + keyFile
              + ": "
              + e.getMessage(),
          e);
    }
    return b.build();
  }

  /**
   * Why a call failed in its TLS handshake (a certificate refused either way, TLS against a
   * plaintext port), or null if it did not. Such a call never reached the server's handlers: the
   * server reads no request from a connection whose handshake failed, so nothing was applied, and
   * retrying cannot help until the certificates change.
   */
  static String handshakeFailure(io.grpc.Status status) {
    for (Throwable t = status.getCause(); t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        return "the TLS handshake failed ("
            + (t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName())
            + "): check --cacert, --cert and --key against the server's --cert-file and"
            + " --trusted-ca-file";
      }
    }
    return null;
  }
}
