package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** bench catchup: a follower that was down while the leader compacted past its log. */
@Command(
    name = "catchup",
    mixinStandardHelpOptions = true,
    description = {
      "Load --keys keys of --value-size bytes into a 3-node cluster, stop a follower, write"
          + " --extra-writes more (enough for the leader to snapshot and compact its log past the"
          + " follower's), restart it and time until it serves the last key written from its own"
          + " store (raftkv: DIRECT_GET; etcd: serializable GET), then check a sample of every"
          + " key written. raftkv, then etcd, each on a fresh cluster.",
      "A light paced write load through the leader runs throughout: its latency with all nodes"
          + " up, with the follower down, during the catch-up and during the snapshot transfer"
          + " the leader logs, and after."
    })
final class CatchupCommand implements Callable<Integer> {
  @Option(names = "--target", defaultValue = "both", description = "raftkv, etcd or both.")
  String target;

  @Option(names = "--nodes", defaultValue = "3", description = "Cluster size (default 3).")
  int nodes;

  @Option(
      names = "--keys",
      defaultValue = "1000000",
      description = "Keys loaded before the follower stops (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--value-size",
      defaultValue = "1024",
      description = "Bytes per value (default ${DEFAULT-VALUE}: 1 GiB with the default keys).")
  int valueSize;

  @Option(
      names = "--extra-writes",
      defaultValue = "20000",
      description =
          "New keys written while the follower is down (default ${DEFAULT-VALUE}: raftkv's"
              + " defaults compact past it after at most 15,000; etcd's with --snapshot-count"
              + " 10000 too).")
  int extraWrites;

  @Option(
      names = "--load-clients",
      defaultValue = "64",
      description = "Clients of the load and of the writes while down (default ${DEFAULT-VALUE}).")
  int loadClients;

  @Option(
      names = "--light-clients",
      defaultValue = "4",
      description = "Clients of the light load (default ${DEFAULT-VALUE}).")
  int lightClients;

  @Option(
      names = "--light-rate",
      defaultValue = "200",
      description = "Writes per second of the light load, over all its clients (default 200).")
  double lightRate;

  @Option(
      names = "--window",
      defaultValue = "10s",
      converter = Durations.class,
      description =
          "Length of each latency window without a transfer: before the stop, while down, after"
              + " the catch-up (default ${DEFAULT-VALUE}).")
  Duration window;

  @Option(
      names = "--limit",
      defaultValue = "15m",
      converter = Durations.class,
      description = "Longest wait for the restarted node to catch up (default ${DEFAULT-VALUE}).")
  Duration limit;

  @Option(
      names = "--verify-keys",
      defaultValue = "1000",
      description = "Random keys read back from the restarted node (default ${DEFAULT-VALUE}).")
  int verifyKeys;

  @Option(
      names = "--svr-arg",
      paramLabel = "ARG",
      description = "An extra svr flag or value, repeatable. Default: none (svr's defaults).")
  List<String> svrArgs = new ArrayList<>();

  @Option(
      names = "--etcd-arg",
      paramLabel = "ARG",
      split = ",",
      defaultValue = "--snapshot-count=10000,--quota-backend-bytes=8589934592,--log-level=info",
      description =
          "Extra etcd flags, comma-separated or repeated (default: ${DEFAULT-VALUE}; info level"
              + " so that the leader logs the snapshots it sends).")
  List<String> etcdArgs;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of values and samples.")
  long seed;

  @Option(names = "--svr", paramLabel = "PATH", description = "raftkv's node launcher.")
  Path svr;

  @Option(names = "--etcd", paramLabel = "PATH", description = "The etcd binary.")
  Path etcd;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(names = "--out", paramLabel = "FILE.json", description = "Write the results as JSON.")
  Path out;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description = "Also write the report (markdown) to FILE.")
  Path markdown;

  @Option(
      names = {"-q", "--quiet"},
      description = "No progress lines on stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    List<String> systems = Systems.parse(target);
    if (keys < 1 || valueSize < 1 || extraWrites < 1 || loadClients < 1 || lightClients < 1) {
      throw new IllegalArgumentException(
          "--keys, --value-size, --extra-writes and the client counts must be at least 1");
    }
    if (nodes < 3 || nodes > 11) {
      throw new IllegalArgumentException("--nodes must be between 3 and 11");
    }
    if (lightRate <= 0) {
      throw new IllegalArgumentException("--light-rate must be positive");
    }
    if (systems.contains("etcd")) {
      EtcdTarget.findEtcd(etcd);
    }
    Catchup.Params params =
        new Catchup.Params(
            keys,
            valueSize,
            extraWrites,
            loadClients,
            lightClients,
            lightRate,
            window,
            limit,
            verifyKeys,
            seed);
    String head =
        String.format(
            Locale.ROOT,
            "bench catchup %s, %d cores, java %s, load average %s%n"
                + "%d nodes; data set %,d keys of 16 B with %d B values (%s MiB); %,d new keys"
                + " written while a follower is down; load with %d clients; light load %.0f"
                + " writes/s over %d clients through the leader, windows of %s%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            BenchMain.loadAverage(),
            nodes,
            keys,
            valueSize,
            DirSize.mib((long) keys * (16 + valueSize)),
            extraWrites,
            loadClients,
            lightRate,
            lightClients,
            Durations.format(window));
    System.out.print(head);
    PrintStream progress = quiet ? null : System.err;
    List<Catchup.Result> results = new ArrayList<>();
    for (String system : systems) {
      try (CatchupCluster c = open(system)) {
        if (progress != null) {
          progress.printf("[%s] %s%n", system, c.target().describe());
        }
        results.add(new Catchup(c, system, params, progress).run());
      }
    }
    StringBuilder md = new StringBuilder(head);
    md.append("\nload average at the end ").append(BenchMain.loadAverage()).append("\n\n");
    md.append(CatchupReport.summary(results)).append('\n');
    for (Catchup.Result r : results) {
      md.append(CatchupReport.details(r));
    }
    String report = md.toString();
    System.out.print(report.substring(head.length()));
    if (markdown != null) {
      Report.write(markdown, report, report);
    }
    if (out != null) {
      String json = CatchupReport.json(head, results);
      Report.write(out, json, json);
    }
    boolean bad = results.stream().anyMatch(r -> r.missing() + r.mismatches() > 0);
    return bad ? 1 : 0;
  }

  private CatchupCluster open(String system) {
    if (system.equals("raftkv")) {
      return new RaftkvCatchup(InsertReadCommand.devLauncher(svr, "svr"), nodes, keepData, svrArgs);
    }
    return new EtcdCatchup(EtcdTarget.findEtcd(etcd), nodes, keepData, etcdArgs);
  }
}
