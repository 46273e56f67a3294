package io.raftkv.server;

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
 * A node's counters and the latency histograms of its internal stages, so that a report can say
 * where time goes. Recording is cheap and lock-free (HdrHistogram's {@link Recorder}, {@link
 * LongAdder}); reading (the Status RPC) folds the recorders' interval histograms into running
 * totals.
 *
 * <p>Thread-safety: record from any thread; {@link #latencies} is serialized.
 */
final class Metrics {

  /** The timed stages, with the names the Status RPC reports. */
  enum Stage {
    FSYNC("fsync"),
    APPLY("apply"),
    REPLICATION("replication"),
    WRITE("write"),
    READ_INDEX("read_index");

    final String label;

    Stage(String label) {
      this.label = label;
    }
  }

  /** An append to one follower whose acknowledgement is being timed. */
  private record Pending(long term, long index, long sentNanos) {}

  /** A replication sample still unacknowledged after this long is abandoned. */
  private static final long STALE_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final Recorder[] recorders = new Recorder[Stage.values().length];
  private final Histogram[] totals = new Histogram[Stage.values().length];
  private final Map<Integer, AtomicReference<Pending>> replication;

  final LongAdder proposals = new LongAdder();
  final LongAdder readBarriers = new LongAdder();
  final LongAdder logSyncs = new LongAdder();
  final LongAdder entriesPersisted = new LongAdder();
  final LongAdder entriesApplied = new LongAdder();

  Metrics(Collection<Integer> peerIds) {
    for (Stage s : Stage.values()) {
      recorders[s.ordinal()] = new Recorder(3);
      totals[s.ordinal()] = new Histogram(3);
    }
    Map<Integer, AtomicReference<Pending>> r = new TreeMap<>();
    for (int id : peerIds) {
      r.put(id, new AtomicReference<>());
    }
    this.replication = Map.copyOf(r);
  }

  /** Records one duration of {@code stage}, in nanoseconds (kept in microseconds, at least 1). */
  /** The KV service's requests: counted, and their latencies recorded as WRITE and READ_INDEX. */
  KvService.Probe kvProbe() {
    return new KvService.Probe() {
      @Override
      public void writeProposed() {
        proposals.increment();
      }

      @Override
      public void writeCompleted(long nanos) {
        record(Stage.WRITE, nanos);
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

  void record(Stage stage, long nanos) {
    recorders[stage.ordinal()].recordValue(Math.max(1, nanos / 1_000));
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
      record(Stage.REPLICATION, nowNanos - p.sentNanos());
    }
  }

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
}
