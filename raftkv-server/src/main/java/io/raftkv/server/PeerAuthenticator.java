package io.raftkv.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.snapshot.SnapshotChunk;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.EnumMap;
import java.util.Map;
import java.util.OptionalInt;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits Raft traffic only from this cluster's members, on the Raft port (message streams and
 * snapshot transfers alike):
 *
 * <ul>
 *   <li>a stream must carry this cluster's id ({@link PeerChannels#CLUSTER_ID}); another cluster's
 *       nodes pointed at this port (or a raw client) are refused before any message is read;
 *   <li>the stream's sender is the member its peer certificate names ({@link PeerIdentity}) with
 *       peer TLS, else the id it declares ({@link PeerChannels#SENDER_ID}); with TLS a declared id
 *       that differs, or a certificate naming no member, refuses the stream;
 *   <li>every message's {@code from} must be that sender: a message claiming another member (the
 *       forged append of issue 12) is dropped, or, as the first chunk of a snapshot, ends the
 *       transfer.
 * </ul>
 *
 * Without TLS the sender id is only a claim: it stops misconfiguration and other clusters, not a
 * forger, who can declare any id. Peer TLS is what makes the identity hold. Every refusal is
 * counted ({@link Metrics.Rejection}) and logged, at most once per 10 s per reason.
 *
 * <p>Thread-safety: thread-safe (gRPC calls it from its threads).
 */
final class PeerAuthenticator implements ServerInterceptor {
  private static final Logger log = LoggerFactory.getLogger(PeerAuthenticator.class);

  private final int selfId;
  private final String clusterId;
  private final boolean tls;
  private final Metrics metrics;
  private final Map<Metrics.Rejection, RateLimitedLog> warnings =
      new EnumMap<>(Metrics.Rejection.class);

  /**
   * @param tls whether the port runs peer TLS: then the certificate decides who sends
   */
  PeerAuthenticator(int selfId, String clusterId, boolean tls, Metrics metrics) {
    this.selfId = selfId;
    this.clusterId = clusterId;
    this.tls = tls;
    this.metrics = metrics;
    for (Metrics.Rejection r : Metrics.Rejection.values()) {
      warnings.put(r, new RateLimitedLog(log));
    }
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    byte[] cluster = headers.get(PeerChannels.CLUSTER_ID);
    String theirCluster = cluster == null ? null : new String(cluster, StandardCharsets.UTF_8);
    if (!clusterId.equals(theirCluster)) {
      return refuse(
          call,
          Metrics.Rejection.WRONG_CLUSTER,
          theirCluster == null
              ? "a Raft stream without a cluster id (not a raftkv peer)"
              : "a Raft stream from cluster '" + theirCluster + "'; this is '" + clusterId + "'");
    }
    OptionalInt declared = parse(headers.get(PeerChannels.SENDER_ID));
    OptionalInt sender = declared;
    if (tls) {
      sender = certifiedMember(call);
      if (sender.isEmpty()) {
        return refuse(
            call,
            Metrics.Rejection.NO_MEMBER_CERTIFICATE,
            "a Raft stream whose certificate names no member (want the DNS name"
                + " raftkv-node-<id>)");
      }
      if (declared.isPresent() && declared.getAsInt() != sender.getAsInt()) {
        return refuse(
            call,
            Metrics.Rejection.SENDER_MISMATCH,
            "a Raft stream declaring node "
                + declared.getAsInt()
                + " with the certificate of node "
                + sender.getAsInt());
      }
    }
    if (sender.isEmpty()) {
      return refuse(call, Metrics.Rejection.SENDER_MISMATCH, "a Raft stream without a sender id");
    }
    return new Checked<>(next.startCall(call, headers), call, sender.getAsInt());
  }

  /** Checks each message's sender against the stream's. */
  private final class Checked<Q, A>
      extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, A> call;
    private final int sender;
    private boolean closed;

    Checked(ServerCall.Listener<Q> delegate, ServerCall<Q, A> call, int sender) {
      super(delegate);
      this.call = call;
      this.sender = sender;
    }

    @Override
    public void onMessage(Q message) {
      if (closed) {
        return;
      }
      int from;
      boolean snapshot = false;
      if (message instanceof RaftMessage m) {
        from = m.getFrom();
      } else if (message instanceof SnapshotChunk c && c.hasMessage()) {
        from = c.getMessage().getFrom();
        snapshot = true;
      } else {
        super.onMessage(message);
        return;
      }
      if (from == sender) {
        super.onMessage(message);
        return;
      }
      String why =
          "a message from node "
              + from
              + " on node "
              + sender
              + "'s stream"
              + (tls ? " (its certificate)" : "");
      count(call, Metrics.Rejection.SENDER_MISMATCH, why);
      if (snapshot) {
        closed = true;
        call.close(Status.PERMISSION_DENIED.withDescription("refused: " + why), new Metadata());
      } else {
        call.request(1); // dropped: the stream goes on (the service would have asked for the next)
      }
    }
  }

  private <Q, A> ServerCall.Listener<Q> refuse(
      ServerCall<Q, A> call, Metrics.Rejection reason, String why) {
    count(call, reason, why);
    call.close(
        Status.PERMISSION_DENIED.withDescription("node " + selfId + " refused " + why),
        new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private void count(ServerCall<?, ?> call, Metrics.Rejection reason, String why) {
    metrics.rejected(reason);
    warnings
        .get(reason)
        .warn(
            "node "
                + selfId
                + " refused "
                + why
                + " from "
                + call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
  }

  /** The member the peer's TLS certificate names, if any. */
  private static OptionalInt certifiedMember(ServerCall<?, ?> call) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return OptionalInt.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate leaf
          ? PeerIdentity.of(leaf)
          : OptionalInt.empty();
    } catch (SSLPeerUnverifiedException e) {
      return OptionalInt.empty();
    }
  }

  private static OptionalInt parse(String id) {
    if (id == null) {
      return OptionalInt.empty();
    }
    try {
      return OptionalInt.of(Integer.parseInt(id));
    } catch (NumberFormatException e) {
      return OptionalInt.empty();
    }
  }
}
