package io.raftkv.server;

import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.ReadyProcessor;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Sends the core's messages to peers over gRPC: one {@link PeerClient} (channel, stream, bounded
 * queue) per peer, all driven by one small executor, so that the node's loop only enqueues.
 *
 * <p>Thread-safety: {@link #send} may be called from any thread.
 */
final class PeerTransport implements ReadyProcessor.MessageSender, AutoCloseable {
  private final ScheduledExecutorService executor;
  private final Map<Integer, PeerClient> peers = new TreeMap<>();

  /**
   * @param addresses every member's raft address by id (this node's own is skipped)
   * @param queueCapacity messages queued per peer before new ones are dropped
   */
  PeerTransport(int selfId, Map<Integer, PeerAddress> addresses, int queueCapacity) {
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "raft-transport-" + selfId);
              t.setDaemon(true);
              return t;
            });
    addresses.forEach(
        (id, a) -> {
          if (id != selfId) {
            peers.put(id, new PeerClient(id, a.host(), a.port(), queueCapacity, executor));
          }
        });
  }

  @Override
  public void send(List<RaftMessage> messages) {
    for (RaftMessage m : messages) {
      PeerClient peer = peers.get(m.getTo());
      if (peer != null) {
        peer.send(m);
      }
    }
  }

  /** Messages dropped because a peer's queue was full, per peer. */
  Map<Integer, Long> droppedCounts() {
    Map<Integer, Long> out = new TreeMap<>();
    peers.forEach((id, p) -> out.put(id, p.dropped()));
    return out;
  }

  @Override
  public void close() {
    peers.values().forEach(PeerClient::close);
    executor.shutdownNow();
  }
}
