package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One catch-up trial on one cluster: load the data set, stop a follower, write enough more that the
 * leader compacts its log past the follower's, restart it and time until it serves the whole data
 * set from its own store; a light paced write load through the leader runs throughout, so that its
 * latency during the catch-up (and during the snapshot transfer the leader logs) can be set beside
 * its latency without one.
 */
final class Catchup {
  /** The trial's sizes and pacing. */
  record Params(
      int keys,
      int valueSize,
      int extraWrites,
      int loadClients,
      int lightClients,
      double lightRate,
      Duration quiet,
      Duration limit,
      int verifyKeys,
      long seed) {}

  /** What one trial measured; times in seconds. */
  record Result(
      String system,
      String description,
      BulkWriter.Result load,
      BulkWriter.Result extra,
      int leader,
      int follower,
      double restartToListening,
      double restartToServed,
      double verifySeconds,
      int verified,
      int missing,
      int mismatches,
      List<String> badSamples,
      List<ServerLogs.Transfer> transfers,
      List<LatencyLog.Window> windows,
      long lightErrors,
      List<String> lightErrorSamples,
      List<String> logScans,
      String localRead,
      List<Long> terms) {}

  private static final byte[] MARKER = "__catchup_last__".getBytes(StandardCharsets.US_ASCII);

  private final CatchupCluster cluster;
  private final String system;
  private final Params p;
  private final PrintStream progress;

  Catchup(CatchupCluster cluster, String system, Params p, PrintStream progress) {
    this.cluster = cluster;
    this.system = system;
    this.p = p;
    this.progress = progress;
  }

  static byte[] loadKey(int i) {
    return String.format("cl%014d", i).getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] extraKey(int i) {
    return String.format("cx%014d", i).getBytes(StandardCharsets.US_ASCII);
  }

  private byte[] loadValue(int i) {
    return ValueCheck.value(i, p.valueSize(), p.seed());
  }

  private byte[] extraValue(int i) {
    return ValueCheck.value(i, p.valueSize(), p.seed() + 1);
  }

  private byte[] markerValue() {
    return ("done-" + p.seed()).getBytes(StandardCharsets.US_ASCII);
  }

  Result run() throws Exception {
    Target t = cluster.target();
    say("loading %,d keys of %d B with %d clients", p.keys(), p.valueSize(), p.loadClients());
    BulkWriter.Result load =
        BulkWriter.write(
            t, p.loadClients(), p.keys(), Catchup::loadKey, this::loadValue, "load", progress);
    int leader = cluster.leader();
    if (leader < 0) {
      throw new IllegalStateException(system + ": no leader after the load");
    }
    int follower = (leader + 1) % t.nodes();
    List<Long> terms = new ArrayList<>();
    terms.add(cluster.term());
    List<Target.Session> sessions = new ArrayList<>();
    for (int c = 0; c < p.lightClients(); c++) {
      sessions.add(cluster.sessionAt(leader));
    }
    List<LatencyLog.Window> windows = new ArrayList<>();
    long quiet = p.quiet().toMillis();
    try (LightLoad light = new LightLoad(sessions, p.lightRate(), p.valueSize())) {
      light.start();
      // The light clients' first calls open connections: 2 s before the first window.
      long from = now() + 2000;
      sleepUntil(from + quiet);
      windows.add(light.latencies().window("all nodes up, no transfer", from, from + quiet));

      say("stopping follower %d (leader %d)", follower, leader);
      cluster.stop(follower);
      BulkWriter.Result extra =
          BulkWriter.write(
              t,
              p.loadClients(),
              p.extraWrites(),
              Catchup::extraKey,
              this::extraValue,
              "writes while node " + follower + " is down",
              progress);
      try (Target.Session s = cluster.sessionAt(leader)) {
        s.put(MARKER, markerValue());
      }
      long down = now();
      sleepUntil(down + quiet);
      windows.add(
          light.latencies().window("node " + follower + " down, no transfer", down, down + quiet));

      terms.add(cluster.term());
      say("restarting node %d", follower);
      long restart = now();
      cluster.restart(follower);
      long listening = now();
      long served = awaitMarker(follower, restart);
      say(
          "node %d serves the last key %.1f s after its restart",
          follower, (served - restart) / 1e3);
      int[] check = new int[3];
      List<String> bad = new ArrayList<>();
      verify(follower, check, bad);
      long verified = now();
      terms.add(cluster.term());
      sleepUntil(verified + quiet);
      windows.add(
          light.latencies().window("after the catch-up, no transfer", verified, verified + quiet));
      windows.add(
          light.latencies().window("catch-up: restart to last key served", restart, served));
      // Leadership may have moved since the load: every other node's log counts.
      List<ServerLogs.Transfer> transfers = new ArrayList<>();
      for (int i = 0; i < t.nodes(); i++) {
        if (i != follower) {
          transfers.addAll(cluster.transfersFrom(i, restart - 1000));
        }
      }
      transfers.sort(java.util.Comparator.comparingLong(ServerLogs.Transfer::endMillis));
      for (ServerLogs.Transfer x : transfers) {
        if (x.ok() && x.startMillis() > 0) {
          windows.add(
              light
                  .latencies()
                  .window(
                      "snapshot transfer (node "
                          + x.node()
                          + "'s log, "
                          + DirSize.mib(x.bytes())
                          + " MiB)",
                      x.startMillis(),
                      x.endMillis()));
        }
      }
      List<String> scans = new ArrayList<>();
      for (int i = 0; i < t.nodes(); i++) {
        ServerLogs.Scan s = cluster.scanLog(i);
        scans.add(
            "node "
                + i
                + (i == leader ? " (leader)" : i == follower ? " (restarted)" : "")
                + ": "
                + s.brief());
        s.samples().forEach(line -> scans.add("    " + line));
      }
      return new Result(
          system,
          t.describe(),
          load,
          extra,
          leader,
          follower,
          (listening - restart) / 1e3,
          (served - restart) / 1e3,
          (verified - served) / 1e3,
          check[0],
          check[1],
          check[2],
          bad,
          transfers,
          windows,
          light.errors(),
          light.sampleErrors(),
          scans,
          cluster.localReadName(),
          terms);
    }
  }

  /** Polls the restarted node's local read of the last key written until it has its value. */
  private long awaitMarker(int node, long since) throws Exception {
    long deadline = since + p.limit().toMillis();
    byte[] want = markerValue();
    while (now() < deadline) {
      try {
        Optional<byte[]> got = cluster.localRead(node, MARKER);
        if (got.isPresent() && Arrays.equals(got.get(), want)) {
          return now();
        }
      } catch (Exception e) {
        // still starting, or installing: ask again
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException(
        system
            + ": node "
            + node
            + " did not serve the last key within "
            + p.limit().toSeconds()
            + " s of its restart");
  }

  /**
   * Reads a seeded sample of the loaded and of the later keys (the first and last of each included)
   * from the restarted node and compares them with what was written.
   */
  private void verify(int node, int[] check, List<String> bad) throws Exception {
    SplittableRandom rnd = new SplittableRandom(p.seed());
    List<int[]> sample = new ArrayList<>(); // {set, index}: 0 loaded, 1 written while down
    sample.add(new int[] {0, 0});
    sample.add(new int[] {0, p.keys() - 1});
    sample.add(new int[] {1, 0});
    sample.add(new int[] {1, p.extraWrites() - 1});
    for (int i = 0; i < p.verifyKeys(); i++) {
      boolean later = rnd.nextInt(10) == 0;
      sample.add(new int[] {later ? 1 : 0, rnd.nextInt(later ? p.extraWrites() : p.keys())});
    }
    for (int[] s : sample) {
      byte[] key = s[0] == 0 ? loadKey(s[1]) : extraKey(s[1]);
      byte[] want = s[0] == 0 ? loadValue(s[1]) : extraValue(s[1]);
      Optional<byte[]> got = cluster.localRead(node, key);
      check[0]++;
      switch (ValueCheck.check(want, got)) {
        case OK -> {}
        case MISSING -> check[1]++;
        case MISMATCH -> check[2]++;
      }
      if (ValueCheck.check(want, got) != ValueCheck.Outcome.OK && bad.size() < 5) {
        bad.add(ValueCheck.describe(key, want, got));
      }
    }
  }

  private void say(String format, Object... args) {
    if (progress != null) {
      progress.printf("[%s] %s%n", system, String.format(format, args));
    }
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  private static void sleepUntil(long millis) throws InterruptedException {
    long wait = millis - now();
    if (wait > 0) {
      TimeUnit.MILLISECONDS.sleep(wait);
    }
  }
}
