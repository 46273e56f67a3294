package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The flags of the trials that load a data set into a fresh 3-node cluster, disturb one node and
 * watch a light write load meanwhile ({@code bench catchup}, {@code bench replace}), and how such a
 * command writes its report.
 */
final class TrialOptions {
  /**
   * etcd's flags in these trials: a snapshot every 10,000 entries, so that a node that falls behind
   * is sent one as a raftkv node is (raftkv's defaults compact after at most 15,000); a quota above
   * the data set; info level, so that the leader logs the snapshots it sends.
   */
  static final String ETCD_ARGS =
      "--snapshot-count=10000,--quota-backend-bytes=8589934592,--log-level=info";

  @Option(names = "--target", defaultValue = "both", description = "raftkv, etcd or both.")
  String target;

  @Option(names = "--nodes", defaultValue = "3", description = "Cluster size (default 3).")
  int nodes;

  @Option(
      names = "--keys",
      defaultValue = "1000000",
      description = "Keys loaded first (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--value-size",
      defaultValue = "1024",
      description = "Bytes per value (default ${DEFAULT-VALUE}: 1 GiB with the default keys).")
  int valueSize;

  @Option(
      names = "--load-clients",
      defaultValue = "64",
      description = "Clients of the bulk writes (default ${DEFAULT-VALUE}).")
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
          "Length of each latency window around the disturbance: before it, while a node is"
              + " down, after (default ${DEFAULT-VALUE}).")
  Duration window;

  @Option(
      names = "--limit",
      defaultValue = "15m",
      converter = Durations.class,
      description =
          "Longest wait for a node to catch up or be replaced (default ${DEFAULT-VALUE}).")
  Duration limit;

  @Option(
      names = "--verify-keys",
      defaultValue = "1000",
      description =
          "Random keys read back from the caught-up or new node (default ${DEFAULT-VALUE}).")
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
      defaultValue = ETCD_ARGS,
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

  /** The systems to run, after checking every flag; finds etcd early when it is needed. */
  List<String> checked() {
    List<String> systems = Systems.parse(target);
    if (keys < 1 || valueSize < 1 || loadClients < 1 || lightClients < 1) {
      throw new IllegalArgumentException(
          "--keys, --value-size and the client counts must be at least 1");
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
    return systems;
  }

  TrialParams params() {
    return new TrialParams(
        keys, valueSize, loadClients, lightClients, lightRate, window, limit, verifyKeys, seed);
  }

  Path svrPath() {
    return InsertReadCommand.devLauncher(svr, "svr");
  }

  Path etcdPath() {
    return EtcdTarget.findEtcd(etcd);
  }

  PrintStream progress() {
    return quiet ? null : System.err;
  }

  /** The first lines of the report: the command, the machine, the data set and the light load. */
  String head(String command, String what) {
    return String.format(
        Locale.ROOT,
        "bench %s %s, %d cores, java %s, load average %s%n"
            + "%d nodes; data set %,d keys of 16 B with %d B values (%s MiB); %s; load with %d"
            + " clients; light load %.0f writes/s over %d clients through the leader, windows of"
            + " %s%n",
        command,
        java.time.Instant.now(),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        BenchMain.loadAverage(),
        nodes,
        keys,
        valueSize,
        DirSize.mib((long) keys * (16 + valueSize)),
        what,
        loadClients,
        lightRate,
        lightClients,
        Durations.format(window));
  }

  /**
   * Prints the report after {@code head} (already printed), writes it to --markdown and the JSON to
   * --out.
   */
  void write(String head, String body, String json) throws java.io.IOException {
    String report = head + "\nload average at the end " + BenchMain.loadAverage() + "\n\n" + body;
    System.out.print(report.substring(head.length()));
    if (markdown != null) {
      Report.write(markdown, report, report);
    }
    if (out != null) {
      Report.write(out, json, json);
    }
  }
}
