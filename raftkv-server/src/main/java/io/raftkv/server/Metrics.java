package io.raftkv.server;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftkv.node.KvService;
import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.ReadyProcessor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A node's counters and the latency histograms of its internal stages, for the Status RPC and for
 * Prometheus, each event recorded by one call.
 *
 * <p>One instrument per figure, read by both: the counters are {@link LongAdder}s that Status sums
 * and Prometheus reads at scrape time (callbacks); a stage's latency goes, in the one {@link
 * #record} call, to an HdrHistogram {@link Recorder} (exact percentiles and max for Status) and to
 * that stage's Prometheus histogram (fixed buckets, which Prometheus can rate, aggregate across
 * nodes and alert on; they cannot give Status's exact p99). Neither is derived from the other, so
 * Status's {@code reset_latencies} does not disturb Prometheus's counters, which must never go
 * down.
 *
 * <p>Recording is cheap and lock-free: LongAdders, HdrHistogram's Recorder, and the Prometheus
 * client's own adders (exemplars off, classic buckets only, data points bound once). Reading (the
 * Status RPC) folds the recorders' interval histograms into running totals.
 *
 * <p>Each node has its own {@link PrometheusRegistry} ({@link #registry()}), never the static
 * default one, so several nodes in one JVM (tests) keep their figures apart.
 *
 * <p>Thread-safety: record from any thread; {@link #latencies} is serialized.
 */
final class Metrics {

  /**
   * Latency buckets of every duration histogram, in seconds: 100 µs doubling to 13 s (18 bounds).
   * They start lower than etcd's (1 ms) since a local fsync or a loopback round trip takes less.
   */
  static final double[] LATENCY_BUCKETS = exponential(0.0001, 2, 18);

  /** The timed stages, with the names the Status RPC and Prometheus report. */
  enum Stage {
    FSYNC(
        "fsync",
        "raftkv_disk_wal_fsync_duration_seconds",
        "One synced write of the Raft log (hard state and entries, shared by a loop turn)."),
    APPLY(
        "apply",
        "raftkv_disk_backend_commit_duration_seconds",
        "Applying one batch of committed entries: one atomic RocksDB write of data, applied index"
            + " and sessions."),
    REPLICATION(
        "replication",
        "raftkv_network_peer_round_trip_time_seconds",
        "Leader: an append carrying index i sent to the follower, to its acknowledgement covering"
            + " i (one sample per follower at a time)."),
    WRITE(
        "write",
        "raftkv_server_proposal_duration_seconds",
        "Leader: a client write from its proposal to its application."),
    READ_INDEX(
        "read_index",
        "raftkv_server_read_index_duration_seconds",
        "Leader: a linearizable read's ReadIndex barrier, until the state machine caught up.");

    final String label;
    final String metricName;
    final String help;

    Stage(String label, String metricName, String help) {
      this.label = label;
      this.metricName = metricName;
      this.help = help;
    }
  }

  /** An append to one follower whose acknowledgement is being timed. */
  private record Pending(long term, long index, long sentNanos) {}

  /** A replication sample still unacknowledged after this long is abandoned. */
  private static final long STALE_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Recorder[] recorders = new Recorder[Stage.values().length];
  private final Histogram[] totals = new Histogram[Stage.values().length];

  /** Each stage's Prometheus histogram; REPLICATION's is per follower ({@link #roundTrips}). */
  private final DistributionDataPoint[] stageHistograms =
      new DistributionDataPoint[Stage.values().length];

  private final Map<Integer, AtomicReference<Pending>> replication;
  private final Map<Integer, DistributionDataPoint> roundTrips;
  private final Map<Integer, LongAdder> receivedBytes;

  final LongAdder proposals = new LongAdder();
  final LongAdder readBarriers = new LongAdder();
  final LongAdder logSyncs = new LongAdder(); // for Prometheus: the fsync histogram's _count
  final LongAdder entriesPersisted = new LongAdder();
  final LongAdder entriesApplied = new LongAdder();

  private final Counter leaderChanges;
  private final Counter proposalsFailed;
  private final Gauge proposalsPending;
  private final Counter peerRejected;
  final SnapshotMetrics snapshots;
  final RequestMetrics requests;

  /**
   * Why an arriving peer message was refused (the label of the rejected-messages counter). Every
   * place that refuses peer traffic adds its reason here, so that one counter shows them all.
   */
  enum Rejection {
    /** Addressed to another node id: a misconfigured peer list. */
    WRONG_RECIPIENT("wrong_recipient"),
    /** A stream from another cluster, or without a cluster id: not one of our peers. */
    WRONG_CLUSTER("wrong_cluster"),
    /**
     * A message whose sender is not the member that opened the stream (its peer certificate, or the
     * sender id it declared): forged, or a peer with another node's id.
     */
    SENDER_MISMATCH("sender_mismatch"),
    /** Peer TLS on, and the certificate names no member ({@link PeerIdentity}). */
    NO_MEMBER_CERTIFICATE("no_member_certificate");

    final String label;

    Rejection(String label) {
      this.label = label;
    }
  }

  /**
   * @param peerIds the other members' ids
   */
  Metrics(Collection<Integer> peerIds) {
    for (Stage s : Stage.values()) {
      recorders[s.ordinal()] = new Recorder(3);
      totals[s.ordinal()] = new Histogram(3);
    }
    Map<Integer, DistributionDataPoint> rt = new TreeMap<>();
    for (Stage s : Stage.values()) {
      var h =
          io.prometheus.metrics.core.metrics.Histogram.builder()
              .name(s.metricName)
              .help(s.help)
              .classicOnly()
              .classicUpperBounds(LATENCY_BUCKETS)
              .withoutExemplars();
      if (s == Stage.REPLICATION) {
        var perPeer = h.labelNames("to").register(registry);
        for (int id : peerIds) {
          rt.put(id, perPeer.labelValues(Integer.toString(id)));
        }
      } else {
        stageHistograms[s.ordinal()] = h.register(registry);
      }
    }
    Map<Integer, AtomicReference<Pending>> r = new TreeMap<>();
    Map<Integer, LongAdder> rb = new TreeMap<>();
    for (int id : peerIds) {
      r.put(id, new AtomicReference<>());
      rb.put(id, new LongAdder());
    }
    this.replication = Map.copyOf(r);
    this.roundTrips = Map.copyOf(rt);
    this.receivedBytes = Map.copyOf(rb);

    counter(
        "raftkv_server_proposals_total",
        "Client writes proposed by this node as leader.",
        proposals);
    counter(
        "raftkv_server_read_indexes_total",
        "Linearizable reads that asked this node, as leader, for a ReadIndex barrier.",
        readBarriers);
    counter(
        "raftkv_disk_wal_entries_persisted_total",
        "Raft log entries written to this node's log.",
        entriesPersisted);
    counter(
        "raftkv_server_entries_applied_total",
        "Committed entries applied to this node's state machine (not counting snapshots).",
        entriesApplied);
    this.leaderChanges =
        Counter.builder()
            .name("raftkv_server_leader_changes_seen_total")
            .help("Times this node saw a new leader (a known leader other than the last one).")
            .withoutExemplars()
            .register(registry);
    this.proposalsFailed =
        Counter.builder()
            .name("raftkv_server_proposals_failed_total")
            .help(
                "Client writes proposed here that got no result: leadership lost, entry replaced,"
                    + " or timed out (their outcome is unknown to the client).")
            .withoutExemplars()
            .register(registry);
    this.proposalsPending =
        Gauge.builder()
            .name("raftkv_server_proposals_pending")
            .help("Client writes proposed here and still waiting to be applied.")
            .withoutExemplars()
            .register(registry);
    this.peerRejected =
        Counter.builder()
            .name("raftkv_network_peer_rejected_messages_total")
            .help("Raft messages that arrived from a peer and were refused, by reason.")
            .labelNames("reason")
            .withoutExemplars()
            .register(registry);
    for (Rejection why : Rejection.values()) {
      peerRejected.initLabelValues(why.label); // shown as 0 before the first one
    }
    this.snapshots = new SnapshotMetrics(registry);
    this.requests = new RequestMetrics(registry);
  }

  private void counter(String name, String help, LongAdder adder) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(adder.sum()))
        .register(registry);
  }

  /** Where this node's metrics are registered (its own registry, not the static default). */
  PrometheusRegistry registry() {
    return registry;
  }

  // ---------------------------------------------------------------- recording (any thread)

  /** Records one duration of {@code stage}, in nanoseconds: Status's and Prometheus's alike. */
  void record(Stage stage, long nanos) {
    recorders[stage.ordinal()].recordValue(Math.max(1, nanos / 1_000));
    DistributionDataPoint h = stageHistograms[stage.ordinal()];
    if (h != null) {
      h.observe(nanos / 1e9);
    }
  }

  /** The KV service's requests: counted, and their latencies recorded as WRITE and READ_INDEX. */
  KvService.Probe kvProbe() {
    return new KvService.Probe() {
      @Override
      public void writeProposed() {
        proposals.increment();
        proposalsPending.inc();
      }

      @Override
      public void writeCompleted(long nanos) {
        proposalsPending.dec();
        record(Stage.WRITE, nanos);
      }

      @Override
      public void writeFailed() {
        proposalsPending.dec();
        proposalsFailed.inc();
      }

      @Override
      public void readRequested() {
        readBarriers.increment();
      }

      @Override
      public void readIndexCompleted(long nanos) {
        record(Stage.READ_INDEX, nanos);
      }
    };
  }

  /** This node saw a new leader (etcd's leader_changes_seen). */
  void leaderChanged() {
    leaderChanges.inc();
  }

  /** A message of {@code bytes} arrived from {@code peer} (unknown ids are not counted). */
  void received(int peer, int bytes) {
    LongAdder a = receivedBytes.get(peer);
    if (a != null) {
      a.add(bytes);
    }
  }

  /** Bytes received from {@code peer} (0 for an unknown id). */
  long receivedBytes(int peer) {
    LongAdder a = receivedBytes.get(peer);
    return a == null ? 0 : a.sum();
  }

  /** An arriving peer message was refused. */
  void rejected(Rejection why) {
    peerRejected.labelValues(why.label).inc();
  }

  /** Arriving peer messages and streams refused for {@code why} since start. */
  long rejectedCount(Rejection why) {
    return (long) peerRejected.labelValues(why.label).get();
  }

  /**
   * The leader sent {@code peer} an append ending at {@code index}: starts timing it unless an
   * earlier one is still being timed (one sample per follower at a time).
   */
  void replicationSent(int peer, long term, long index, long nowNanos) {
    AtomicReference<Pending> ref = replication.get(peer);
    if (ref == null) {
      return;
    }
    Pending p = ref.get();
    if (p == null || p.term() != term || nowNanos - p.sentNanos() > STALE_NANOS) {
      ref.compareAndSet(p, new Pending(term, index, nowNanos));
    }
  }

  /** {@code peer} acknowledged everything up to {@code matchIndex} in {@code term}. */
  void replicationAcked(int peer, long term, long matchIndex, long nowNanos) {
    AtomicReference<Pending> ref = replication.get(peer);
    if (ref == null) {
      return;
    }
    Pending p = ref.get();
    if (p != null && p.term() == term && matchIndex >= p.index() && ref.compareAndSet(p, null)) {
      long nanos = nowNanos - p.sentNanos();
      record(Stage.REPLICATION, nanos);
      roundTrips.get(peer).observe(nanos / 1e9);
    }
  }

  // ---------------------------------------------------------------- reading

  /** Percentiles per stage since start or the last reset; then resets them if asked. */
  synchronized List<StageLatency> latencies(boolean reset) {
    List<StageLatency> out = new ArrayList<>();
    for (Stage s : Stage.values()) {
      Histogram total = totals[s.ordinal()];
      total.add(recorders[s.ordinal()].getIntervalHistogram());
      out.add(
          StageLatency.newBuilder()
              .setStage(s.label)
              .setCount(total.getTotalCount())
              .setP50Micros(total.getValueAtPercentile(50))
              .setP90Micros(total.getValueAtPercentile(90))
              .setP99Micros(total.getValueAtPercentile(99))
              .setMaxMicros(total.getMaxValue())
              .setMeanMicros(total.getTotalCount() == 0 ? 0 : total.getMean())
              .build());
      if (reset) {
        total.reset();
      }
    }
    return out;
  }

  /** Wraps the node's log storage: times synced writes (fsync) and counts entries. */
  ReadyProcessor.LogStorage timed(ReadyProcessor.LogStorage storage) {
    return new ReadyProcessor.LogStorage() {
      @Override
      public void persist(HardState hardState, List<Entry> entries, boolean sync) {
        long t0 = System.nanoTime();
        storage.persist(hardState, entries, sync);
        if (sync) {
          record(Stage.FSYNC, System.nanoTime() - t0);
          logSyncs.increment();
        }
        entriesPersisted.add(entries.size());
      }

      @Override
      public void compact(io.raftkv.proto.raft.SnapshotMeta start) {
        storage.compact(start);
      }
    };
  }

  static double[] exponential(double start, double factor, int count) {
    double[] bounds = new double[count];
    for (int i = 0; i < count; i++) {
      bounds[i] = start * Math.pow(factor, i);
    }
    return bounds;
  }
}
