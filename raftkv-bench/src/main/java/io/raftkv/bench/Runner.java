package io.raftkv.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Runs a workload against a target: opens one session per client, drives them with a {@link
 * ClosedLoop} or an {@link OpenLoop} (no thread per client: both are chains of futures over the
 * targets' asynchronous calls), and measures. Latencies go to one HdrHistogram {@link
 * org.HdrHistogram.Recorder} per operation type ({@link Recording}); a ticker takes an interval
 * histogram every second (and exactly at the end of the warm-up and of the run), prints a progress
 * line, and adds the intervals of the measured window to the result. An operation counts in the
 * interval in which it completes.
 */
final class Runner {
  private final Target target;
  private final Workload w;
  private final PrintStream progress;
  private final Recording recording = new Recording();

  Runner(Target target, Workload w, PrintStream progress) {
    this.target = target;
    this.w = w;
    this.progress = progress;
  }

  Measurement run() throws Exception {
    byte[][] keys = new byte[w.keys()][];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = w.key(i);
    }

    List<Target.Session> sessions = new ArrayList<>();
    List<LoadClient> clients = new ArrayList<>();
    for (int i = 0; i < w.clients(); i++) {
      Target.Session s = target.session(i);
      sessions.add(s);
      clients.add(new LoadClient(s, w.seed() * 1_000_003L + i, w.valueSize()));
    }
    Measurement m = new Measurement(target.name(), target.nodes());
    m.runs = 1;
    Map<OpType, Histogram> interval = new EnumMap<>(OpType.class);
    for (OpType op : OpType.values()) {
      interval.put(op, null);
    }

    Load load =
        w.arrivals() == null
            ? new ClosedLoop(clients, w, keys, recording, System::nanoTime)
            : new OpenLoop(clients, w, w.arrivals(), keys, recording, OpenLoop.SYSTEM);
    long start = System.nanoTime();
    long warmupEnd = start + w.warmup().toNanos();
    long end = warmupEnd + w.duration().toNanos();
    load.start(start, end);

    // Tick every second from the start, and exactly at the end of the warm-up and of the run.
    TreeSet<Long> ticks = new TreeSet<>();
    for (long t = start + TimeUnit.SECONDS.toNanos(1); t < end; t += TimeUnit.SECONDS.toNanos(1)) {
      ticks.add(t);
    }
    if (warmupEnd > start) {
      ticks.add(warmupEnd);
    }
    ticks.add(end);
    long measuredFrom = warmupEnd;
    long measuredTo = end;
    long last = start;
    for (long tick : ticks) {
      long wait = tick - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      long now = System.nanoTime();
      boolean measuring = tick > warmupEnd;
      long ops = 0;
      long errs = 0;
      StringBuilder line = new StringBuilder();
      for (OpType op : OpType.values()) {
        Histogram h = recording.interval(op, interval.get(op));
        interval.put(op, h);
        long e = recording.takeErrors(op);
        ops += h.getTotalCount();
        errs += e;
        if (measuring) {
          m.histograms.get(op).add(h);
          m.errors.merge(op, e, Long::sum);
        }
        if (h.getTotalCount() > 0) {
          line.append(
              String.format(
                  "  %s p50 %.2f p99 %.2f ms",
                  op, h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0));
        }
      }
      String own = load.tick(measuring, m);
      double secs = (now - last) / 1e9;
      last = now;
      if (progress != null) {
        progress.printf(
            "[%s] %5.1fs %-7s %8.0f ops/s%s  errors %d%s%n",
            target.name(),
            (now - start) / 1e9,
            measuring ? "measure" : "warm-up",
            secs > 0 ? ops / secs : 0,
            line,
            errs,
            own);
      }
      if (tick == warmupEnd) {
        measuredFrom = now;
      }
      if (tick == end) {
        measuredTo = now;
      }
    }
    m.seconds = (measuredTo - measuredFrom) / 1e9;
    load.stop();
    if (load instanceof OpenLoop open) {
      m.openLoopEnd(open.abandoned());
    }
    if (!load.awaitIdle(Duration.ofSeconds(15)) && progress != null) {
      progress.printf("[%s] operations still in flight 15 s after the end%n", target.name());
    }
    for (Target.Session s : sessions) {
      s.close();
    }
    for (String e : recording.sampleErrors()) {
      if (m.sampleErrors.size() < 10) {
        m.sampleErrors.add(e);
      }
    }
    return m;
  }

  /** Operations completed without error so far, warm-up included (for samplers running beside). */
  long completed() {
    return recording.completed();
  }
}
