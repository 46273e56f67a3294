package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench disk: each node's data directory over a long write run at full speed, raftkv and then etcd
 * with the same workload, to show that raftkv's disk use plateaus (snapshots and log compaction).
 */
@Command(
    name = "disk",
    mixinStandardHelpOptions = true,
    description = {
      "Write at full speed (PUTs only, a bounded key space) to a raftkv cluster and then to an etcd"
          + " cluster, each started by bench, and sample every node's data directory size and log"
          + " indexes (raftkv: Admin Status first/last index; etcd: raft index and backend size)"
          + " every --sample-every. The size must plateau: bounded by the key space and the"
          + " snapshot interval, not by the number of writes.",
      "etcd keeps every revision unless compacted: bench starts it with --etcd-arg (default:"
          + " revision auto-compaction keeping 1000 revisions); it never defragments on its own,"
          + " so bench defragments every member once after the run and samples again."
    })
final class DiskCommand implements Callable<Integer> {
  @Option(names = "--target", defaultValue = "both", description = "raftkv, etcd or both.")
  String target;

  @Option(names = "--nodes", defaultValue = "3", description = "Cluster size (default 3).")
  int nodes;

  @Option(
      names = "--clients",
      defaultValue = "256",
      description = "Closed-loop writing clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--connections",
      defaultValue = "8",
      description = "Connections per server (default ${DEFAULT-VALUE}).")
  int connections;

  @Option(
      names = "--duration",
      defaultValue = "10m",
      converter = Durations.class,
      description = "Write time per system (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(
      names = "--sample-every",
      defaultValue = "5s",
      converter = Durations.class,
      description = "Sampling period (default ${DEFAULT-VALUE}).")
  Duration period;

  @Option(
      names = "--keys",
      defaultValue = "100000",
      description = "Key space, uniform (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--value-size",
      defaultValue = "128",
      description = "Bytes per value (default ${DEFAULT-VALUE}).")
  int valueSize;

  @Option(
      names = "--svr-arg",
      paramLabel = "ARG",
      description =
          "An extra svr flag or value, repeatable (e.g. --svr-arg=--snapshot-entries"
              + " --svr-arg=0 to see the log grow). Default: none (svr's defaults).")
  List<String> svrArgs = new ArrayList<>();

  @Option(
      names = "--etcd-arg",
      paramLabel = "ARG",
      split = ",",
      defaultValue = "--auto-compaction-mode=revision,--auto-compaction-retention=1000",
      description = "Extra etcd flags, comma-separated or repeated (default: ${DEFAULT-VALUE}).")
  List<String> etcdArgs;

  @Option(
      names = "--etcd-defrag",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "Defragment every etcd member after its run and sample once more (default on).")
  boolean etcdDefrag;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the clients' choices.")
  long seed;

  @Option(names = "--svr", paramLabel = "PATH", description = "raftkv's node launcher.")
  Path svr;

  @Option(names = "--etcd", paramLabel = "PATH", description = "The etcd binary.")
  Path etcd;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "Write every sample: JSON, or CSV if FILE ends in .csv.")
  Path out;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description = "Also write the report (markdown) to FILE.")
  Path markdown;

  @Option(
      names = "--chart",
      paramLabel = "FILE.png",
      description = "Write a PNG chart of the data directories over time and over writes.")
  Path chart;

  @Option(
      names = {"-q", "--quiet"},
      description = "No progress lines on stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    List<String> systems = Systems.parse(target);
    if (nodes < 1 || nodes > 11) {
      throw new IllegalArgumentException("--nodes must be between 1 and 11");
    }
    if (period.isZero() || period.isNegative()) {
      throw new IllegalArgumentException("--sample-every must be positive");
    }
    if (systems.contains("etcd")) {
      EtcdTarget.findEtcd(etcd);
    }
    Workload w =
        new Workload(
            clients, connections, duration, Duration.ZERO, 0, 0, keys, 16, valueSize, seed);
    String head =
        String.format(
            Locale.ROOT,
            "bench disk %s, %d cores, java %s, load average %s%nworkload: %s%n"
                + "sampled every %s: each node's data directory (bytes of its files), raftkv's"
                + " log first..last index (Admin Status), etcd's raft index and backend size"
                + " (Maintenance Status)%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            BenchMain.loadAverage(),
            w.describe(),
            Durations.format(period));
    System.out.print(head);
    PrintStream progress = quiet ? null : System.err;
    List<DiskSampler.Row> rows = new ArrayList<>();
    List<Measurement> throughput = new ArrayList<>();
    for (String system : systems) {
      DiskRun run = system.equals("raftkv") ? raftkv(w, progress) : etcd(w, progress);
      rows.addAll(run.rows());
      throughput.add(run.measurement());
    }
    String report =
        head
            + "\n"
            + config
            + "\nload average at the end "
            + BenchMain.loadAverage()
            + "\n\n"
            + DiskReport.summary(rows, systems)
            + notes(rows, systems)
            + "\nThroughput over the whole run (no warm-up):\n\n"
            + Report.markdown(throughput)
            + errors(throughput)
            + "\nData directories at the end of each run (MiB by kind of file):\n\n"
            + composition
            + "\nServer logs (warnings and errors):\n\n"
            + logs
            + "\nEvery sample:\n\n"
            + DiskReport.table(rows);
    System.out.print(report.substring(head.length()));
    if (markdown != null) {
      Report.write(markdown, report, report);
    }
    if (out != null) {
      String json = DiskReport.json(head, config.toString(), rows);
      Report.write(out, json, DiskReport.csv(rows));
    }
    if (chart != null) {
      DiskReport.chart(
          chart,
          String.format(
              Locale.ROOT,
              "data directory per node: %d clients writing, %d keys, %d B values",
              clients,
              keys,
              valueSize),
          rows,
          systems);
    }
    return 0;
  }

  private final StringBuilder config = new StringBuilder();
  private final StringBuilder logs = new StringBuilder();
  private final StringBuilder composition = new StringBuilder();

  /** One system's samples and its throughput. */
  private record DiskRun(List<DiskSampler.Row> rows, Measurement measurement) {}

  private DiskRun raftkv(Workload w, PrintStream progress) throws Exception {
    Path launcher = InsertReadCommand.devLauncher(svr, "svr");
    try (RaftkvTarget t = RaftkvTarget.start(launcher, nodes, connections, keepData, svrArgs);
        RaftkvAdmin admin = new RaftkvAdmin(t.endpoints())) {
      config.append("- ").append(t.describe()).append('\n');
      DiskSampler.Probe probe =
          i -> {
            var st = admin.status(i, 2000);
            return st == null
                ? new long[] {-1, -1, -1}
                : new long[] {st.getFirstIndex(), st.getLastIndex(), -1};
          };
      DiskRun run = sample(t, w, progress, t::nodeDir, probe, sampler -> {});
      for (int i = 0; i < nodes; i++) {
        logs.append(logLine("raftkv node " + i, ServerLogs.scanRaftkv(t.logFile(i))));
        composition.append(kinds("raftkv node " + i, t.nodeDir(i)));
      }
      return run;
    }
  }

  private DiskRun etcd(Workload w, PrintStream progress) throws Exception {
    try (EtcdTarget t =
            EtcdTarget.start(EtcdTarget.findEtcd(etcd), nodes, connections, keepData, etcdArgs);
        EtcdAdmin admin = new EtcdAdmin(t.endpoints())) {
      config
          .append("- ")
          .append(t.describe())
          .append("; defragmentation: ")
          .append(etcdDefrag ? "once, after the run (etcd never defragments on its own)" : "none")
          .append('\n');
      DiskSampler.Probe probe =
          i -> {
            var st = admin.status(i, 2000);
            return st == null
                ? new long[] {-1, -1, -1}
                : new long[] {-1, st.getRaftIndex(), st.getDbSize()};
          };
      DiskRun run =
          sample(
              t,
              w,
              progress,
              t::nodeDir,
              probe,
              sampler -> {
                if (etcdDefrag) {
                  int failed = 0;
                  for (int i = 0; i < nodes; i++) {
                    failed += admin.defragment(i) ? 0 : 1;
                  }
                  sampler.sample(
                      failed == 0 ? "after defrag" : "after defrag (failed on " + failed + ")");
                }
              });
      for (int i = 0; i < nodes; i++) {
        logs.append(logLine("etcd member " + i, ServerLogs.scanEtcd(t.logFile(i))));
        composition.append(kinds("etcd member " + i, t.nodeDir(i)));
      }
      return run;
    }
  }

  /** Runs the workload while sampling, then {@code after} (which may sample once more). */
  private DiskRun sample(
      Target t,
      Workload w,
      PrintStream progress,
      IntFunction<Path> dir,
      DiskSampler.Probe probe,
      java.util.function.Consumer<DiskSampler> after)
      throws Exception {
    if (progress != null) {
      progress.printf("[%s] %s%n", t.name(), t.describe());
    }
    Runner runner = new Runner(t, w, progress);
    DiskSampler sampler = DiskSampler.start(t.name(), dirs(dir), probe, runner::completed, period);
    Measurement m;
    try {
      m = runner.run();
    } finally {
      sampler.stop();
    }
    after.accept(sampler);
    return new DiskRun(sampler.rows(), m);
  }

  private List<Path> dirs(IntFunction<Path> dir) {
    List<Path> out = new ArrayList<>();
    for (int i = 0; i < nodes; i++) {
      out.add(dir.apply(i));
    }
    return out;
  }

  private static String errors(List<Measurement> ms) {
    StringBuilder sb = new StringBuilder();
    for (Measurement m : ms) {
      if (!m.sampleErrors.isEmpty()) {
        sb.append("\n").append(m.target).append(": ").append(m.totalErrors());
        sb.append(" errors, for example:\n\n");
        m.sampleErrors.forEach(e -> sb.append("- ").append(e).append('\n'));
      }
    }
    return sb.toString();
  }

  private static String kinds(String who, Path dir) {
    return "- " + who + ": " + DirSize.describeKinds(DirSize.byKind(dir)) + "\n";
  }

  private static String logLine(String who, ServerLogs.Scan s) {
    StringBuilder sb = new StringBuilder("- " + who + ": " + s.brief() + "\n");
    for (String line : s.samples()) {
      sb.append("  - `").append(line.replace('`', '\'')).append("`\n");
    }
    return sb.toString();
  }

  /** What the reader must know to read the table: a first index that does not move, etc. */
  static String notes(List<DiskSampler.Row> rows, List<String> systems) {
    if (!systems.contains("raftkv")) {
      return "";
    }
    long maxFirst = -1;
    long maxLast = -1;
    for (DiskSampler.Row r : rows) {
      if (r.system().equals("raftkv")) {
        for (DiskSampler.NodeDisk n : r.nodes()) {
          maxFirst = Math.max(maxFirst, n.firstIndex());
          maxLast = Math.max(maxLast, n.lastIndex());
        }
      }
    }
    if (maxFirst <= 1 && maxLast > 20_000) {
      return "\nraftkv's Status reported first_index "
          + maxFirst
          + " throughout while the log reached index "
          + maxLast
          + ": Status does not report where a compacted log starts (the server sets"
          + " first_index to 1 whenever its log is not empty), so only the directory size shows"
          + " compaction here.\n";
    }
    return "";
  }
}
