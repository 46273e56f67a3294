package io.raftkv.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Counters of snapshots (§7): saved here, installed from a leader, and streamed either way, with
 * the bytes of completed transfers. The size and index of the last snapshot are read at scrape time
 * ({@link ScrapedMetrics}).
 *
 * <p>Thread-safety: any thread.
 */
final class SnapshotMetrics {
  private final Counter saved;
  private final Counter installed;
  private final Counter sendSuccess;
  private final Counter sendFailures;
  private final Counter sentBytes;
  private final Counter receiveSuccess;
  private final Counter receiveFailures;
  private final Counter receivedBytes;

  SnapshotMetrics(PrometheusRegistry registry) {
    saved =
        counter(
            registry,
            "raftkv_snapshot_saved_total",
            "Snapshots this node saved (its state machine made durable, then its log compacted).");
    installed =
        counter(
            registry,
            "raftkv_snapshot_installed_total",
            "Snapshots from a leader that replaced this node's state machine.");
    sendSuccess =
        counter(
            registry,
            "raftkv_network_snapshot_send_success_total",
            "Snapshots streamed to a follower completely.");
    sendFailures =
        counter(
            registry,
            "raftkv_network_snapshot_send_failures_total",
            "Snapshot transfers to a follower that failed (retried after a backoff).");
    sentBytes =
        counter(
            registry,
            "raftkv_network_snapshot_sent_bytes_total",
            "Bytes of the snapshots streamed to followers completely.");
    receiveSuccess =
        counter(
            registry,
            "raftkv_network_snapshot_receive_success_total",
            "Snapshots received from a leader completely (then installed, or refused as stale).");
    receiveFailures =
        counter(
            registry,
            "raftkv_network_snapshot_receive_failures_total",
            "Incoming snapshot transfers that failed or were refused.");
    receivedBytes =
        counter(
            registry,
            "raftkv_network_snapshot_received_bytes_total",
            "Bytes of the snapshots received completely.");
  }

  private static Counter counter(PrometheusRegistry registry, String name, String help) {
    return Counter.builder().name(name).help(help).withoutExemplars().register(registry);
  }

  void saved() {
    saved.inc();
  }

  void installed() {
    installed.inc();
  }

  void sent(long bytes) {
    sendSuccess.inc();
    sentBytes.inc(bytes);
  }

  void sendFailed() {
    sendFailures.inc();
  }

  void received(long bytes) {
    receiveSuccess.inc();
    receivedBytes.inc(bytes);
  }

  void receiveFailed() {
    receiveFailures.inc();
  }
}
