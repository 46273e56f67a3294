package io.raftkv.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * One run of one system: start (or connect to) the cluster, run the workload while sampling the
 * servers' memory, stop what was started.
 *
 * @param measurement the latencies and throughput
 * @param rss the servers' peak resident memory over the measured window
 * @param cpu the servers' and bench's CPU time over the measured window
 */
record MeasuredRun(Measurement measurement, ServerRss rss, CpuMeter.CpuUse cpu) {
  /** Memory is sampled at this period; a peak between two samples can be missed. */
  static final Duration RSS_PERIOD = Duration.ofSeconds(1);

  static MeasuredRun run(String system, BenchMain.Common c, List<String> endpoints, Workload w)
      throws Exception {
    PrintStream progress = c.progress();
    if (progress != null) {
      progress.printf("[%s] starting...%n", system);
    }
    try (Target t = BenchMain.open(system, c, endpoints)) {
      if (progress != null) {
        progress.printf("[%s] %s%n", system, t.describe());
      }
      return measure(t, w, progress);
    }
  }

  /** Runs the workload on a cluster already started, sampling its servers' memory and CPU. */
  static MeasuredRun measure(Target t, Workload w, PrintStream progress) throws Exception {
    // The sampler starts its clock a little before the Runner does (sessions are opened in
    // between), so its first sample falls just before the end of the warm-up, under load.
    RssSampler sampler = RssSampler.start(t, w.warmup(), RSS_PERIOD);
    CpuMeter cpuMeter = CpuMeter.start(t, w.warmup());
    Measurement m;
    ServerRss rss;
    CpuMeter.CpuUse cpu;
    try {
      m = new Runner(t, w, progress).run();
    } finally {
      // Before the caller closes the target: the servers must still be there.
      rss = sampler.stop();
      cpu = cpuMeter.stop();
    }
    return new MeasuredRun(m, rss, cpu);
  }
}
