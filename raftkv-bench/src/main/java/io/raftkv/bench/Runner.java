package io.raftkv.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The closed loop: {@code clients} threads, each issuing its next operation as soon as the previous
 * one completes. Latencies go to one HdrHistogram {@link Recorder} per operation type; a ticker
 * takes an interval histogram every second (and exactly at the end of the warm-up and of the run),
 * prints a progress line, and adds the intervals of the measured window to the result. An operation
 * counts in the interval in which it completes.
 */
final class Runner {
  private final Target target;
  private final Workload w;
  private final PrintStream progress;
  private final java.util.concurrent.atomic.LongAdder completed =
      new java.util.concurrent.atomic.LongAdder();

  Runner(Target target, Workload w, PrintStream progress) {
    this.target = target;
    this.w = w;
    this.progress = progress;
  }

  Measurement run() throws Exception {
    Map<OpType, Recorder> recorders = new EnumMap<>(OpType.class);
    for (OpType op : OpType.values()) {
      recorders.put(op, new Recorder(3_600_000_000L, 3));
    }
    AtomicLongArray intervalErrors = new AtomicLongArray(OpType.values().length);
    List<String> sampleErrors = java.util.Collections.synchronizedList(new ArrayList<>());
    byte[][] keys = new byte[w.keys()][];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = w.key(i);
    }

    List<Target.Session> sessions = new ArrayList<>();
    for (int i = 0; i < w.clients(); i++) {
      sessions.add(target.session(i));
    }
    Measurement m = new Measurement(target.name(), target.nodes());
    m.runs = 1;
    Map<OpType, Histogram> interval = new EnumMap<>(OpType.class);
    for (OpType op : OpType.values()) {
      interval.put(op, null);
    }

    long start = System.nanoTime();
    long warmupEnd = start + w.warmup().toNanos();
    long end = warmupEnd + w.duration().toNanos();
    volatileStop = false;
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < w.clients(); i++) {
      Target.Session s = sessions.get(i);
      SplittableRandom rnd = new SplittableRandom(w.seed() * 1_000_003L + i);
      Thread t =
          new Thread(
              () -> loop(s, rnd, keys, recorders, intervalErrors, sampleErrors), "client-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
    for (Thread t : threads) {
      t.start();
    }

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
        Histogram h = recorders.get(op).getIntervalHistogram(interval.get(op));
        interval.put(op, h);
        long e = intervalErrors.getAndSet(op.ordinal(), 0);
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
      double secs = (now - last) / 1e9;
      last = now;
      if (progress != null) {
        progress.printf(
            "[%s] %5.1fs %-7s %8.0f ops/s%s  errors %d%n",
            target.name(),
            (now - start) / 1e9,
            measuring ? "measure" : "warm-up",
            secs > 0 ? ops / secs : 0,
            line,
            errs);
      }
      if (tick == warmupEnd) {
        measuredFrom = now;
      }
      if (tick == end) {
        measuredTo = now;
      }
    }
    m.seconds = (measuredTo - measuredFrom) / 1e9;
    volatileStop = true;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(15));
    }
    for (Target.Session s : sessions) {
      s.close();
    }
    synchronized (sampleErrors) {
      for (String e : sampleErrors) {
        if (m.sampleErrors.size() < 10) {
          m.sampleErrors.add(e);
        }
      }
    }
    return m;
  }

  private volatile boolean volatileStop;

  /** Operations completed without error so far, warm-up included (for samplers running beside). */
  long completed() {
    return completed.sum();
  }

  private void loop(
      Target.Session s,
      SplittableRandom rnd,
      byte[][] keys,
      Map<OpType, Recorder> recorders,
      AtomicLongArray intervalErrors,
      List<String> sampleErrors) {
    byte[] value = new byte[w.valueSize()];
    for (int i = 0; i < value.length; i++) {
      value[i] = (byte) ('a' + rnd.nextInt(26));
    }
    Recorder[] rec = new Recorder[OpType.values().length];
    for (OpType op : OpType.values()) {
      rec[op.ordinal()] = recorders.get(op);
    }
    while (!volatileStop) {
      double dice = rnd.nextDouble();
      OpType op =
          dice < w.readShare()
              ? OpType.GET
              : dice < w.readShare() + w.appendShare() ? OpType.APPEND : OpType.PUT;
      byte[] key = keys[rnd.nextInt(keys.length)];
      // A fresh value each time (a few bytes changed is enough to defeat any caching).
      value[rnd.nextInt(value.length)] = (byte) ('a' + rnd.nextInt(26));
      long t0 = System.nanoTime();
      try {
        switch (op) {
          case GET -> s.get(key);
          case PUT -> s.put(key, value);
          case APPEND -> s.append(key, value);
        }
        long micros = Math.max(1, (System.nanoTime() - t0) / 1000);
        rec[op.ordinal()].recordValue(micros);
        completed.increment();
      } catch (Exception e) {
        if (volatileStop) {
          return;
        }
        intervalErrors.incrementAndGet(op.ordinal());
        if (sampleErrors.size() < 10) {
          sampleErrors.add(op + ": " + e);
        }
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
