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

  /**
   * The same address in one spelling, so that equal sockets compare equal: the host in lower case,
   * {@code localhost} as {@code 127.0.0.1}, an IPv6 literal without brackets and in its canonical
   * form. Names other than localhost are not resolved (no DNS at start-up).
   */
  public PeerAddress normalized() {
    String h = host.toLowerCase(java.util.Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equals("localhost")) {
      h = "127.0.0.1";
    } else if (h.indexOf(':') >= 0 || h.matches("[0-9.]+")) {
      try {
        // A literal: parsed, never looked up.
        h = java.net.InetAddress.getByName(h).getHostAddress();
      } catch (java.net.UnknownHostException e) {
        // not a valid literal after all: keep the text, binding will report it
      }
    }
    return new PeerAddress(h, port);
  }

  /**
   * Whether a server bound to this address and one bound to {@code other} would need the same
   * socket: same port, and the same host or a wildcard host (0.0.0.0, ::) on either side. Both must
   * be {@link #normalized()}.
   */
  public boolean sameSocket(PeerAddress other) {
    return port == other.port && (host.equals(other.host) || wildcard() || other.wildcard());
  }

  private boolean wildcard() {
    return host.equals("0.0.0.0") || host.equals("0:0:0:0:0:0:0:0");
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
