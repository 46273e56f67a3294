package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** bench: a load generator (closed or open loop) for raftkv and, side by side, etcd. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Load generator for raftkv, and for etcd (through jetcd) with the same workload: closed"
          + " loop, or open loop with --rate.",
      "Both systems run with durability on (fsync) and linearizable reads."
    },
    subcommands = {
      BenchMain.Run.class,
      BenchMain.Compare.class,
      SweepCommand.class,
      BaselineCommand.class,
      InsertReadCommand.class,
      OneShotCommand.class,
      FailoverCommand.class,
      DiskCommand.class,
      CatchupCommand.class,
      CompactionCommand.class,
      ReplaceCommand.class,
      IdleCommand.class
    })
public final class BenchMain implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(System.err);
    return 2;
  }

  /** The workload and cluster flags shared by run and compare. */
  static final class Common {
    @Option(
        names = "--nodes",
        defaultValue = "3",
        description =
            "Cluster size when bench starts the cluster (1 to 11; default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(
        names = "--clients",
        defaultValue = "64",
        description =
            "Concurrent clients, each with at most one operation in flight; with --rate, the"
                + " clients the arrivals are spread over (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(
        names = "--rate",
        paramLabel = "OPS_PER_SEC",
        description =
            "Open loop: operations due at this rate over all clients, whatever the completions;"
                + " latency runs from each one's due time (coordinated omission corrected)."
                + " Default: closed loop.")
    Double rate;

    @Option(
        names = "--arrival",
        defaultValue = "uniform",
        description =
            "With --rate: uniform (evenly spaced) or poisson (exponential gaps, seeded by --seed)"
                + " (default ${DEFAULT-VALUE}).")
    String arrival;

    @Option(
        names = "--max-outstanding",
        defaultValue = "10000",
        description =
            "With --rate: the most operations in flight or waiting for a free client; arrivals"
                + " beyond it are dropped and counted (default ${DEFAULT-VALUE}).")
    int maxOutstanding;

    @Option(
        names = "--connections",
        defaultValue = "8",
        description =
            "Connections per server, shared round-robin by the clients (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(
        names = "--duration",
        defaultValue = "10s",
        converter = Durations.class,
        description = "Measured time (default ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(
        names = "--warmup",
        defaultValue = "2s",
        converter = Durations.class,
        description = "Warm-up before measuring, discarded (default ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(
        names = "--read-share",
        defaultValue = "0.5",
        description = "Fraction of GETs (default ${DEFAULT-VALUE}).")
    double readShare;

    @Option(
        names = "--append-share",
        defaultValue = "0",
        description = "Fraction of APPENDs; the rest are PUTs (default ${DEFAULT-VALUE}).")
    double appendShare;

    @Option(
        names = "--keys",
        defaultValue = "10000",
        description = "Key space, uniform (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(
        names = "--key-size",
        defaultValue = "16",
        description = "Bytes per key (default ${DEFAULT-VALUE}).")
    int keySize;

    @Option(
        names = "--value-size",
        defaultValue = "128",
        description = "Bytes per value or appended suffix (default ${DEFAULT-VALUE}).")
    int valueSize;

    @Option(
        names = "--seed",
        defaultValue = "1",
        description = "Seed of the clients' choices (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
        names = "--svr",
        paramLabel = "PATH",
        description = "raftkv's node launcher (default: <raftkv root>/build/dev/svr).")
    Path svr;

    @Option(
        names = "--etcd",
        paramLabel = "PATH",
        description = "The etcd binary (default: etcd on PATH).")
    Path etcd;

    @Option(
        names = "--tls",
        description =
            "Start both systems with TLS: client certificates required on the client port, mutual"
                + " TLS between members, certificates made at run time in the cluster's directory"
                + " (not with --endpoints or --etcd-endpoints).")
    boolean tls;

    @Option(
        names = "--keep-data",
        description = "Keep the started clusters' data directories and logs.")
    boolean keepData;

    @Option(
        names = "--out",
        paramLabel = "FILE",
        description = "Write the results: JSON, or CSV if FILE ends in .csv.")
    Path out;

    @Option(
        names = "--markdown",
        paramLabel = "FILE",
        description = "Also write the summary (markdown tables) to FILE.")
    Path markdown;

    @Option(
        names = "--chart",
        paramLabel = "FILE.png",
        description = "Write a PNG chart of the latency percentiles.")
    Path chart;

    @Option(
        names = {"-q", "--quiet"},
        description = "No progress lines on stderr.")
    boolean quiet;

    Workload workload() {
      return new Workload(
          clients,
          connections,
          duration,
          warmup,
          readShare,
          appendShare,
          keys,
          keySize,
          valueSize,
          seed,
          arrivals());
    }

    /** The open loop's schedule, or null for a closed loop. */
    Arrivals arrivals() {
      if (rate == null) {
        return null;
      }
      Arrivals.Kind kind =
          switch (arrival) {
            case "uniform" -> Arrivals.Kind.UNIFORM;
            case "poisson" -> Arrivals.Kind.POISSON;
            default ->
                throw new IllegalArgumentException(
                    "--arrival must be uniform or poisson: " + arrival);
          };
      return new Arrivals(rate, kind, maxOutstanding);
    }

    Path svrPath() {
      if (svr != null) {
        return svr;
      }
      return Path.of(System.getProperty("raftkv.root", "."))
          .toAbsolutePath()
          .normalize()
          .resolve("build/dev/svr");
    }

    void checkNodes() {
      if (nodes < 1 || nodes > 11) {
        throw new IllegalArgumentException("--nodes must be between 1 and 11");
      }
    }

    /** --tls makes the certificates of the clusters bench starts; it has none for others. */
    void checkTls(List<String> raftkvEndpoints, List<String> etcdEndpoints) {
      if (tls && (raftkvEndpoints != null || etcdEndpoints != null)) {
        throw new IllegalArgumentException(
            "--tls is for clusters bench starts (it makes their certificates): not with"
                + " --endpoints or --etcd-endpoints");
      }
    }

    PrintStream progress() {
      return quiet ? null : System.err;
    }
  }

  static Target open(String system, Common c, List<String> endpoints) {
    if (system.equals("raftkv")) {
      return endpoints != null
          ? RaftkvTarget.existing(endpoints, c.connections)
          : RaftkvTarget.start(c.svrPath(), c.nodes, c.connections, c.keepData, List.of(), c.tls);
    }
    if (endpoints != null) {
      return EtcdTarget.existing(endpoints, c.connections);
    }
    return EtcdTarget.start(
        EtcdTarget.findEtcd(c.etcd), c.nodes, c.connections, c.keepData, List.of(), c.tls);
  }

  /** Starts (or connects to) the target, runs the workload once, stops what it started. */
  static Measurement runOnce(String system, Common c, List<String> endpoints, Workload w)
      throws Exception {
    return MeasuredRun.run(system, c, endpoints, w).measurement();
  }

  static String header(Workload w) {
    return String.format(
        Locale.ROOT,
        "bench %s, %d cores, %s, load average %s%nworkload: %s%n",
        Instant.now(),
        Runtime.getRuntime().availableProcessors(),
        "java " + System.getProperty("java.version"),
        loadAverage(),
        w.describe());
  }

  static String loadAverage() {
    try {
      String s = java.nio.file.Files.readString(Path.of("/proc/loadavg")).strip();
      String[] parts = s.split(" ");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (Exception e) {
      return "?";
    }
  }

  private static void printErrors(Measurement m) {
    if (!m.sampleErrors.isEmpty()) {
      System.out.println("\n" + m.target + ": " + m.totalErrors() + " errors, for example:");
      m.sampleErrors.forEach(e -> System.out.println("  " + e));
    }
  }

  /** bench run. */
  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = "Run the workload against one system and print its figures.")
  static final class Run implements Callable<Integer> {
    @Mixin Common common;

    @Option(
        names = "--target",
        defaultValue = "raftkv",
        description = "raftkv or etcd (default ${DEFAULT-VALUE}).")
    String target;

    @Option(
        names = "--endpoints",
        split = ",",
        paramLabel = "HOST:PORT",
        description = "An existing cluster's client addresses (default: bench starts one).")
    List<String> endpoints;

    @Override
    public Integer call() throws Exception {
      if (!target.equals("raftkv") && !target.equals("etcd")) {
        throw new IllegalArgumentException("--target must be raftkv or etcd");
      }
      common.checkNodes();
      common.checkTls(endpoints, null);
      if (target.equals("etcd") && endpoints == null) {
        EtcdTarget.findEtcd(common.etcd); // fail before printing anything
      }
      Workload w = common.workload();
      String head = header(w);
      System.out.print(head);
      MeasuredRun run = MeasuredRun.run(target, common, endpoints, w);
      Measurement m = run.measurement();
      String tables =
          Report.markdown(List.of(m))
              + "\n"
              + CompareRounds.memoryCaption(MeasuredRun.RSS_PERIOD.toSeconds())
              + "\n\n"
              + ServerRss.markdown(List.of(run.rss()))
              + "\n"
              + run.cpu().perOp(m.stats("ALL").count())
              + "\n";
      System.out.println();
      System.out.print(tables);
      if (common.markdown != null) {
        String md = head + "\n" + tables;
        Report.write(common.markdown, md, md);
      }
      printErrors(m);
      if (common.out != null) {
        Report.write(
            common.out,
            Report.json(
                w,
                List.of(m),
                null,
                "  \"header\": "
                    + Report.quote(head)
                    + ",\n  \"memory\": {"
                    + Report.quote(target)
                    + ": "
                    + run.rss().json()
                    + "},\n"),
            Report.csv(List.of(m), "run"));
      }
      if (common.chart != null) {
        Report.chart(common.chart, target + ": " + w.brief(), List.of(m));
      }
      return 0;
    }
  }

  /** bench compare. */
  @Command(
      name = "compare",
      mixinStandardHelpOptions = true,
      description = {
        "Run the workload against raftkv and etcd in alternating rounds (raftkv first in odd"
            + " rounds, etcd first in even ones), then print both and the raftkv/etcd ratios.",
        "With --tls-cost every round runs both systems plaintext and with TLS (odd rounds:"
            + " plaintext first; even rounds the reverse order), then prints both compares and"
            + " each system's TLS/plaintext ratios."
      })
  static final class Compare implements Callable<Integer> {
    @Mixin Common common;

    @Option(
        names = "--rounds",
        defaultValue = "2",
        description = "Rounds; each runs both systems once (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
        names = "--tls-cost",
        description =
            "Measure what TLS costs each system: every round runs both plaintext and with --tls"
                + " (four runs a round).")
    boolean tlsCost;

    @Mixin ExistingClusters existing;

    @Override
    public Integer call() throws Exception {
      if (rounds < 1) {
        throw new IllegalArgumentException("--rounds must be at least 1");
      }
      common.checkNodes();
      common.checkTls(existing.raftkv, existing.etcd);
      if (tlsCost && (common.tls || existing.raftkv != null || existing.etcd != null)) {
        throw new IllegalArgumentException(
            "--tls-cost starts plaintext and TLS clusters itself: not with --tls, --endpoints or"
                + " --etcd-endpoints");
      }
      if (existing.etcd == null) {
        EtcdTarget.findEtcd(common.etcd); // fail before running anything
      }
      Workload w = common.workload();
      String head = header(w);
      System.out.print(head);
      if (tlsCost) {
        return tlsCost(w, head);
      }
      CompareRounds result =
          CompareRounds.run(common, w, rounds, 0, existing.raftkv, existing.etcd);
      Measurement raftkv = result.raftkv();
      Measurement etcd = result.etcd();
      String report = head + '\n' + result.report();
      System.out.print(report.substring(head.length()));
      if (common.markdown != null) {
        Report.write(common.markdown, report, report);
      }
      printErrors(raftkv);
      printErrors(etcd);
      if (common.out != null) {
        Report.write(common.out, result.json(w, head, null), result.csv());
      }
      if (common.chart != null) {
        Report.chart(
            common.chart,
            "raftkv vs etcd (" + rounds + " rounds): " + w.brief(),
            List.of(raftkv, etcd));
      }
      return 0;
    }

    private int tlsCost(Workload w, String head) throws Exception {
      TlsCost result = TlsCost.run(common, w, rounds);
      String report = head + '\n' + result.report();
      System.out.print(report.substring(head.length()));
      if (common.markdown != null) {
        Report.write(common.markdown, report, report);
      }
      result.merged().forEach(BenchMain::printErrors);
      if (common.out != null) {
        Report.write(common.out, result.json(w, head), result.csv());
      }
      if (common.chart != null) {
        Report.chart(
            common.chart,
            "plaintext vs TLS (" + rounds + " rounds): " + w.brief(),
            result.merged());
      }
      return 0;
    }
  }

  static int execute(String... args) {
    CommandLine cmd = new CommandLine(new BenchMain());
    cmd.setExecutionExceptionHandler(
        (ex, line, parsed) -> {
          if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
            System.err.println("bench: " + ex.getMessage());
            return 1;
          }
          throw ex;
        });
    return cmd.execute(args);
  }

  public static void main(String[] args) {
    int rc = execute(args);
    System.exit(rc);
  }
}
