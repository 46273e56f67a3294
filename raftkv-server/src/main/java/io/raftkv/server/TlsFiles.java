package io.raftkv.server;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where one port's TLS identity and trust come from: PEM files, re-read while the node runs (see
 * {@link TlsCredentials}).
 *
 * @param certFile this node's certificate chain (PEM)
 * @param keyFile its private key (PEM, unencrypted PKCS#8: {@code BEGIN PRIVATE KEY})
 * @param trustedCaFile the authorities whose certificates the other side must present; null for
 *     none (clients then need no certificate)
 * @param clientCertAuth whether a connecting party must present a certificate signed by {@code
 *     trustedCaFile}
 */
public record TlsFiles(Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth) {
  /**
   * @param flags the flags these come from, for messages: "--" or "--peer-"
   */
  static TlsFiles of(
      String flags, Path certFile, Path keyFile, Path trustedCaFile, boolean clientCertAuth) {
    if (certFile == null && keyFile == null) {
      if (trustedCaFile != null || clientCertAuth) {
        throw new IllegalArgumentException(
            flags
                + "trusted-ca-file and --client-cert-auth need TLS: give "
                + flags
                + "cert-file and "
                + flags
                + "key-file too");
      }
      return null;
    }
    if (certFile == null || keyFile == null) {
      throw new IllegalArgumentException(
          flags + "cert-file and " + flags + "key-file go together: give both or neither");
    }
    if (clientCertAuth && trustedCaFile == null) {
      throw new IllegalArgumentException(
          "--client-cert-auth needs --trusted-ca-file: the authority client certificates are"
              + " checked against");
    }
    readable(flags + "cert-file", certFile);
    readable(flags + "key-file", keyFile);
    if (trustedCaFile != null) {
      readable(flags + "trusted-ca-file", trustedCaFile);
    }
    return new TlsFiles(certFile, keyFile, trustedCaFile, clientCertAuth);
  }

  private static void readable(String flag, Path file) {
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException(flag + " " + file + " is not a readable file");
    }
  }
}
