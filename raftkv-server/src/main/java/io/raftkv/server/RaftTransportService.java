package io.raftkv.server;

import io.grpc.stub.StreamObserver;
import io.raftkv.proto.raft.DataHolderAnswer;
import io.raftkv.proto.raft.DataHolderQuery;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RaftTransportGrpc;
import io.raftkv.proto.raft.StreamEnd;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The inbound half of the peer transport: every message arriving on a peer's stream goes to the
 * node's queue; nothing is answered on the stream itself (replies are messages of their own).
 * Chaos's inbound faults discard messages here, silently; a message for another node id is refused
 * and counted.
 *
 * <p>Thread-safety: called by gRPC threads; the consumer must be thread-safe.
 */
final class RaftTransportService extends RaftTransportGrpc.RaftTransportImplBase {
  private final int selfId;
  private final Consumer<RaftMessage> node;
  private final Chaos chaos;
  private final Metrics metrics;
  private final Function<DataHolderQuery, DataHolderAnswer> dataHolders;

  /**
   * @param dataHolders answers a starting peer's question whether it has held data ({@link
   *     LostDataCheck})
   */
  RaftTransportService(
      int selfId,
      Consumer<RaftMessage> node,
      Chaos chaos,
      Metrics metrics,
      Function<DataHolderQuery, DataHolderAnswer> dataHolders) {
    this.selfId = selfId;
    this.dataHolders = dataHolders;
    this.node = node;
    this.chaos = chaos;
    this.metrics = metrics;
  }

  @Override
  public void checkDataHolder(DataHolderQuery query, StreamObserver<DataHolderAnswer> answer) {
    answer.onNext(dataHolders.apply(query));
    answer.onCompleted();
  }

  @Override
  public StreamObserver<RaftMessage> stream(StreamObserver<StreamEnd> responses) {
    return new StreamObserver<>() {
      @Override
      public void onNext(RaftMessage m) {
        if (m.getTo() != selfId) {
          metrics.rejected(Metrics.Rejection.WRONG_RECIPIENT);
          return;
        }
        metrics.received(m.getFrom(), m.getSerializedSize());
        if (chaos.dropInbound(m.getFrom())) {
          return; // a chaos drop is silent: the sender times out waiting for a reply
        }
        if (m.hasAppendResponse() && m.getAppendResponse().getSuccess()) {
          metrics.replicationAcked(
              m.getFrom(), m.getTerm(), m.getAppendResponse().getMatchIndex(), System.nanoTime());
        }
        node.accept(m);
      }

      @Override
      public void onError(Throwable t) {
        // The peer went away; it reconnects on its own.
      }

      @Override
      public void onCompleted() {
        responses.onNext(StreamEnd.getDefaultInstance());
        responses.onCompleted();
      }
    };
  }
}
