package io.raftkv.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Samples, every period, each node's data directory size and what the node says about its log (a
 * raftkv node's first and last index, an etcd member's raft index and backend size), with the
 * number of writes acknowledged so far.
 */
final class DiskSampler {
  /** One node at one moment; -1 for what is unknown or does not apply. */
  record NodeDisk(long dirBytes, long firstIndex, long lastIndex, long backendBytes) {}

  /** All nodes of one system at one moment. */
  record Row(String system, double seconds, long writes, List<NodeDisk> nodes, String note) {
    long totalBytes() {
      return nodes.stream().mapToLong(n -> Math.max(0, n.dirBytes())).sum();
    }

    long maxBytes() {
      return nodes.stream().mapToLong(NodeDisk::dirBytes).max().orElse(-1);
    }
  }

  /** What a node reports about its log: {first index, last index, backend bytes}, -1 unknown. */
  interface Probe {
    long[] probe(int node);
  }

  private final String system;
  private final List<Path> dirs;
  private final Probe probe;
  private final LongSupplier writes;
  private final List<Row> rows = new ArrayList<>();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "disk-sampler");
            t.setDaemon(true);
            return t;
          });
  private final long startNanos = System.nanoTime();

  private DiskSampler(String system, List<Path> dirs, Probe probe, LongSupplier writes) {
    this.system = system;
    this.dirs = List.copyOf(dirs);
    this.probe = probe;
    this.writes = writes;
  }

  /** Samples at once, then every {@code period}, until {@link #stop}. */
  static DiskSampler start(
      String system, List<Path> dirs, Probe probe, LongSupplier writes, Duration period) {
    DiskSampler s = new DiskSampler(system, dirs, probe, writes);
    s.timer.scheduleAtFixedRate(() -> s.sample(""), 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return s;
  }

  /** Stops the periodic samples (a last one is taken) and returns them all, in time order. */
  List<Row> stop() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sample("end of the run");
    synchronized (this) {
      return List.copyOf(rows);
    }
  }

  /** One extra sample with a note (e.g. after a defragmentation); after {@link #stop}. */
  synchronized Row sample(String note) {
    List<NodeDisk> nodes = new ArrayList<>();
    for (int i = 0; i < dirs.size(); i++) {
      long[] p = probe.probe(i);
      nodes.add(new NodeDisk(DirSize.bytes(dirs.get(i)), p[0], p[1], p[2]));
    }
    Row row =
        new Row(system, (System.nanoTime() - startNanos) / 1e9, writes.getAsLong(), nodes, note);
    rows.add(row);
    return row;
  }

  synchronized List<Row> rows() {
    return List.copyOf(rows);
  }
}
