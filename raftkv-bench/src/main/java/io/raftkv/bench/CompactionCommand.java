package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench compaction: raftkv's write throughput with snapshots and log compaction on and off, in
 * alternating rounds on fresh clusters (the cost of snapshots).
 */
@Command(
    name = "compaction",
    mixinStandardHelpOptions = true,
    description = {
      "raftkv's throughput with each --snapshot-entries value (default: 10000, svr's default, and"
          + " 0, no snapshots and no compaction), the same workload on a fresh 3-node cluster per"
          + " run, in alternating rounds (the order reversed every other round); prints each"
          + " variant merged over its rounds and the ratios of the first variant to the second.",
      "Each run's line shows the term at its end: every election (term 1 is the first) costs"
          + " throughput, and on a loaded machine they happen with and without snapshots."
    })
final class CompactionCommand implements Callable<Integer> {
  @Option(
      names = "--snapshot-entries",
      split = ",",
      defaultValue = "10000,0",
      description = "svr's --snapshot-entries per variant (default ${DEFAULT-VALUE}).")
  List<Long> variants;

  @Option(names = "--nodes", defaultValue = "3", description = "Cluster size (default 3).")
  int nodes;

  @Option(
      names = "--clients",
      defaultValue = "256",
      description = "Closed-loop clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--connections",
      defaultValue = "8",
      description = "Connections per server (default ${DEFAULT-VALUE}).")
  int connections;

  @Option(
      names = "--duration",
      defaultValue = "30s",
      converter = Durations.class,
      description = "Measured time per run (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(
      names = "--warmup",
      defaultValue = "20s",
      converter = Durations.class,
      description = "Warm-up per run, discarded (default ${DEFAULT-VALUE}).")
  Duration warmup;

  @Option(
      names = "--rounds",
      defaultValue = "2",
      description = "Rounds; each runs every variant once (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(
      names = "--read-share",
      defaultValue = "0",
      description = "Fraction of GETs (default ${DEFAULT-VALUE}: writes only).")
  double readShare;

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

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the clients' choices.")
  long seed;

  @Option(names = "--svr", paramLabel = "PATH", description = "raftkv's node launcher.")
  Path svr;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "Write the results: JSON, or CSV if FILE ends in .csv.")
  Path out;

  @Option(
      names = "--markdown",
      paramLabel = "FILE",
      description = "Also write the summary (markdown) to FILE.")
  Path markdown;

  @Option(
      names = {"-q", "--quiet"},
      description = "No progress lines on stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (variants.size() < 2 || variants.stream().anyMatch(v -> v < 0)) {
      throw new IllegalArgumentException(
          "--snapshot-entries needs at least two values, each >= 0 (0: no snapshots)");
    }
    if (rounds < 1 || nodes < 1 || nodes > 11) {
      throw new IllegalArgumentException("--rounds >= 1 and --nodes 1..11");
    }
    Workload w =
        new Workload(
            clients, connections, duration, warmup, readShare, 0, keys, 16, valueSize, seed);
    String head = BenchMain.header(w).replaceFirst("^bench ", "bench compaction ");
    System.out.print(head);
    PrintStream progress = quiet ? null : System.err;
    Path launcher = InsertReadCommand.devLauncher(svr, "svr");
    Map<Long, Measurement> merged = new LinkedHashMap<>();
    List<Measurement> all = new ArrayList<>();
    StringBuilder perRun = new StringBuilder();
    for (int r = 1; r <= rounds; r++) {
      List<Long> order = new ArrayList<>(variants);
      if (r % 2 == 0) {
        java.util.Collections.reverse(order);
      }
      for (long v : order) {
        String line = runOne(launcher, w, r, v, progress, merged, all);
        perRun.append(line);
        if (progress != null) {
          progress.print(line);
        }
      }
    }
    List<Measurement> variantsMerged = new ArrayList<>(merged.values());
    String report =
        head
            + "\n"
            + perRun
            + "\nEach variant merged over its "
            + rounds
            + " round(s) (histograms added, throughput over the summed windows):\n\n"
            + Report.markdown(variantsMerged)
            + "\nRatios "
            + variantsMerged.get(0).target
            + " / "
            + variantsMerged.get(1).target
            + " (ops/s: below 1 = compaction costs throughput; latencies: above 1 = slower):\n\n"
            + Report.ratios(variantsMerged.get(0), variantsMerged.get(1));
    System.out.print(report.substring(head.length()));
    if (markdown != null) {
      Report.write(markdown, report, report);
    }
    if (out != null) {
      Report.write(
          out,
          Report.json(w, variantsMerged, all, "  \"header\": " + Report.quote(head) + ",\n"),
          Report.csv(variantsMerged, "merged"));
    }
    return 0;
  }

  /** One run of one variant on a fresh cluster; returns its line for the per-run list. */
  private String runOne(
      Path launcher,
      Workload w,
      int round,
      long entries,
      PrintStream progress,
      Map<Long, Measurement> merged,
      List<Measurement> all)
      throws Exception {
    List<String> args = List.of("--snapshot-entries", Long.toString(entries));
    try (RaftkvTarget t = RaftkvTarget.start(launcher, nodes, connections, keepData, args)) {
      if (progress != null) {
        progress.printf("[raftkv] %s%n", t.describe());
      }
      MeasuredRun run = MeasuredRun.measure(t, w, progress);
      Measurement m = run.measurement();
      long largest = -1;
      long term = -1;
      try (RaftkvAdmin admin = new RaftkvAdmin(t.endpoints())) {
        for (int i = 0; i < nodes; i++) {
          largest = Math.max(largest, DirSize.bytes(t.nodeDir(i)));
          var st = admin.status(i, 2000);
          term = st == null ? term : Math.max(term, st.getTerm());
        }
      }
      String label = label(entries);
      Measurement acc = merged.computeIfAbsent(entries, e -> new Measurement(label, nodes));
      acc.merge(m);
      Measurement single = new Measurement(label + " round " + round, nodes);
      single.merge(m);
      all.add(single);
      Measurement.Stats s = m.stats("ALL");
      return String.format(
          Locale.ROOT,
          "round %d %-24s %8.0f ops/s  p50 %.2f ms  p99 %.2f ms  errors %d, largest data dir"
              + " at the end %s MiB, term at the end %d, %s, load average %s%n",
          round,
          label,
          s.opsPerSec(),
          s.p50Ms(),
          s.p99Ms(),
          s.errors(),
          DirSize.mib(largest),
          term,
          run.cpu().perOp(s.count()),
          BenchMain.loadAverage());
    }
  }

  static String label(long entries) {
    return entries == 0 ? "snapshots off" : "snapshot-entries " + entries;
  }
}
