package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Renders failover results: summary table, per-trial CSV, JSON and the CDF charts. */
final class FailoverReport {
  private FailoverReport() {}

  /** One timing group's trials. */
  record Group(TimingGroup group, List<Failover.Trial> trials) {
    FailoverStats leader() {
      return stats(Failover.Trial::leaderMs);
    }

    FailoverStats firstWrite() {
      return stats(Failover.Trial::firstWriteMs);
    }

    private FailoverStats stats(ToDoubleFunction<Failover.Trial> f) {
      return new FailoverStats(trials.stream().mapToDouble(f).toArray());
    }
  }

  static String table(List<Group> groups) {
    StringBuilder sb =
        new StringBuilder(
            "| election timeout (ms) | heartbeat (ms) | trials | no leader | leader p50 ms |"
                + " leader p90 ms | leader max ms | no write | first write p50 ms |"
                + " first write p90 ms | first write max ms |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Group g : groups) {
      FailoverStats l = g.leader();
      FailoverStats w = g.firstWrite();
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %d | %.1f | %.1f | %.1f | %d | %.1f | %.1f | %.1f |%n",
              g.group().label(),
              g.group().heartbeatMs(),
              g.trials().size(),
              l.missing(),
              l.percentile(50),
              l.percentile(90),
              l.max(),
              w.missing(),
              w.percentile(50),
              w.percentile(90),
              w.max()));
    }
    return sb.toString();
  }

  static String csv(List<Group> groups) {
    StringBuilder sb =
        new StringBuilder(
            "group,election_min_ms,election_max_ms,heartbeat_ms,trial,killed_node,old_term,"
                + "kill_delay_ms,new_leader,new_term,leader_ms,first_write_ms,write_server\n");
    for (Group g : groups) {
      for (Failover.Trial t : g.trials()) {
        sb.append(
            String.format(
                Locale.ROOT,
                "%s,%d,%d,%d,%d,%d,%d,%.3f,%d,%d,%s,%s,%s%n",
                g.group().label(),
                g.group().minMs(),
                g.group().maxMs(),
                g.group().heartbeatMs(),
                t.trial(),
                t.killedNode(),
                t.oldTerm(),
                t.killDelayMs(),
                t.newLeader(),
                t.newTerm(),
                number(t.leaderMs()),
                number(t.firstWriteMs()),
                t.writeServer()));
      }
    }
    return sb.toString();
  }

  static String json(String header, List<Group> groups) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"header\": ").append(Report.quote(header)).append(",\n");
    sb.append("  \"tick_ms\": ").append(TimingGroup.TICK_MS).append(",\n");
    sb.append("  \"groups\": [");
    for (int i = 0; i < groups.size(); i++) {
      Group g = groups.get(i);
      sb.append(i == 0 ? "\n" : ",\n");
      sb.append(
          String.format(
              Locale.ROOT,
              "    {\"group\": \"%s\", \"election_min_ms\": %d, \"election_max_ms\": %d,"
                  + " \"heartbeat_ms\": %d, \"svr_args\": %s,%n",
              g.group().label(),
              g.group().minMs(),
              g.group().maxMs(),
              g.group().heartbeatMs(),
              Report.quote(String.join(" ", g.group().svrArgs()))));
      sb.append("     \"leader_ms\": ").append(summary(g.leader())).append(",\n");
      sb.append("     \"first_write_ms\": ").append(summary(g.firstWrite())).append(",\n");
      sb.append("     \"trials\": [");
      for (int j = 0; j < g.trials().size(); j++) {
        Failover.Trial t = g.trials().get(j);
        sb.append(j == 0 ? "\n" : ",\n");
        sb.append(
            String.format(
                Locale.ROOT,
                "       {\"trial\": %d, \"killed_node\": %d, \"old_term\": %d, \"kill_delay_ms\":"
                    + " %.3f, \"new_leader\": %d, \"new_term\": %d, \"leader_ms\": %s,"
                    + " \"first_write_ms\": %s, \"write_server\": %s}",
                t.trial(),
                t.killedNode(),
                t.oldTerm(),
                t.killDelayMs(),
                t.newLeader(),
                t.newTerm(),
                jsonNumber(t.leaderMs()),
                jsonNumber(t.firstWriteMs()),
                Report.quote(t.writeServer())));
      }
      sb.append("]}");
    }
    return sb.append("\n  ]\n}\n").toString();
  }

  private static String summary(FailoverStats s) {
    return String.format(
        Locale.ROOT,
        "{\"count\": %d, \"missing\": %d, \"p50\": %s, \"p90\": %s, \"p99\": %s, \"max\": %s}",
        s.count(),
        s.missing(),
        jsonNumber(s.count() == 0 ? Double.NaN : s.percentile(50)),
        jsonNumber(s.count() == 0 ? Double.NaN : s.percentile(90)),
        jsonNumber(s.count() == 0 ? Double.NaN : s.percentile(99)),
        jsonNumber(s.max()));
  }

  private static String number(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  private static String jsonNumber(double v) {
    return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
  }

  /**
   * Writes the CDF charts into dir, one PNG per family of groups as in Figure 16 (top: 150 ms
   * minimum, growing randomness; bottom: ranges as wide as their minimum; other: the rest), each
   * with the time to a new leader (left) and to the first write (right). Returns the files.
   */
  static List<Path> charts(Path dir, List<Group> groups, String subtitle) throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    chartFamily(dir, "failover-top", "150 ms minimum", groups, g -> g.inTopGraph(), subtitle)
        .ifPresent(written::add);
    chartFamily(dir, "failover-bottom", "range = minimum", groups, g -> g.inBottomGraph(), subtitle)
        .ifPresent(written::add);
    chartFamily(
            dir,
            "failover-other",
            "other ranges",
            groups,
            g -> !g.inTopGraph() && !g.inBottomGraph(),
            subtitle)
        .ifPresent(written::add);
    return written;
  }

  private static java.util.Optional<Path> chartFamily(
      Path dir,
      String name,
      String family,
      List<Group> groups,
      Predicate<TimingGroup> member,
      String subtitle)
      throws IOException {
    List<Group> mine = groups.stream().filter(g -> member.test(g.group())).toList();
    if (mine.isEmpty()) {
      return java.util.Optional.empty();
    }
    XYChart leader = cdf("time without leader (" + family + ") " + subtitle, "ms");
    XYChart write = cdf("time to first write (" + family + ") " + subtitle, "ms");
    for (Group g : mine) {
      addSeries(leader, g.group().label() + " ms", g.leader());
      addSeries(write, g.group().label() + " ms", g.firstWrite());
    }
    Path png = dir.resolve(name + ".png");
    String file = png.toString();
    BitmapEncoder.saveBitmap(
        List.of(leader, write),
        1,
        2,
        file.substring(0, file.length() - 4),
        BitmapEncoder.BitmapFormat.PNG);
    return java.util.Optional.of(png);
  }

  private static XYChart cdf(String title, String unit) {
    XYChart c =
        new XYChartBuilder()
            .width(760)
            .height(520)
            .title(title)
            .xAxisTitle("time after kill -9 of the leader (" + unit + ")")
            .yAxisTitle("cumulative percent of trials")
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setYAxisMin(0.0);
    c.getStyler().setYAxisMax(100.0);
    c.getStyler().setXAxisMin(0.0);
    c.getStyler().setYAxisDecimalPattern("#");
    c.getStyler().setXAxisDecimalPattern("#");
    return c;
  }

  private static void addSeries(XYChart chart, String name, FailoverStats s) {
    if (s.count() == 0) {
      return;
    }
    // Start each curve at (first sample, 0%) so the step shows where it leaves the axis.
    double[] xs = s.cdfX();
    double[] ys = s.cdfPercent();
    double[] x = new double[xs.length + 1];
    double[] y = new double[ys.length + 1];
    x[0] = xs[0];
    System.arraycopy(xs, 0, x, 1, xs.length);
    System.arraycopy(ys, 0, y, 1, ys.length);
    XYSeries series = chart.addSeries(name, x, y);
    series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Step);
    series.setMarker(SeriesMarkers.NONE);
  }
}
