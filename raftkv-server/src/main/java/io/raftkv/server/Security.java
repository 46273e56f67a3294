package io.raftkv.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Set;

/**
 * TLS on the node's two ports, and what the node accepts without it.
 *
 * @param client TLS on the KV (and Admin) port; null for plaintext
 * @param peer mutual TLS on the Raft port, and the certificate this node dials its peers with; null
 *     for plaintext
 * @param peerInsecure whether the Raft port may listen on a non-loopback address without peer TLS
 * @param tlsReloadMillis how often the certificate and key files are re-read (rotation without a
 *     restart)
 * @param adminUsers with client certificates required, the common names whose holders may call the
 *     Admin RPCs that change things ({@link AdminGuard})
 */
public record Security(
    TlsFiles client,
    TlsFiles peer,
    boolean peerInsecure,
    long tlsReloadMillis,
    Set<String> adminUsers) {
  /** Who may change things by default: etcd's superuser's name. */
  public static final Set<String> DEFAULT_ADMIN_USERS = Set.of("root");

  /** No TLS, Raft on loopback only: the seed's local clusters. */
  public static final Security PLAINTEXT =
      new Security(null, null, false, 10_000, DEFAULT_ADMIN_USERS);

  public Security {
    adminUsers = Set.copyOf(adminUsers);
    if (adminUsers.isEmpty() || adminUsers.stream().anyMatch(String::isBlank)) {
      throw new IllegalArgumentException(
          "--admin-users needs one or more common names, comma-separated (default root)");
    }
    if (peer != null && peer.trustedCaFile() == null) {
      throw new IllegalArgumentException(
          "--peer-cert-file needs --peer-trusted-ca-file: peers check each other's certificates"
              + " (mutual TLS)");
    }
    if (tlsReloadMillis <= 0) {
      throw new IllegalArgumentException("--tls-reload-ms must be positive: " + tlsReloadMillis);
    }
  }

  /**
   * Refuses a Raft port on a non-loopback address without peer TLS (unless {@code
   * --peer-insecure}): anyone who reaches it could forge the leader's appends and votes (issue 12).
   */
  void checkRaftListen(PeerAddress raft) {
    if (peer != null || peerInsecure || loopback(raft.host())) {
      return;
    }
    throw new IllegalArgumentException(
        "the raft address "
            + raft
            + " is not a loopback address and peer TLS is off: anyone who reaches it could forge"
            + " Raft messages; give --peer-cert-file, --peer-key-file and --peer-trusted-ca-file,"
            + " or --peer-insecure on a trusted network");
  }

  private static boolean loopback(String host) {
    try {
      for (InetAddress a : InetAddress.getAllByName(host)) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException e) {
      return false; // the bind fails later with its own message
    }
  }
}
