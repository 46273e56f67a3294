package io.raftkv.server;

/** Where a member listens for Raft traffic. */
public record PeerAddress(String host, int port) {

  /**
   * Parses the seed's {@code -r} entries: a bare port (on localhost) or {@code host:port}.
   *
   * @throws IllegalArgumentException with a one-line reason
   */
  public static PeerAddress parse(String text) {
    String s = text.trim();
    String host = "127.0.0.1";
    String port = s;
    int colon = s.lastIndexOf(':');
    if (colon >= 0) {
      host = s.substring(0, colon);
      port = s.substring(colon + 1);
      if (host.isEmpty()) {
        throw new IllegalArgumentException("missing host in '" + text + "'");
      }
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a port or host:port");
    }
    if (p < 1 || p > 65535) {
      throw new IllegalArgumentException("port " + p + " is out of range 1-65535");
    }
    return new PeerAddress(host, p);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
