package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Samples the resident set size (Linux: VmRSS in /proc/PID/status) of each server process once per
 * second and keeps the largest value per server. A process's descendants count too, so a launcher
 * that forks the JVM instead of exec'ing it is still measured as the whole server. A process that
 * is gone, or a system without /proc, simply yields no sample.
 */
final class RssSampler {
  private final String target;
  private final List<Long> pids;
  private final long[] maxKib;
  private final ScheduledExecutorService timer;
  private int samples;

  private RssSampler(String target, List<Long> pids) {
    this.target = target;
    this.pids = List.copyOf(pids);
    this.maxKib = new long[pids.size()];
    java.util.Arrays.fill(maxKib, -1);
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "rss-sampler");
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts sampling {@code target}'s servers after {@code delay} (the warm-up: memory is reported
   * for the measured window), then every {@code period}.
   */
  static RssSampler start(Target target, Duration delay, Duration period) {
    RssSampler s = new RssSampler(target.name(), target.serverPids());
    if (!s.pids.isEmpty()) {
      s.timer.scheduleAtFixedRate(
          s::sample, delay.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }
    return s;
  }

  /**
   * Takes a last sample (so that even a window shorter than the period has one), stops, and returns
   * the maxima. Call it before the servers are stopped.
   */
  ServerRss stop() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (pids.isEmpty()) {
      return ServerRss.unknown(target);
    }
    sample();
    synchronized (this) {
      List<Long> out = new ArrayList<>();
      for (long k : maxKib) {
        out.add(k);
      }
      return new ServerRss(target, true, out, samples);
    }
  }

  private synchronized void sample() {
    for (int i = 0; i < pids.size(); i++) {
      long kib = treeRssKib(pids.get(i));
      maxKib[i] = Math.max(maxKib[i], kib);
    }
    samples++;
  }

  /** VmRSS of a process plus its descendants, in KiB; -1 when the process cannot be read. */
  static long treeRssKib(long pid) {
    return ProcessTree.sum(pid, RssSampler::rssKib);
  }

  static long rssKib(long pid) {
    try {
      return parseVmRssKib(Files.readString(Path.of("/proc", Long.toString(pid), "status")));
    } catch (IOException | RuntimeException e) {
      return -1; // gone, or not Linux
    }
  }

  /**
   * The VmRSS line of a /proc/PID/status text ("VmRSS:\t 123456 kB"), in KiB; -1 if there is none
   * (kernel threads and zombies have no VmRSS line).
   */
  static long parseVmRssKib(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.substring("VmRSS:".length()).strip().split("\\s+");
        long v = Long.parseLong(parts[0]);
        String unit = parts.length > 1 ? parts[1] : "kB";
        // The kernel always writes kB (meaning KiB); accept the others rather than misreport.
        return switch (unit) {
          case "kB" -> v;
          case "mB", "MB" -> v * 1024;
          case "gB", "GB" -> v * 1024 * 1024;
          default -> throw new IllegalArgumentException("unknown VmRSS unit: " + line);
        };
      }
    }
    return -1;
  }
}
