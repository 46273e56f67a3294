package io.raftkv.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.HdrHistogram.Histogram;

/**
 * One insert-then-read pass on one target: {@code clients} threads, each with its own session and
 * its own contiguous slice of the keys, first PUT every key of their slice (the insert phase),
 * then, once all inserts are done, read every key back linearizably and compare it with the value
 * written (the read phase). Each phase is timed from the common start to the last thread's end.
 */
final class InsertRead {
  /** At most this many failures are kept per phase for printing; all are counted. */
  static final int SAMPLE_ERRORS = 10;

  /** The figures of one phase; latencies in microseconds. */
  record Phase(
      String system,
      int clients,
      String phase,
      long ops,
      long errors,
      long missing,
      long mismatches,
      double seconds,
      Histogram latencies,
      List<String> sampleErrors) {
    long failures() {
      return errors + missing + mismatches;
    }

    double opsPerSec() {
      return seconds > 0 ? ops / seconds : 0;
    }

    double ms(double percentile) {
      return ops == 0 ? 0 : latencies.getValueAtPercentile(percentile) / 1000.0;
    }

    double maxMs() {
      return ops == 0 ? 0 : latencies.getMaxValue() / 1000.0;
    }

    String line() {
      return String.format(
          Locale.ROOT,
          "%-6s %3d client%s %-6s %6d ops in %7.2f s  %8.0f ops/s  p50 %7.2f ms  p99 %7.2f ms"
              + "  errors %d, missing %d, mismatches %d",
          system,
          clients,
          clients == 1 ? " " : "s",
          phase,
          ops,
          seconds,
          opsPerSec(),
          ms(50),
          ms(99),
          errors,
          missing,
          mismatches);
    }
  }

  private final Target target;
  private final int keys;
  private final int clients;
  private final int valueSize;
  private final long salt;
  private final PrintStream progress;

  InsertRead(Target target, int keys, int clients, int valueSize, long salt, PrintStream progress) {
    this.target = target;
    this.keys = keys;
    this.clients = clients;
    this.valueSize = valueSize;
    this.salt = salt;
    this.progress = progress;
  }

  /** Runs both phases; returns [insert, read]. */
  List<Phase> run() throws Exception {
    List<Target.Session> sessions = new ArrayList<>();
    try {
      for (int i = 0; i < clients; i++) {
        sessions.add(target.session(i));
      }
      Phase insert = phase("insert", sessions);
      Phase read = phase("read", sessions);
      return List.of(insert, read);
    } finally {
      sessions.forEach(Target.Session::close);
    }
  }

  /** One thread's tally, merged after the phase (no sharing while it runs). */
  private static final class Tally {
    final Histogram h = Measurement.newHistogram();
    long errors;
    long missing;
    long mismatches;
    final List<String> samples = new ArrayList<>();

    void sample(String s) {
      if (samples.size() < SAMPLE_ERRORS) {
        samples.add(s);
      }
    }
  }

  private Phase phase(String name, List<Target.Session> sessions) throws InterruptedException {
    if (progress != null) {
      progress.printf(
          "[%s] %d client%s: %s %d keys...%n",
          target.name(), clients, clients == 1 ? "" : "s", name, keys);
    }
    boolean reading = name.equals("read");
    CountDownLatch go = new CountDownLatch(1);
    List<Tally> tallies = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Tally t = new Tally();
      tallies.add(t);
      Target.Session s = sessions.get(c);
      int[] slice = ValueCheck.slice(c, clients, keys);
      Thread th =
          new Thread(
              () -> {
                try {
                  go.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int i = slice[0]; i < slice[1]; i++) {
                  one(s, i, reading, t);
                }
              },
              name + "-" + c);
      th.setDaemon(true);
      threads.add(th);
      th.start();
    }
    long t0 = System.nanoTime();
    go.countDown();
    for (Thread th : threads) {
      th.join();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    Histogram all = Measurement.newHistogram();
    long errors = 0;
    long missing = 0;
    long mismatches = 0;
    List<String> samples = new ArrayList<>();
    for (Tally t : tallies) {
      all.add(t.h);
      errors += t.errors;
      missing += t.missing;
      mismatches += t.mismatches;
      for (String s : t.samples) {
        if (samples.size() < SAMPLE_ERRORS) {
          samples.add(s);
        }
      }
    }
    return new Phase(
        target.name(),
        clients,
        name,
        all.getTotalCount(),
        errors,
        missing,
        mismatches,
        seconds,
        all,
        samples);
  }

  /** One PUT, or one read and its check; a failure is counted, never thrown. */
  private void one(Target.Session s, int i, boolean reading, Tally t) {
    byte[] key = ValueCheck.key(i);
    byte[] value = ValueCheck.value(i, valueSize, salt);
    long start = System.nanoTime();
    try {
      if (!reading) {
        s.put(key, value);
        t.h.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
        return;
      }
      Optional<byte[]> got = s.read(key);
      t.h.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
      switch (ValueCheck.check(value, got)) {
        case OK -> {}
        case MISSING -> {
          t.missing++;
          t.sample(ValueCheck.describe(key, value, got));
        }
        case MISMATCH -> {
          t.mismatches++;
          t.sample(ValueCheck.describe(key, value, got));
        }
      }
    } catch (Exception e) {
      t.errors++;
      t.sample((reading ? "GET " : "PUT ") + new String(key) + ": " + e);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
