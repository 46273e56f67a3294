package io.raftkv.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The core of {@code bench compare}, shared with {@code bench sweep}: rounds that each run raftkv
 * and etcd once, alternating which goes first (a system that runs second finds a warmer machine:
 * page cache, CPU frequency, other load), merged per system.
 *
 * @param raftkv raftkv's rounds merged (histograms added, windows summed)
 * @param etcd etcd's rounds merged
 * @param rounds every single run, in the order run
 * @param raftkvRss raftkv's peak memory per server over all rounds
 * @param etcdRss etcd's peak memory per member over all rounds
 * @param roundRss the memory of each single run, parallel to {@code rounds}
 * @param perRound one line per run (throughput, p50, p99, memory, load average)
 */
record CompareRounds(
    Measurement raftkv,
    Measurement etcd,
    List<Measurement> rounds,
    ServerRss raftkvRss,
    ServerRss etcdRss,
    List<ServerRss> roundRss,
    String perRound) {

  /**
   * Runs {@code count} rounds. Round r (counting from {@code firstRound}, 0-based) runs raftkv
   * first when r is even, so a sweep can keep alternating across its points. The per-round lines
   * number them from 1.
   */
  static CompareRounds run(
      BenchMain.Common c,
      Workload w,
      int count,
      int firstRound,
      List<String> endpoints,
      List<String> etcdEndpoints)
      throws Exception {
    return run(c, w, count, firstRound, 1, endpoints, etcdEndpoints);
  }

  /**
   * One round of clusters bench starts, numbered {@code round} (from 1) in its lines; raftkv goes
   * first in odd rounds. For callers that interleave rounds of their own (TLS and plaintext).
   */
  static CompareRounds round(BenchMain.Common c, Workload w, int round) throws Exception {
    return run(c, w, 1, round - 1, round, null, null);
  }

  private static CompareRounds run(
      BenchMain.Common c,
      Workload w,
      int count,
      int firstRound,
      int firstNumber,
      List<String> endpoints,
      List<String> etcdEndpoints)
      throws Exception {
    Measurement raftkv = null;
    Measurement etcd = null;
    ServerRss raftkvRss = null;
    ServerRss etcdRss = null;
    List<Measurement> all = new ArrayList<>();
    List<ServerRss> allRss = new ArrayList<>();
    StringBuilder perRound = new StringBuilder();
    PrintStream progress = c.progress();
    for (int r = 1; r <= count; r++) {
      List<String> order =
          (firstRound + r - 1) % 2 == 0 ? List.of("raftkv", "etcd") : List.of("etcd", "raftkv");
      for (String system : order) {
        MeasuredRun run =
            MeasuredRun.run(system, c, system.equals("raftkv") ? endpoints : etcdEndpoints, w);
        Measurement m = run.measurement();
        all.add(m);
        allRss.add(run.rss());
        Measurement.Stats s = m.stats("ALL");
        String line =
            String.format(
                Locale.ROOT,
                "round %d %-10s %8.0f ops/s  p50 %.2f ms  p99 %.2f ms  errors %d, max RSS %s MiB,"
                    + " %s, load average %s%n",
                firstNumber + r - 1,
                m.target,
                s.opsPerSec(),
                s.p50Ms(),
                s.p99Ms(),
                s.errors(),
                ServerRss.mib(run.rss().maxMib()),
                run.cpu().perOp(s.count()),
                BenchMain.loadAverage());
        perRound.append(line);
        if (progress != null) {
          progress.print(line);
        }
        if (system.equals("raftkv")) {
          raftkv = merge(raftkv, m);
          raftkvRss = run.rss().merge(raftkvRss);
        } else {
          etcd = merge(etcd, m);
          etcdRss = run.rss().merge(etcdRss);
        }
      }
    }
    return new CompareRounds(
        raftkv,
        etcd,
        List.copyOf(all),
        raftkvRss,
        etcdRss,
        List.copyOf(allRss),
        perRound.toString());
  }

  private static Measurement merge(Measurement acc, Measurement m) {
    if (acc == null) {
      acc = new Measurement(m.target, m.nodes);
    }
    acc.merge(m);
    return acc;
  }

  /**
   * These rounds followed by {@code later}'s: each system's figures merged, the rounds and lines
   * appended. Neither is changed.
   */
  CompareRounds then(CompareRounds later) {
    List<Measurement> all = new ArrayList<>(rounds);
    all.addAll(later.rounds);
    List<ServerRss> allRss = new ArrayList<>(roundRss);
    allRss.addAll(later.roundRss);
    return new CompareRounds(
        merge(merge(null, raftkv), later.raftkv),
        merge(merge(null, etcd), later.etcd),
        List.copyOf(all),
        raftkvRss.merge(later.raftkvRss),
        etcdRss.merge(later.etcdRss),
        List.copyOf(allRss),
        perRound + later.perRound);
  }

  /** The per-round lines, then the {@link #summary}. */
  String report() {
    return perRound + '\n' + summary();
  }

  /** Both systems merged, the raftkv/etcd ratios and the memory table. */
  String summary() {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            "All %d rounds merged (histograms added, throughput over the summed windows):%n%n",
            rounds.size() / 2));
    sb.append(Report.markdown(List.of(raftkv, etcd))).append('\n');
    sb.append(
        "Ratios raftkv/etcd (ops/s: above 1 = raftkv faster; latencies: below 1 = raftkv"
            + " lower):\n\n");
    sb.append(Report.ratios(raftkv, etcd)).append('\n');
    sb.append(memoryCaption(MeasuredRun.RSS_PERIOD.toSeconds())).append("\n\n");
    sb.append(ServerRss.markdown(List.of(raftkvRss, etcdRss)));
    return sb.toString();
  }

  static String memoryCaption(long periodSeconds) {
    return "Server memory: peak resident set size (VmRSS) per server over the measured window,"
        + " sampled every "
        + periodSeconds
        + " s; n/a when bench did not start the cluster:";
  }

  /** The JSON "memory" member (with a trailing comma and newline, for Report.json's extra). */
  String memoryJson() {
    StringBuilder sb = new StringBuilder("  \"memory\": {\"raftkv\": ");
    sb.append(raftkvRss.json()).append(", \"etcd\": ").append(etcdRss.json());
    sb.append(", \"ratio_raftkv_etcd\": ")
        .append(ServerRss.jsonNumber(ServerRss.ratio(raftkvRss, etcdRss)));
    sb.append(", \"rounds\": [");
    for (int i = 0; i < roundRss.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(roundRss.get(i).json());
    }
    return sb.append("]},\n").toString();
  }

  /** The whole compare as JSON: workload, header, memory, merged results and every round. */
  String json(Workload w, String head, String extra) {
    return Report.json(
        w,
        List.of(raftkv, etcd),
        rounds,
        (extra == null ? "" : extra)
            + "  \"header\": "
            + Report.quote(head)
            + ",\n"
            + memoryJson());
  }

  /** Merged rows, then one row per round (memory is in the JSON only). */
  String csv() {
    return Report.csv(List.of(raftkv, etcd), "merged")
        + Report.withoutHeader(Report.csv(rounds, "round"));
  }
}
