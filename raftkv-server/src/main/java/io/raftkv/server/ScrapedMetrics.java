package io.raftkv.server;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.storage.RocksStore;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * The metrics read when Prometheus scrapes, from what the node already keeps: the role, leader and
 * indexes the loop publishes after each turn ({@link RaftNode#status()}), the transport's and chaos
 * filter's per-peer counters (the ones Status reports), the last snapshot and the log's size.
 * Nothing here costs the node anything between scrapes.
 *
 * <p>Thread-safety: the callbacks run on the scraping thread and read only volatile snapshots and
 * thread-safe counters.
 */
final class ScrapedMetrics {
  private ScrapedMetrics() {}

  /**
   * Registers the callbacks in {@code registry}.
   *
   * @param peers the other members' ids
   * @param logBytes the Raft log's size on disk, or -1 if unknown
   */
  static void register(
      PrometheusRegistry registry,
      RaftNode<?> node,
      List<Integer> peers,
      PeerTransport transport,
      Chaos chaos,
      Metrics metrics,
      KvSnapshots snapshots,
      LongSupplier logBytes) {
    GaugeWithCallback.builder()
        .name("raftkv_server_has_leader")
        .help("1 if this node knows a leader (itself included), else 0.")
        .callback(cb -> cb.call(node.status().leaderId() != RaftConfig.NONE ? 1 : 0))
        .register(registry);
    GaugeWithCallback.builder()
        .name("raftkv_server_is_leader")
        .help("1 if this node is the leader, else 0.")
        .callback(cb -> cb.call(node.status().role() == Role.LEADER ? 1 : 0))
        .register(registry);
    GaugeWithCallback.builder()
        .name("raftkv_server_term")
        .help("This node's current Raft term.")
        .callback(cb -> cb.call(node.status().term()))
        .register(registry);
    // etcd's proposals_committed/applied are the commit and applied indexes: every log entry,
    // leaders' no-ops included, as seen by this node.
    CounterWithCallback.builder()
        .name("raftkv_server_proposals_committed_total")
        .help("This node's commit index: log entries known committed.")
        .callback(cb -> cb.call(node.status().commitIndex()))
        .register(registry);
    CounterWithCallback.builder()
        .name("raftkv_server_proposals_applied_total")
        .help("This node's applied index: log entries applied to its state machine.")
        .callback(cb -> cb.call(node.status().appliedIndex()))
        .register(registry);

    perPeer(
        registry,
        "raftkv_network_peer_sent_messages_total",
        "Raft messages handed to the stream to a peer.",
        "to",
        peers,
        transport::sentCount);
    perPeer(
        registry,
        "raftkv_network_peer_sent_bytes_total",
        "Bytes of the Raft messages handed to the stream to a peer (protobuf size).",
        "to",
        peers,
        transport::sentBytes);
    perPeer(
        registry,
        "raftkv_network_peer_received_messages_total",
        "Raft messages that arrived from a peer (chaos drops included).",
        "from",
        peers,
        id -> chaos.counters(id).received.sum());
    perPeer(
        registry,
        "raftkv_network_peer_received_bytes_total",
        "Bytes of the Raft messages that arrived from a peer (protobuf size).",
        "from",
        peers,
        metrics::receivedBytes);
    CounterWithCallback.builder()
        .name("raftkv_network_peer_dropped_messages_total")
        .help(
            "Raft messages to or from a peer that were dropped: queue_full (the peer is slow or"
                + " down; Raft retries), chaos_out and chaos_in (injected faults).")
        .labelNames("peer", "reason")
        .callback(
            cb -> {
              for (int id : peers) {
                String peer = Integer.toString(id);
                Chaos.PeerCounters c = chaos.counters(id);
                cb.call(transport.droppedCount(id), peer, "queue_full");
                cb.call(c.droppedOut.sum(), peer, "chaos_out");
                cb.call(c.droppedIn.sum(), peer, "chaos_in");
              }
            })
        .register(registry);

    GaugeWithCallback.builder()
        .name("raftkv_snapshot_index")
        .help("Index of the last snapshot saved or installed here (0: none).")
        .callback(
            cb -> {
              RocksStore.LastSnapshot last = snapshots.last();
              cb.call(last == null ? 0 : last.header().getMeta().getIndex());
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("raftkv_snapshot_size_bytes")
        .help("Size of the last snapshot saved or installed here, as RocksDB estimates it.")
        .callback(
            cb -> {
              RocksStore.LastSnapshot last = snapshots.last();
              cb.call(last == null ? 0 : Math.max(0, last.bytes()));
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("raftkv_disk_log_size_bytes")
        .help("The Raft log's size on disk (RocksDB's SST files and memtables of the log).")
        .callback(
            cb -> {
              long bytes = logBytes.getAsLong();
              if (bytes >= 0) {
                cb.call(bytes);
              }
            })
        .register(registry);
  }

  private static void perPeer(
      PrometheusRegistry registry,
      String name,
      String help,
      String label,
      List<Integer> peers,
      ToLongFunction<Integer> value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(label)
        .callback(
            cb -> {
              for (int id : peers) {
                cb.call(value.applyAsLong(id), Integer.toString(id));
              }
            })
        .register(registry);
  }
}
