package io.raftkv.server;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.nio.charset.StandardCharsets;

/**
 * Dials this node's peers on their Raft ports: the message streams ({@link PeerClient}) and the
 * snapshot transfers alike. Every call carries who sends it, the cluster id and this node's id, as
 * headers the receiver checks ({@link PeerAuthenticator}). With peer TLS the channel presents this
 * node's certificate and accepts only a peer whose certificate names the member it dials ({@link
 * PeerIdentity}): the name is the channel's authority, so standard hostname verification checks it.
 *
 * <p>Thread-safety: immutable.
 */
final class PeerChannels {
  /** The sender's cluster id (UTF-8: a cluster id is any text). */
  static final Metadata.Key<byte[]> CLUSTER_ID =
      Metadata.Key.of("raftkv-cluster-id-bin", Metadata.BINARY_BYTE_MARSHALLER);

  /** The sender's node id, in decimal. */
  static final Metadata.Key<String> SENDER_ID =
      Metadata.Key.of("raftkv-sender-id", Metadata.ASCII_STRING_MARSHALLER);

  private final Metadata headers = new Metadata();
  private final ChannelCredentials credentials;
  private final boolean tls;

  /**
   * @param tls this node's peer TLS material; null for plaintext
   */
  PeerChannels(int selfId, String clusterId, TlsCredentials tls) {
    headers.put(CLUSTER_ID, clusterId.getBytes(StandardCharsets.UTF_8));
    headers.put(SENDER_ID, Integer.toString(selfId));
    this.tls = tls != null;
    this.credentials = tls != null ? tls.channelCredentials() : InsecureChannelCredentials.create();
  }

  /** Plaintext channels (tests that run a transport without a node). */
  static PeerChannels plaintext(int selfId, String clusterId) {
    return new PeerChannels(selfId, clusterId, null);
  }

  /** A new channel to member {@code peerId} at {@code address}. */
  ManagedChannel open(int peerId, PeerAddress address, int maxInboundMessageBytes) {
    NettyChannelBuilder b =
        NettyChannelBuilder.forAddress(address.host(), address.port(), credentials)
            .maxInboundMessageSize(maxInboundMessageBytes)
            .intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    if (tls) {
      b.overrideAuthority(PeerIdentity.name(peerId));
    }
    return b.build();
  }
}
