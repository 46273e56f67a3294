package io.raftkv.server;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.ReadyProcessor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Sends the core's messages to peers over gRPC: one {@link PeerClient} (channel, stream, bounded
 * queue) per peer, all driven by one small executor, so that the node's loop only enqueues. Chaos
 * faults apply here on the way out: a dropped message is never sent (its sender times out), a
 * delayed one is held back on the executor, in order.
 *
 * <p>Thread-safety: {@link #send} may be called from any thread.
 */
final class PeerTransport implements ReadyProcessor.MessageSender, AutoCloseable {
  private final ScheduledExecutorService executor;

  /** By id; grows as members are added (the loop thread adds, any thread reads). */
  private final Map<Integer, PeerClient> peers = new ConcurrentSkipListMap<>();

  private final int queueCapacity;

  private final Chaos chaos;
  private final Metrics metrics;
  private final PeerChannels channels;

  /**
   * @param addresses every member's raft address by id (this node's own is skipped)
   * @param queueCapacity messages queued per peer before new ones are dropped
   * @param chaos the faults to inject on the way out
   * @param metrics where replication round trips are timed
   * @param channels how peers are dialed (plaintext or mutual TLS)
   */
  PeerTransport(
      int selfId,
      Map<Integer, PeerAddress> addresses,
      int queueCapacity,
      Chaos chaos,
      Metrics metrics,
      PeerChannels channels) {
    this.chaos = chaos;
    this.channels = channels;
    this.metrics = metrics;
    this.queueCapacity = queueCapacity;
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
            peers.put(id, new PeerClient(id, a, channels, queueCapacity, executor));
          }
        });
    peers.values().forEach(PeerClient::connectEagerly);
  }

  /**
   * A member added to the configuration (dissertation §4.1: it takes effect when appended): opens a
   * stream to it unless there is one. Streams to removed members stay open until the node stops
   * (they are idle, and a departing member is still sent the entry that removes it).
   */
  void addPeer(int id, PeerAddress a) {
    peers.computeIfAbsent(
        id,
        k -> {
          PeerClient p = new PeerClient(id, a, channels, queueCapacity, executor);
          p.connectEagerly();
          return p;
        });
  }

  @Override
  public void send(List<RaftMessage> messages) {
    for (RaftMessage m : messages) {
      int to = m.getTo();
      PeerClient peer = peers.get(to);
      if (peer == null || chaos.dropOutbound(to)) {
        continue; // a chaos drop is silent: the sender's Raft times out waiting for a reply
      }
      if (m.hasAppendRequest() && m.getAppendRequest().getEntriesCount() > 0) {
        List<Entry> entries = m.getAppendRequest().getEntriesList();
        metrics.replicationSent(
            to, m.getTerm(), entries.get(entries.size() - 1).getIndex(), System.nanoTime());
      }
      peer.send(m, chaos.delayMillis(to));
    }
  }

  /** Messages handed to peer {@code id}'s stream (0 for an unknown id). */
  long sentCount(int id) {
    PeerClient p = peers.get(id);
    return p == null ? 0 : p.sent();
  }

  /** Bytes of the messages handed to peer {@code id}'s stream (0 for an unknown id). */
  long sentBytes(int id) {
    PeerClient p = peers.get(id);
    return p == null ? 0 : p.sentBytes();
  }

  /** Messages to peer {@code id} dropped because its queue was full (0 for an unknown id). */
  long droppedCount(int id) {
    PeerClient p = peers.get(id);
    return p == null ? 0 : p.dropped();
  }

  @Override
  public void close() {
    peers.values().forEach(PeerClient::close);
    executor.shutdownNow();
  }
}
