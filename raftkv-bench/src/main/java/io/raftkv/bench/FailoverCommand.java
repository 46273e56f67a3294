package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** bench failover: experiment (d), leader failover as in Figure 16 of the Raft paper. */
@Command(
    name = "failover",
    mixinStandardHelpOptions = true,
    description = {
      "Repeatedly kill -9 the leader of a 5-node raftkv cluster (a fresh cluster per timing"
          + " group) and measure the time until a survivor is leader of a newer term and until"
          + " the first write succeeds, as in Figure 16 of the Raft paper.",
      "Each trial waits until all 5 nodes agree on the leader and have applied all it has"
          + " committed, waits a random part of one heartbeat interval, kills the leader, then"
          + " restarts it (same ports and data).",
      "Group MIN-MAX: election timeouts drawn from MIN..MAX ms, both included; tick 1 ms,"
          + " heartbeat MIN/2 ms."
    })
final class FailoverCommand implements Callable<Integer> {
  private static final int NODES = 5;

  @Option(
      names = "--trials",
      defaultValue = "20",
      description = "Trials (leader kills) per timing group (default ${DEFAULT-VALUE}).")
  int trials;

  @Option(
      names = "--groups",
      defaultValue = TimingGroup.ALL,
      paramLabel = "MIN-MAX,...",
      description = "Election timeout ranges in ms (default: Figure 16's ${DEFAULT-VALUE}).")
  String groups;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "Write every trial: JSON, or CSV if FILE ends in .csv.")
  Path out;

  @Option(names = "--csv", description = "Also print every trial as CSV on stdout.")
  boolean csv;

  @Option(
      names = "--chart-dir",
      paramLabel = "DIR",
      description =
          "Write CDF charts (PNG) into DIR: failover-top.png (150-150 ... 150-300),"
              + " failover-bottom.png (12-24 ... 150-300), failover-other.png (other groups).")
  Path chartDir;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of the kill moments (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--svr",
      paramLabel = "PATH",
      description = "raftkv's node launcher (default: <raftkv root>/build/dev/svr).")
  Path svr;

  @Option(
      names = "--settle-ms",
      defaultValue = "3000",
      description =
          "Quiet time before each kill, so that the previous trial's restarted JVM has finished"
              + " its start-up work (class loading, JIT): on 2 shared cores it otherwise slows every"
              + " message of the next election by several ms (default ${DEFAULT-VALUE}).")
  long settleMs;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(
      names = {"-q", "--quiet"},
      description = "No progress lines on stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (trials < 1) {
      throw new IllegalArgumentException("--trials must be at least 1");
    }
    List<TimingGroup> list = TimingGroup.parseList(groups);
    PrintStream progress = quiet ? null : System.err;
    Path svrPath =
        svr != null
            ? svr
            : Path.of(System.getProperty("raftkv.root", "."))
                .toAbsolutePath()
                .normalize()
                .resolve("build/dev/svr");
    String head =
        String.format(
            Locale.ROOT,
            "bench failover %s, %d cores, java %s, load average %s%n"
                + "%d nodes (build/dev/svr, fsync on, PreVote and CheckQuorum on), tick %d ms,"
                + " heartbeat = min/2 ms, %d trials per group, seed %d%n"
                + "leader: kill -9 to the first survivor's log line saying it is LEADER in a newer"
                + " term (+-1 ms); first write: kill -9 to the first acknowledged PUT"
                + " of a client that starts writing at the kill%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            BenchMain.loadAverage(),
            NODES,
            TimingGroup.TICK_MS,
            trials,
            seed);
    System.out.print(head);
    // SplittableRandom: java.util.Random's first draws from small seeds are poorly spread.
    SplittableRandom random = new SplittableRandom(seed);
    List<FailoverReport.Group> results = new ArrayList<>();
    for (TimingGroup g : list) {
      results.add(runGroup(svrPath, g, random, progress));
    }
    System.out.println();
    System.out.print(FailoverReport.table(results));
    String end = "load average at the end: " + BenchMain.loadAverage() + "\n";
    System.out.print(end);
    if (csv) {
      System.out.println();
      System.out.print(FailoverReport.csv(results));
    }
    if (out != null) {
      Report.write(out, FailoverReport.json(head + end, results), FailoverReport.csv(results));
    }
    if (chartDir != null) {
      String subtitle = "(5 nodes, " + trials + " trials/group)";
      for (Path p : FailoverReport.charts(chartDir, results, subtitle)) {
        if (progress != null) {
          progress.println("chart: " + p);
        }
      }
    }
    return 0;
  }

  private FailoverReport.Group runGroup(
      Path svrPath, TimingGroup g, SplittableRandom random, PrintStream progress) throws Exception {
    if (progress != null) {
      progress.printf(
          "[%s] starting %d nodes: %s%n", g.label(), NODES, String.join(" ", g.svrArgs()));
    }
    List<Failover.Trial> done = new ArrayList<>();
    try (RaftkvTarget cluster = RaftkvTarget.start(svrPath, NODES, 1, keepData, g.svrArgs());
        Failover f = new Failover(cluster, g, random, Duration.ofMillis(settleMs))) {
      for (int t = 1; t <= trials; t++) {
        long start = System.nanoTime();
        Failover.Trial r = f.run(t);
        done.add(r);
        if (progress != null) {
          progress.printf(
              Locale.ROOT,
              "[%s] trial %d/%d: killed node %d (term %d) %.1f ms into a heartbeat interval;"
                  + " node %d leader of term %d after %.1f ms; first write after %.1f ms (%s);"
                  + " trial took %.1f s%n",
              g.label(),
              t,
              trials,
              r.killedNode(),
              r.oldTerm(),
              r.killDelayMs(),
              r.newLeader(),
              r.newTerm(),
              r.leaderMs(),
              r.firstWriteMs(),
              r.writeServer(),
              (System.nanoTime() - start) / 1e9);
        }
      }
    }
    return new FailoverReport.Group(g, done);
  }
}
