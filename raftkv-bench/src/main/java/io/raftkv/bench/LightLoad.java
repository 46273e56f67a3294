package io.raftkv.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A light, paced write load: {@code sessions.size()} clients, each sending a PUT every {@code
 * clients / rate} seconds (a client that falls behind does not burst to catch up), over a small key
 * set of its own; every latency goes to a {@link LatencyLog} with its completion time. A closed
 * loop would slow down with the server; a paced load keeps asking at the same rate.
 */
final class LightLoad implements AutoCloseable {
  private final List<Target.Session> sessions;
  private final double ratePerClient;
  private final int valueSize;
  private final LatencyLog log = new LatencyLog();
  private final AtomicLong errors = new AtomicLong();
  private final List<String> sampleErrors =
      java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stop;

  /**
   * @param sessions one per client, each writing through the leader
   * @param rate writes per second over all clients
   */
  LightLoad(List<Target.Session> sessions, double rate, int valueSize) {
    this.sessions = List.copyOf(sessions);
    this.ratePerClient = rate / sessions.size();
    this.valueSize = valueSize;
  }

  /**
   * {@code clients} clients writing through node {@code node} of {@code cluster} alone (the leader:
   * its latency, no detour), not started yet.
   */
  static LightLoad through(
      CatchupCluster cluster, int node, int clients, double rate, int valueSize) throws Exception {
    List<Target.Session> sessions = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      sessions.add(cluster.sessionAt(node));
    }
    return new LightLoad(sessions, rate, valueSize);
  }

  void start() {
    for (int c = 0; c < sessions.size(); c++) {
      int client = c;
      Thread t = new Thread(() -> loop(client), "light-" + c);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void loop(int client) {
    Target.Session s = sessions.get(client);
    SplittableRandom rnd = new SplittableRandom(client);
    byte[] value = new byte[valueSize];
    for (int i = 0; i < value.length; i++) {
      value[i] = (byte) ('a' + rnd.nextInt(26));
    }
    long interval = (long) (TimeUnit.SECONDS.toNanos(1) / ratePerClient);
    // Spread the clients' phases over one interval.
    long next = System.nanoTime() + interval * client / sessions.size();
    long n = 0;
    while (!stop) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
        continue;
      }
      byte[] key =
          String.format("lw%02d%012d", client, n++ % 1000).getBytes(StandardCharsets.US_ASCII);
      value[rnd.nextInt(value.length)] = (byte) ('a' + rnd.nextInt(26));
      long t0 = System.nanoTime();
      try {
        s.put(key, value);
        log.add(System.currentTimeMillis(), (System.nanoTime() - t0) / 1000);
      } catch (Exception e) {
        if (stop) {
          return;
        }
        errors.incrementAndGet();
        if (sampleErrors.size() < 5) {
          sampleErrors.add(e.toString());
        }
      }
      // The next send is one interval after this one was due, or now if that has passed.
      next = Math.max(next + interval, System.nanoTime());
    }
  }

  /** Waits until {@code millis} after {@code fromMillis}, then returns the latencies in between. */
  LatencyLog.Window measure(String name, long fromMillis, long millis) throws InterruptedException {
    Wall.sleepUntil(fromMillis + millis);
    return log.window(name, fromMillis, fromMillis + millis);
  }

  LatencyLog latencies() {
    return log;
  }

  long errors() {
    return errors.get();
  }

  List<String> sampleErrors() {
    synchronized (sampleErrors) {
      return List.copyOf(sampleErrors);
    }
  }

  @Override
  public void close() {
    stop = true;
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(15));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    sessions.forEach(Target.Session::close);
  }
}
