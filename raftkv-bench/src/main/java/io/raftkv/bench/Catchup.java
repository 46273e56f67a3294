package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * One catch-up trial on one cluster: load the data set, stop a follower, write enough more that the
 * leader compacts its log past the follower's, restart it and time until it serves the whole data
 * set from its own store; a light paced write load through the leader runs throughout, so that its
 * latency during the catch-up (and during the snapshot transfer the leader logs) can be set beside
 * its latency without one.
 */
final class Catchup {
  /** What one trial measured; times in seconds. */
  record Result(
      TrialResult trial,
      BulkWriter.Result extra,
      int follower,
      double restartToListening,
      double restartToServed,
      double verifySeconds) {}

  private static final byte[] MARKER = "__catchup_last__".getBytes(StandardCharsets.US_ASCII);

  private final CatchupCluster cluster;
  private final String system;
  private final TrialParams p;
  private final int extraWrites;
  private final PrintStream progress;

  /**
   * @param extraWrites new keys written while the follower is down
   */
  Catchup(
      CatchupCluster cluster, String system, TrialParams p, int extraWrites, PrintStream progress) {
    this.cluster = cluster;
    this.system = system;
    this.p = p;
    this.extraWrites = extraWrites;
    this.progress = progress;
  }

  static byte[] extraKey(int i) {
    return String.format("cx%014d", i).getBytes(StandardCharsets.US_ASCII);
  }

  private byte[] extraValue(int i) {
    return ValueCheck.value(i, p.valueSize(), p.seed() + 1);
  }

  Result run() throws Exception {
    Target t = cluster.target();
    DataSet data = new DataSet(p);
    DataSet.Loaded load = data.load(cluster, system, progress);
    int leader = load.leader();
    int follower = (leader + 1) % t.nodes();
    List<Long> terms = new ArrayList<>();
    terms.add(cluster.term());
    List<LatencyLog.Window> windows = new ArrayList<>();
    long quiet = p.quiet().toMillis();
    try (LightLoad light =
        LightLoad.through(cluster, leader, p.lightClients(), p.lightRate(), p.valueSize())) {
      light.start();
      // The light clients' first calls open connections: 2 s before the first window.
      windows.add(light.measure("all nodes up, no transfer", Wall.now() + 2000, quiet));

      say("stopping follower %d (leader %d)", follower, leader);
      cluster.stop(follower);
      BulkWriter.Result extra =
          BulkWriter.write(
              t,
              p.loadClients(),
              extraWrites,
              Catchup::extraKey,
              this::extraValue,
              "writes while node " + follower + " is down",
              progress);
      try (Target.Session s = cluster.sessionAt(leader)) {
        s.put(MARKER, data.markerValue());
      }
      windows.add(light.measure("node " + follower + " down, no transfer", Wall.now(), quiet));

      terms.add(cluster.term());
      say("restarting node %d", follower);
      long restart = Wall.now();
      cluster.restart(follower);
      long listening = Wall.now();
      long served =
          ReadBack.awaitValue(
              key -> cluster.localRead(follower, key),
              MARKER,
              data.markerValue(),
              restart + p.limit().toMillis());
      if (served < 0) {
        throw new IllegalStateException(
            system
                + ": node "
                + follower
                + " did not serve the last key within "
                + p.limit().toSeconds()
                + " s of its restart");
      }
      say(
          "node %d serves the last key %.1f s after its restart",
          follower, (served - restart) / 1e3);
      ReadBack.Result check = ReadBack.check(sample(data), key -> cluster.localRead(follower, key));
      long verified = Wall.now();
      terms.add(cluster.term());
      windows.add(light.measure("after the catch-up, no transfer", verified, quiet));
      windows.add(
          light.latencies().window("catch-up: restart to last key served", restart, served));
      List<Integer> all = IntStream.range(0, t.nodes()).boxed().toList();
      List<Integer> others = all.stream().filter(i -> i != follower).toList();
      List<ServerLogs.Transfer> transfers = TrialLogs.transfers(cluster, others, restart - 1000);
      windows.addAll(TrialLogs.windows(light.latencies(), transfers));
      List<String> scans =
          TrialLogs.scans(
              cluster, all, i -> i == leader ? "leader" : i == follower ? "restarted" : "");
      TrialResult trial =
          TrialResult.of(system, cluster, load, light, check, terms, transfers, windows, scans);
      return new Result(
          trial,
          extra,
          follower,
          (listening - restart) / 1e3,
          (served - restart) / 1e3,
          (verified - served) / 1e3);
    }
  }

  /**
   * A seeded sample of the loaded and of the later keys (the first and last of each included), to
   * read back from the restarted node.
   */
  private List<ReadBack.Expected> sample(DataSet data) {
    SplittableRandom rnd = new SplittableRandom(p.seed());
    List<ReadBack.Expected> sample = new ArrayList<>();
    sample.add(new ReadBack.Expected(DataSet.key(0), data.value(0)));
    sample.add(new ReadBack.Expected(DataSet.key(p.keys() - 1), data.value(p.keys() - 1)));
    sample.add(new ReadBack.Expected(extraKey(0), extraValue(0)));
    int last = extraWrites - 1;
    sample.add(new ReadBack.Expected(extraKey(last), extraValue(last)));
    for (int i = 0; i < p.verifyKeys(); i++) {
      if (rnd.nextInt(10) == 0) {
        int k = rnd.nextInt(extraWrites);
        sample.add(new ReadBack.Expected(extraKey(k), extraValue(k)));
      } else {
        int k = rnd.nextInt(p.keys());
        sample.add(new ReadBack.Expected(DataSet.key(k), data.value(k)));
      }
    }
    return sample;
  }

  private void say(String format, Object... args) {
    if (progress != null) {
      progress.printf("[%s] %s%n", system, String.format(format, args));
    }
  }
}
