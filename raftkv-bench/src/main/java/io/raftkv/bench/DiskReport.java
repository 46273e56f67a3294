package io.raftkv.bench;

import io.raftkv.bench.DiskSampler.NodeDisk;
import io.raftkv.bench.DiskSampler.Row;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Renders {@code bench disk}'s samples: summary, time table, CSV, JSON and a PNG chart. */
final class DiskReport {
  private DiskReport() {}

  private static final double MIB = 1024.0 * 1024.0;

  /**
   * Per system: the largest node's directory, its maximum in each quarter of the run, and the
   * second half's maximum over the first's. RocksDB and etcd both grow and shrink in steps
   * (flushes, compactions, WAL files), so a plateau shows as quarter maxima that stop rising (a
   * ratio near 1) however many writes the second half took; unbounded growth as a ratio near 2+.
   */
  static String summary(List<Row> rows, List<String> systems) {
    StringBuilder sb =
        new StringBuilder(
            "| system | writes | largest node dir MiB: max in each quarter of the run | at the"
                + " end | max 2nd half / max 1st half | log at the end |\n"
                + "|---|---:|---|---:|---:|---|\n");
    for (String system : systems) {
      List<Row> mine = periodic(rows, system);
      if (mine.isEmpty()) {
        continue;
      }
      Row last = mine.get(mine.size() - 1);
      long[] q = quarterMaxima(mine);
      long firstHalf = Math.max(q[0], q[1]);
      long secondHalf = Math.max(q[2], q[3]);
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %,d | %s / %s / %s / %s | %s | %s | %s |%n",
              system,
              last.writes(),
              DirSize.mib(q[0]),
              DirSize.mib(q[1]),
              DirSize.mib(q[2]),
              DirSize.mib(q[3]),
              DirSize.mib(last.maxBytes()),
              firstHalf > 0
                  ? String.format(Locale.ROOT, "%.2f", (double) secondHalf / firstHalf)
                  : "n/a",
              logRange(last)));
    }
    return sb.toString();
  }

  /** The largest node directory over the samples of each quarter of the run (-1: no sample). */
  static long[] quarterMaxima(List<Row> mine) {
    double end = mine.get(mine.size() - 1).seconds();
    long[] q = {-1, -1, -1, -1};
    for (Row r : mine) {
      int i = end <= 0 ? 3 : Math.min(3, (int) (4 * r.seconds() / end));
      q[i] = Math.max(q[i], r.maxBytes());
    }
    return q;
  }

  /** The samples taken during the run (not the extra ones after it, such as a defrag). */
  private static List<Row> periodic(List<Row> rows, String system) {
    return rows.stream()
        .filter(r -> r.system().equals(system) && !r.note().startsWith("after"))
        .toList();
  }

  /** Each node's log: "first..last" (raftkv) or "..raft index" (etcd: first unknown). */
  static String logRange(Row r) {
    StringBuilder sb = new StringBuilder();
    for (NodeDisk n : r.nodes()) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(n.firstIndex() < 0 ? "" : Long.toString(n.firstIndex()))
          .append("..")
          .append(n.lastIndex() < 0 ? "?" : Long.toString(n.lastIndex()));
    }
    return sb.toString();
  }

  /** Every sample: one row per system and time, the nodes side by side. */
  static String table(List<Row> rows) {
    StringBuilder sb =
        new StringBuilder(
            "| system | t s | writes | data dir MiB per node | log index per node (first..last)"
                + " | backend MiB per node | note |\n"
                + "|---|---:|---:|---|---|---|---|\n");
    for (Row r : rows) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %.1f | %,d | %s | %s | %s | %s |%n",
              r.system(),
              r.seconds(),
              r.writes(),
              join(r, n -> n.dirBytes()),
              logRange(r),
              join(r, n -> n.backendBytes()),
              r.note()));
    }
    return sb.toString();
  }

  private static String join(Row r, java.util.function.ToLongFunction<NodeDisk> f) {
    return String.join(", ", r.nodes().stream().map(n -> DirSize.mib(f.applyAsLong(n))).toList());
  }

  static String csv(List<Row> rows) {
    StringBuilder sb =
        new StringBuilder(
            "system,seconds,writes,node,dir_bytes,first_index,last_index,backend_bytes,note\n");
    for (Row r : rows) {
      for (int i = 0; i < r.nodes().size(); i++) {
        NodeDisk n = r.nodes().get(i);
        sb.append(
            String.format(
                Locale.ROOT,
                "%s,%.3f,%d,%d,%d,%d,%d,%d,%s%n",
                r.system(),
                r.seconds(),
                r.writes(),
                i,
                n.dirBytes(),
                n.firstIndex(),
                n.lastIndex(),
                n.backendBytes(),
                r.note()));
      }
    }
    return sb.toString();
  }

  static String json(String head, String config, List<Row> rows) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"header\": ").append(Report.quote(head)).append(",\n");
    sb.append("  \"config\": ").append(Report.quote(config)).append(",\n");
    sb.append("  \"samples\": [\n");
    for (int j = 0; j < rows.size(); j++) {
      Row r = rows.get(j);
      sb.append(
          String.format(
              Locale.ROOT,
              "    {\"system\": %s, \"seconds\": %.3f, \"writes\": %d, \"note\": %s, \"nodes\": [",
              Report.quote(r.system()),
              r.seconds(),
              r.writes(),
              Report.quote(r.note())));
      for (int i = 0; i < r.nodes().size(); i++) {
        NodeDisk n = r.nodes().get(i);
        sb.append(
            String.format(
                Locale.ROOT,
                "%s{\"dir_bytes\": %d, \"first_index\": %d, \"last_index\": %d,"
                    + " \"backend_bytes\": %d}",
                i == 0 ? "" : ", ",
                n.dirBytes(),
                n.firstIndex(),
                n.lastIndex(),
                n.backendBytes()));
      }
      sb.append("]}").append(j + 1 < rows.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }

  /** Two panels: each node's data directory over time, and over the writes acknowledged. */
  static void chart(Path png, String title, List<Row> rows, List<String> systems)
      throws IOException {
    XYChart byTime = xy(title, "time since the start of the run (s)");
    XYChart byWrites = xy(title, "writes acknowledged (thousands)");
    for (String system : systems) {
      List<Row> mine = periodic(rows, system);
      if (mine.isEmpty()) {
        continue;
      }
      for (int i = 0; i < mine.get(0).nodes().size(); i++) {
        int node = i;
        ToDoubleFunction<Row> mib = r -> Math.max(0, r.nodes().get(node).dirBytes()) / MIB;
        java.awt.Color color = color(system, i);
        add(byTime, system + " node " + i, mine, Row::seconds, mib).setLineColor(color);
        add(byWrites, system + " node " + i, mine, r -> r.writes() / 1000.0, mib)
            .setLineColor(color);
      }
    }
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    String file = png.toString();
    String base = file.endsWith(".png") ? file.substring(0, file.length() - 4) : file;
    BitmapEncoder.saveBitmap(List.of(byTime, byWrites), 1, 2, base, BitmapEncoder.BitmapFormat.PNG);
  }

  private static XYChart xy(String title, String xTitle) {
    XYChart c =
        new XYChartBuilder()
            .width(760)
            .height(520)
            .title(title)
            .xAxisTitle(xTitle)
            .yAxisTitle("data directory (MiB)")
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    c.getStyler().setXAxisMin(0.0);
    c.getStyler().setYAxisMin(0.0);
    c.getStyler().setXAxisDecimalPattern("#");
    return c;
  }

  /** Blues for raftkv, reds for etcd, a shade per node. */
  private static java.awt.Color color(String system, int node) {
    float shade = Math.min(0.6f, node * 0.2f);
    return system.equals("raftkv")
        ? new java.awt.Color(0.1f + shade / 2, 0.3f + shade / 2, 0.9f - shade / 3)
        : new java.awt.Color(0.9f - shade / 3, 0.2f + shade / 2, 0.1f + shade / 2);
  }

  private static XYSeries add(
      XYChart chart,
      String name,
      List<Row> rows,
      ToDoubleFunction<Row> x,
      ToDoubleFunction<Row> y) {
    double[] xs = rows.stream().mapToDouble(x).toArray();
    double[] ys = rows.stream().mapToDouble(y).toArray();
    XYSeries s = chart.addSeries(name, xs, ys);
    s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    s.setMarker(SeriesMarkers.NONE);
    return s;
  }
}
