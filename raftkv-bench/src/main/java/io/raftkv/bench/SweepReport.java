package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A sweep's outputs: the summary table, JSON with every figure, and charts across the points. */
final class SweepReport {
  private SweepReport() {}

  /** One value of the varied parameter: the workload it ran and its compare. */
  record Point(double value, Workload workload, CompareRounds result) {}

  /** The figures of one system at one point that the summary and the charts show. */
  record Row(
      double opsPerSec,
      double getP50,
      double getP99,
      double putP50,
      double putP99,
      double p50,
      double p99,
      double rssMib,
      long errors) {

    static Row of(Measurement m, ServerRss rss) {
      Measurement.Stats get = m.stats("GET");
      Measurement.Stats put = m.stats("PUT");
      Measurement.Stats all = m.stats("ALL");
      return new Row(
          all.opsPerSec(),
          get == null ? Double.NaN : get.p50Ms(),
          get == null ? Double.NaN : get.p99Ms(),
          put == null ? Double.NaN : put.p50Ms(),
          put == null ? Double.NaN : put.p99Ms(),
          all.p50Ms(),
          all.p99Ms(),
          rss == null ? Double.NaN : rss.maxMib(),
          all.errors());
    }
  }

  static Row raftkv(Point p) {
    return Row.of(p.result().raftkv(), p.result().raftkvRss());
  }

  static Row etcd(Point p) {
    return Row.of(p.result().etcd(), p.result().etcdRss());
  }

  /** x/y with two decimals; "n/a" when either is missing or y is zero. */
  static String ratio(double x, double y) {
    return Double.isNaN(x) || Double.isNaN(y) || y == 0
        ? "n/a"
        : String.format(Locale.ROOT, "%.2f", x / y);
  }

  private static String ms(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
  }

  /**
   * Per point a raftkv row, an etcd row and their raftkv/etcd ratio (ops/s above 1 = raftkv faster;
   * latencies and memory below 1 = raftkv lower).
   */
  static String summary(SweepValues.Param param, List<Point> points) {
    StringBuilder sb =
        new StringBuilder(
            "| "
                + param.name
                + " | system | ops/s | GET p50 ms | GET p99 ms | PUT p50 ms | PUT p99 ms"
                + " | all p99 ms | max RSS MiB | errors |\n"
                + "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Point p : points) {
      String v = param.format(p.value());
      Row a = raftkv(p);
      Row b = etcd(p);
      for (Object[] r : new Object[][] {{"raftkv", a}, {"etcd", b}}) {
        Row x = (Row) r[1];
        sb.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %d |%n",
                v,
                r[0],
                x.opsPerSec(),
                ms(x.getP50()),
                ms(x.getP99()),
                ms(x.putP50()),
                ms(x.putP99()),
                ms(x.p99()),
                ServerRss.mib(x.rssMib()),
                x.errors()));
      }
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | raftkv/etcd | %s | %s | %s | %s | %s | %s | %s | |%n",
              v,
              ratio(a.opsPerSec(), b.opsPerSec()),
              ratio(a.getP50(), b.getP50()),
              ratio(a.getP99(), b.getP99()),
              ratio(a.putP50(), b.putP50()),
              ratio(a.putP99(), b.putP99()),
              ratio(a.p99(), b.p99()),
              ratio(a.rssMib(), b.rssMib())));
    }
    return sb.toString();
  }

  // ------------------------------------------------------------------ JSON and CSV

  static String json(
      SweepValues.Param param, int rounds, String head, List<Point> points, Workload base) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"sweep\": {\"vary\": ").append(Report.quote(param.name));
    sb.append(", \"values\": [");
    for (int i = 0; i < points.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(param.format(points.get(i).value()));
    }
    sb.append("], \"rounds_per_point\": ").append(rounds).append("},\n");
    sb.append("  \"header\": ").append(Report.quote(head)).append(",\n");
    sb.append("  \"summary\": [\n");
    List<String> rows = new ArrayList<>();
    for (Point p : points) {
      Row a = raftkv(p);
      Row b = etcd(p);
      String v = param.format(p.value());
      rows.add(rowJson(v, "raftkv", a));
      rows.add(rowJson(v, "etcd", b));
      rows.add(
          String.format(
              Locale.ROOT,
              "{\"value\": %s, \"system\": \"raftkv/etcd\", \"ops_per_s\": %s, \"get_p50_ms\": %s,"
                  + " \"get_p99_ms\": %s, \"put_p50_ms\": %s, \"put_p99_ms\": %s, \"p50_ms\": %s,"
                  + " \"p99_ms\": %s, \"max_rss_mib\": %s}",
              v,
              div(a.opsPerSec(), b.opsPerSec()),
              div(a.getP50(), b.getP50()),
              div(a.getP99(), b.getP99()),
              div(a.putP50(), b.putP50()),
              div(a.putP99(), b.putP99()),
              div(a.p50(), b.p50()),
              div(a.p99(), b.p99()),
              div(a.rssMib(), b.rssMib())));
    }
    sb.append("    ").append(String.join(",\n    ", rows)).append("\n  ],\n");
    sb.append("  \"base_workload\": ").append(Report.workloadJson(base)).append(",\n");
    sb.append("  \"points\": [\n");
    for (int i = 0; i < points.size(); i++) {
      Point p = points.get(i);
      String extra = "  \"value\": " + param.format(p.value()) + ",\n";
      String one = p.result().json(p.workload(), p.workload().describe(), extra).strip();
      sb.append("    ").append(one.replace("\n", "\n    "));
      sb.append(i + 1 < points.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }

  private static String rowJson(String v, String system, Row r) {
    return String.format(
        Locale.ROOT,
        "{\"value\": %s, \"system\": %s, \"ops_per_s\": %s, \"get_p50_ms\": %s, \"get_p99_ms\": %s,"
            + " \"put_p50_ms\": %s, \"put_p99_ms\": %s, \"p50_ms\": %s, \"p99_ms\": %s,"
            + " \"max_rss_mib\": %s, \"errors\": %d}",
        v,
        Report.quote(system),
        ServerRss.jsonNumber(r.opsPerSec()),
        ServerRss.jsonNumber(r.getP50()),
        ServerRss.jsonNumber(r.getP99()),
        ServerRss.jsonNumber(r.putP50()),
        ServerRss.jsonNumber(r.putP99()),
        ServerRss.jsonNumber(r.p50()),
        ServerRss.jsonNumber(r.p99()),
        ServerRss.jsonNumber(r.rssMib()),
        r.errors());
  }

  private static String div(double x, double y) {
    return Double.isNaN(x) || Double.isNaN(y) || y == 0 ? "null" : ServerRss.jsonNumber(x / y);
  }

  /** The summary's raftkv and etcd rows as CSV (every other figure is in the JSON). */
  static String csv(SweepValues.Param param, List<Point> points) {
    StringBuilder sb =
        new StringBuilder(
            param.name
                + ",system,ops_per_s,get_p50_ms,get_p99_ms,put_p50_ms,put_p99_ms,p50_ms,p99_ms,"
                + "max_rss_mib,errors\n");
    for (Point p : points) {
      for (Object[] r : new Object[][] {{"raftkv", raftkv(p)}, {"etcd", etcd(p)}}) {
        Row x = (Row) r[1];
        sb.append(
                String.join(
                    ",",
                    param.format(p.value()),
                    (String) r[0],
                    csvNumber(x.opsPerSec()),
                    csvNumber(x.getP50()),
                    csvNumber(x.getP99()),
                    csvNumber(x.putP50()),
                    csvNumber(x.putP99()),
                    csvNumber(x.p50()),
                    csvNumber(x.p99()),
                    csvNumber(x.rssMib()),
                    Long.toString(x.errors())))
            .append('\n');
      }
    }
    return sb.toString();
  }

  private static String csvNumber(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  // ------------------------------------------------------------------ PNG

  /**
   * throughput.png, latency.png (p50 and p99 of all operations), memory.png (peak RSS per system),
   * each against the varied parameter, raftkv and etcd; then per point the percentile bars.
   */
  static void charts(Path dir, SweepValues.Param param, List<Point> points, String brief)
      throws IOException {
    Files.createDirectories(dir);
    XYChart tput = chart(param, "throughput vs " + param.name + ": " + brief, "ops/s", false);
    add(tput, "raftkv", points, p -> raftkv(p).opsPerSec());
    add(tput, "etcd", points, p -> etcd(p).opsPerSec());
    save(tput, dir.resolve("throughput.png"));

    // Latencies at 1 and 1024 clients are orders of magnitude apart: log y with log x.
    XYChart lat = chart(param, "latency vs " + param.name + ": " + brief, "ms", param.logX());
    add(lat, "raftkv p50", points, p -> raftkv(p).p50());
    add(lat, "raftkv p99", points, p -> raftkv(p).p99());
    add(lat, "etcd p50", points, p -> etcd(p).p50());
    add(lat, "etcd p99", points, p -> etcd(p).p99());
    save(lat, dir.resolve("latency.png"));

    XYChart mem =
        chart(
            param,
            "peak server RSS vs " + param.name + ": " + brief,
            "MiB (max over servers)",
            false);
    add(mem, "raftkv", points, p -> raftkv(p).rssMib());
    add(mem, "etcd", points, p -> etcd(p).rssMib());
    save(mem, dir.resolve("memory.png"));

    for (Point p : points) {
      Report.chart(
          dir.resolve("point-" + param.name + "-" + param.format(p.value()) + ".png"),
          param.name + " = " + param.format(p.value()) + ": " + p.workload().brief(),
          List.of(p.result().raftkv(), p.result().etcd()));
    }
  }

  private static XYChart chart(SweepValues.Param param, String title, String yTitle, boolean logY) {
    XYChart c =
        new XYChartBuilder()
            .width(1000)
            .height(560)
            .title(title)
            .xAxisTitle(param.name + (param.logX() ? " (log scale)" : ""))
            .yAxisTitle(yTitle + (logY ? " (log scale)" : ""))
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setXAxisLogarithmic(param.logX());
    c.getStyler().setYAxisLogarithmic(logY);
    c.getStyler().setYAxisMin(logY ? null : 0.0);
    return c;
  }

  /** A series over the points that have a positive figure (log axes cannot show zero). */
  private static void add(
      XYChart c, String name, List<Point> points, ToDoubleFunction<Point> figure) {
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    for (Point p : points) {
      double y = figure.applyAsDouble(p);
      if (y > 0 && !Double.isNaN(y) && (p.value() > 0 || !c.getStyler().isXAxisLogarithmic())) {
        xs.add(p.value());
        ys.add(y);
      }
    }
    if (!xs.isEmpty()) {
      c.addSeries(name, xs, ys).setMarker(SeriesMarkers.CIRCLE);
    }
  }

  private static void save(XYChart c, Path png) throws IOException {
    if (c.getSeriesMap().isEmpty()) {
      return; // nothing measured (e.g. memory of existing clusters)
    }
    String name = png.toString();
    BitmapEncoder.saveBitmap(
        c, name.substring(0, name.length() - ".png".length()), BitmapEncoder.BitmapFormat.PNG);
  }
}
