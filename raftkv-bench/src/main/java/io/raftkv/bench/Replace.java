package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * One replacement trial on one cluster: load the data set, kill -9 a follower (its machine is
 * gone), replace it with a new member by the system's own procedure and time it, then read a sample
 * of the data set back from the new member's own store. A light paced write load through the leader
 * runs throughout, so that the write stall during the change can be set beside the latency before
 * it.
 */
final class Replace {
  /** What one trial measured; times in epoch ms inside {@code replacement}. */
  record Result(
      TrialResult trial,
      int dead,
      int newNode,
      String prepared,
      Replacement replacement,
      long servedMillis) {
    /** Seconds from the first command to {@code millis}. */
    double fromStart(long millis) {
      return (millis - replacement.startMillis()) / 1e3;
    }

    /** The window while the change was under way (first command to done). */
    LatencyLog.Window during() {
      return trial.windows().stream()
          .filter(w -> w.name().startsWith(DURING))
          .findFirst()
          .orElseThrow();
    }
  }

  static final String DURING = "during the change";
  private static final byte[] MARKER = "__replace_last__".getBytes(StandardCharsets.US_ASCII);

  private final ReplaceCluster rc;
  private final CatchupCluster cluster;
  private final String system;
  private final TrialParams p;
  private final PrintStream progress;

  Replace(ReplaceCluster rc, String system, TrialParams p, PrintStream progress) {
    this.rc = rc;
    this.cluster = rc.cluster();
    this.system = system;
    this.p = p;
    this.progress = progress;
  }

  Result run() throws Exception {
    Target t = cluster.target();
    DataSet data = new DataSet(p);
    DataSet.Loaded load = data.load(cluster, system, progress);
    int leader = load.leader();
    int dead = (leader + 1) % t.nodes();
    // Written last: once the new member has it, it has the whole data set.
    try (Target.Session s = cluster.sessionAt(leader)) {
      s.put(MARKER, data.markerValue());
    }
    List<Long> terms = new ArrayList<>();
    terms.add(cluster.term());
    String prepared = rc.prepare(dead);
    List<LatencyLog.Window> windows = new ArrayList<>();
    long quiet = p.quiet().toMillis();
    try (LightLoad light =
        LightLoad.through(cluster, leader, p.lightClients(), p.lightRate(), p.valueSize())) {
      light.start();
      // The light clients' first calls open connections: 2 s before the first window.
      windows.add(light.measure("before: all nodes up", Wall.now() + 2000, quiet));

      say("kill -9 of node %d (leader %d)", dead, leader);
      kill(t, dead);
      windows.add(light.measure("node " + dead + " dead, not yet replaced", Wall.now(), quiet));
      terms.add(cluster.term());

      Replacement r = rc.replace(Wall.now() + p.limit().toMillis(), line -> say("%s", line));
      say(
          "new member votes %.1f s after the first command, change done after %.1f s",
          (r.votingMillis() - r.startMillis()) / 1e3, (r.doneMillis() - r.startMillis()) / 1e3);
      long served =
          ReadBack.awaitValue(
              rc::readNew, MARKER, data.markerValue(), r.startMillis() + p.limit().toMillis());
      if (served < 0) {
        throw new IllegalStateException(
            system + ": the new member did not serve the last key loaded within --limit");
      }
      ReadBack.Result check = ReadBack.check(data.sample(), rc::readNew);
      long verified = Wall.now();
      terms.add(cluster.term());
      windows.add(
          light
              .latencies()
              .window(DURING + ": first command to done", r.startMillis(), r.doneMillis()));
      List<Integer> old = IntStream.range(0, t.nodes()).boxed().toList();
      List<Integer> survivors = old.stream().filter(i -> i != dead).toList();
      List<ServerLogs.Transfer> transfers =
          TrialLogs.transfers(cluster, survivors, r.startMillis() - 1000);
      windows.addAll(TrialLogs.windows(light.latencies(), transfers));
      // The windows cover the whole trial: the new member may still be catching up after it votes.
      windows.add(
          light
              .latencies()
              .window(
                  "change done to the new member's read-back checked", r.doneMillis(), verified));
      windows.add(light.measure("after the change", verified, quiet));

      List<Integer> all = new ArrayList<>(old);
      all.add(rc.newNode());
      List<String> scans =
          TrialLogs.scans(
              cluster,
              all,
              i -> i == leader ? "leader" : i == dead ? "killed" : i == rc.newNode() ? "new" : "");
      TrialResult trial =
          TrialResult.of(system, cluster, load, light, check, terms, transfers, windows, scans);
      return new Result(trial, dead, rc.newNode(), prepared, r, served);
    }
  }

  /** kill -9 of node {@code node}: its machine is gone; returns once the process has. */
  private static void kill(Target t, int node) throws Exception {
    ProcessHandle h =
        ProcessHandle.of(t.serverPids().get(node))
            .orElseThrow(() -> new IllegalStateException("node " + node + " is not running"));
    h.destroyForcibly();
    h.onExit().get(10, TimeUnit.SECONDS);
  }

  private void say(String format, Object... args) {
    if (progress != null) {
      progress.printf("[%s] %s%n", system, String.format(format, args));
    }
  }
}
