package io.raftkv.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Writes keys [0, count) as fast as {@code clients} closed-loop clients can, each client its own
 * contiguous slice, printing progress every 10 s. A failed write is counted (after the client
 * library's own retries), not retried again.
 */
final class BulkWriter {
  private BulkWriter() {}

  /** What one bulk write did. */
  record Result(long ops, long errors, double seconds, List<String> sampleErrors) {
    double opsPerSec() {
      return seconds > 0 ? ops / seconds : 0;
    }
  }

  static Result write(
      Target target,
      int clients,
      int count,
      IntFunction<byte[]> key,
      IntFunction<byte[]> value,
      String what,
      PrintStream progress)
      throws Exception {
    AtomicLong done = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    List<String> samples = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Target.Session> sessions = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    long t0 = System.nanoTime();
    try {
      for (int c = 0; c < clients; c++) {
        sessions.add(target.session(c));
      }
      for (int c = 0; c < clients; c++) {
        Target.Session s = sessions.get(c);
        int[] slice = ValueCheck.slice(c, clients, count);
        Thread t =
            new Thread(
                () -> {
                  for (int i = slice[0]; i < slice[1]; i++) {
                    try {
                      s.put(key.apply(i), value.apply(i));
                      done.incrementAndGet();
                    } catch (Exception e) {
                      errors.incrementAndGet();
                      if (samples.size() < 5) {
                        samples.add("PUT " + new String(key.apply(i)) + ": " + e);
                      }
                      if (e instanceof InterruptedException) {
                        return;
                      }
                    }
                  }
                },
                "bulk-" + c);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      long nextReport = t0 + TimeUnit.SECONDS.toNanos(10);
      for (Thread t : threads) {
        while (t.isAlive()) {
          t.join(500);
          if (progress != null && System.nanoTime() >= nextReport) {
            double s = (System.nanoTime() - t0) / 1e9;
            progress.printf(
                "[%s] %s: %,d/%,d written in %.0f s (%.0f/s), %d errors%n",
                target.name(), what, done.get(), count, s, done.get() / s, errors.get());
            nextReport += TimeUnit.SECONDS.toNanos(10);
          }
        }
      }
    } finally {
      sessions.forEach(Target.Session::close);
    }
    synchronized (samples) {
      return new Result(
          done.get(), errors.get(), (System.nanoTime() - t0) / 1e9, List.copyOf(samples));
    }
  }
}
