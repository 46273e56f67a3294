package io.raftkv.server;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one connection may cost a node, on both gRPC ports: the largest message accepted, and when
 * idle or silent connections are closed.
 *
 * <p>The message bound is what keeps a hostile or careless client from exhausting the node's
 * memory: gRPC reads each message's length prefix first and refuses a message over the bound before
 * buffering it (the call fails with RESOURCE_EXHAUSTED), so five concurrent 300 MB Puts cost the
 * leader nothing but five refused streams. Per-connection flow control stays gRPC's default (a
 * window per stream and per connection, auto-tuned), which bounds what a connection can have in
 * flight.
 *
 * <p>Thread-safety: stateless.
 */
final class ConnectionLimits {
  /**
   * Room above the user data in one message: protobuf framing, the session header, a leader's term
   * and indexes, a snapshot chunk's header. Generous, since exceeding it would refuse a valid
   * request.
   */
  static final int OVERHEAD_BYTES = 64 << 10;

  /** A client may ping at most this often (etcd's --grpc-keepalive-min-time is 5 s). */
  static final long PERMIT_KEEPALIVE_SECONDS = 5;

  /** The server pings a connection that has been silent this long, to find dead peers... */
  static final long KEEPALIVE_SECONDS = 30;

  /** ...and closes it if the ping is not answered within this. */
  static final long KEEPALIVE_TIMEOUT_SECONDS = 10;

  /**
   * A connection with no call for this long is closed (gracefully: clients reconnect on their next
   * call). Peer streams are never idle; this reclaims abandoned client connections.
   */
  static final long MAX_CONNECTION_IDLE_SECONDS = 300;

  /** A new connection must complete the HTTP/2 handshake within this (a slow-loris bound). */
  static final long HANDSHAKE_TIMEOUT_SECONDS = 20;

  private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);

  /**
   * grpc-netty's (java.util.logging) logger of refused messages. Held here: JUL keeps loggers
   * weakly, and a collected one would lose the filter.
   */
  private static final java.util.logging.Logger REFUSALS =
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

  private ConnectionLimits() {}

  /**
   * The KV port's (and Admin's) largest message: a PUT or APPEND of the largest key and value.
   * Admin requests are small; snapshot backups are server-streamed (nothing large comes in).
   */
  static int kvsMaxMessageBytes(ServerConfig c) {
    return saturated((long) c.maxKeyBytes() + c.maxValueBytes() + OVERHEAD_BYTES);
  }

  /**
   * The Raft port's largest message: an AppendEntries carries at most {@code --max-message-bytes}
   * of entries, or one entry when a single one is larger (a command of the largest key and value);
   * a snapshot chunk carries {@link SnapshotStreamer#CHUNK_BYTES}. The bound takes the sum of the
   * two entry terms, so that nodes restarted with smaller limits still accept the entries already
   * in their peers' logs.
   */
  static int raftMaxMessageBytes(ServerConfig c) {
    long entries = c.maxMessageBytes() + c.maxKeyBytes() + c.maxValueBytes();
    return saturated(Math.max(entries, SnapshotStreamer.CHUNK_BYTES) + OVERHEAD_BYTES);
  }

  /** Sets the message bound, keepalive and idle timeouts on a server about to be built. */
  static NettyServerBuilder apply(NettyServerBuilder b, int maxMessageBytes) {
    logRefusalsOnOneLine();
    return b.maxInboundMessageSize(maxMessageBytes)
        .permitKeepAliveTime(PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(false)
        .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .maxConnectionIdle(MAX_CONNECTION_IDLE_SECONDS, TimeUnit.SECONDS)
        .handshakeTimeout(HANDSHAKE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * gRPC logs each refused message with a 20-line stack trace on stderr; a client sending oversized
   * calls in a loop would bury the node's log in them. One line each instead.
   */
  private static void logRefusalsOnOneLine() {
    REFUSALS.setFilter(
        r -> {
          if (r.getThrown() == null || !"Exception processing message".equals(r.getMessage())) {
            return true;
          }
          log.warn("refused a message: {}", r.getThrown().getMessage());
          return false;
        });
  }

  private static int saturated(long bytes) {
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }
}
