package io.raftkv.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * bench sweep: one {@code compare} per value of one parameter (clients, nodes or read share), all
 * other flags as in compare, then a summary table, JSON and charts across the values.
 */
@Command(
    name = "sweep",
    mixinStandardHelpOptions = true,
    defaultValueProvider = SweepCommand.Defaults.class,
    description = {
      "Run one compare (raftkv and etcd) per value of --vary, then summarize across the values.",
      "Rounds alternate which system goes first, continuing from point to point.",
      "Defaults of --values: clients 1,8,64,256,1024; nodes 3,5,7,9,11; read-share"
          + " 0,0.5,0.9,0.99."
    })
final class SweepCommand implements Callable<Integer> {
  @Mixin BenchMain.Common common;

  @Option(
      names = "--vary",
      required = true,
      paramLabel = "clients|nodes|read-share",
      description = "The parameter to vary; its flag, if given too, is overridden per point.")
  String vary;

  @Option(
      names = "--values",
      split = ",",
      paramLabel = "V",
      description = "The values to run, ascending (default: see above).")
  List<String> values;

  @Option(
      names = "--rounds",
      defaultValue = "1",
      description = "Rounds per point; each runs both systems once (default ${DEFAULT-VALUE}).")
  int rounds;

  /** Not with --vary nodes: bench cannot resize a cluster it did not start. */
  @Mixin ExistingClusters existing;

  @Option(
      names = "--chart-dir",
      paramLabel = "DIR",
      description =
          "Write throughput.png, latency.png, memory.png (against the varied parameter) and one"
              + " percentile chart per point into DIR.")
  Path chartDir;

  /**
   * The servers are JVMs: about 10 s of JIT warm-up before their throughput is steady, so a sweep,
   * whose points are compared with each other, warms up longer than run and compare do.
   */
  static final class Defaults implements CommandLine.IDefaultValueProvider {
    @Override
    public String defaultValue(CommandLine.Model.ArgSpec arg) {
      if (arg instanceof CommandLine.Model.OptionSpec o && o.longestName().equals("--warmup")) {
        return "10s";
      }
      return null;
    }
  }

  @Override
  public Integer call() throws Exception {
    SweepValues.Param param = SweepValues.param(vary);
    List<Double> points = SweepValues.parse(param, values);
    if (rounds < 1) {
      throw new IllegalArgumentException("--rounds must be at least 1");
    }
    if (param == SweepValues.Param.NODES && (existing.raftkv != null || existing.etcd != null)) {
      throw new IllegalArgumentException("--vary nodes needs clusters that bench starts");
    }
    if (common.chart != null) {
      throw new IllegalArgumentException("sweep writes its charts with --chart-dir DIR");
    }
    common.checkTls(existing.raftkv, existing.etcd);
    if (existing.etcd == null) {
      EtcdTarget.findEtcd(common.etcd); // fail before running anything
    }
    // Check every point's flags before the first (long) run.
    for (double v : points) {
      param.apply(common, v);
      common.checkNodes();
      common.workload();
    }
    param.apply(common, points.get(0));
    Workload base = common.workload();
    String head =
        BenchMain.header(base)
            + String.format(
                "sweep: --vary %s --values %s, %d round(s) per point; the workload line above is"
                    + " the first point's%n",
                param.name,
                points.stream().map(param::format).collect(Collectors.joining(",")),
                rounds);
    System.out.print(head);

    List<SweepReport.Point> done = new ArrayList<>();
    StringBuilder perPoint = new StringBuilder();
    for (int i = 0; i < points.size(); i++) {
      double v = points.get(i);
      param.apply(common, v);
      Workload w = common.workload();
      String title =
          String.format(
              "%n## %s = %s (point %d of %d)%n%nnodes %d; workload: %s%n%n",
              param.name, param.format(v), i + 1, points.size(), common.nodes, w.describe());
      System.out.print(title);
      CompareRounds result =
          CompareRounds.run(common, w, rounds, i * rounds, existing.raftkv, existing.etcd);
      String section = title + result.report();
      System.out.print(section.substring(title.length()));
      perPoint.append(section);
      done.add(new SweepReport.Point(v, w, result));
      // Written after every point, so that an interrupted sweep keeps what it measured.
      write(param, head, perPoint.toString(), done, base);
    }
    System.out.printf("%n## Summary%n%n%s", SweepReport.summary(param, done));
    return 0;
  }

  private void write(
      SweepValues.Param param,
      String head,
      String perPoint,
      List<SweepReport.Point> done,
      Workload base)
      throws Exception {
    if (common.markdown != null) {
      String md =
          head
              + "\n## Summary\n\n"
              + "ops/s above 1 = raftkv faster; latencies and memory below 1 = raftkv lower. Memory:"
              + " peak VmRSS of the largest server, sampled every "
              + MeasuredRun.RSS_PERIOD.toSeconds()
              + " s over the measured window.\n\n"
              + SweepReport.summary(param, done)
              + perPoint;
      Report.write(common.markdown, md, md);
    }
    if (common.out != null) {
      Report.write(
          common.out,
          SweepReport.json(param, rounds, head, done, base),
          SweepReport.csv(param, done));
    }
    if (chartDir != null) {
      SweepReport.charts(chartDir, param, done, fixed(param));
    }
  }

  /** What stays the same across the points, for the charts' titles. */
  private String fixed(SweepValues.Param param) {
    String mix =
        String.format(
            java.util.Locale.ROOT,
            "%.0f%% GET, %.0f%% APPEND",
            common.readShare * 100,
            common.appendShare * 100);
    String d = ", " + Durations.format(common.duration) + " x " + rounds;
    return switch (param) {
      case CLIENTS -> common.nodes + " nodes, " + mix + d;
      case NODES -> common.clients + " clients, " + mix + d;
      case READ_SHARE -> common.nodes + " nodes, " + common.clients + " clients" + d;
    };
  }
}
