package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** Renders measurements: markdown tables, JSON, CSV and a PNG chart of latency percentiles. */
final class Report {
  private Report() {}

  private static final String HEADER =
      "| system | op | ops | errors | ops/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n"
          + "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";

  /** One table of one or more systems' figures (and one of the open loop's, if it ran). */
  static String markdown(List<Measurement> ms) {
    return latencies(ms) + openLoop(ms);
  }

  private static String latencies(List<Measurement> ms) {
    StringBuilder sb = new StringBuilder(HEADER);
    for (Measurement m : ms) {
      for (Measurement.Stats s : m.stats()) {
        sb.append(
            String.format(
                Locale.ROOT,
                "| %s | %s | %d | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
                m.target,
                s.op(),
                s.count(),
                s.errors(),
                s.opsPerSec(),
                s.p50Ms(),
                s.p90Ms(),
                s.p99Ms(),
                s.p999Ms(),
                s.maxMs()));
      }
    }
    return sb.toString();
  }

  /**
   * The open loop's figures per system, after a blank line: arrivals due and operations completed
   * per second, how many were sent late, dropped or left unsent; "" if none ran open.
   */
  static String openLoop(List<Measurement> ms) {
    StringBuilder sb = new StringBuilder();
    for (Measurement m : ms) {
      OpenLoop.Counts c = m.open;
      if (c == null) {
        continue;
      }
      if (sb.length() == 0) {
        sb.append(
            "\nOpen loop: latency runs from each operation's due time (coordinated omission"
                + " corrected); late = sent 1 ms or more after it was due (behind, or waiting for a"
                + " free client; % of those sent in the window); dropped = due while the"
                + " outstanding limit was reached:\n\n"
                + "| system | due ops/s | done ops/s | late | latest send ms | dropped | most"
                + " outstanding | unsent at end |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
      }
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f | %.0f | %d (%.1f %%) | %.2f | %d | %d | %d |%n",
              m.target,
              m.seconds > 0 ? c.due() / m.seconds : 0,
              m.stats("ALL").opsPerSec(),
              c.late(),
              c.sent() > 0 ? 100.0 * c.late() / c.sent() : 0,
              c.maxLateNanos() / 1e6,
              c.dropped(),
              c.peakOutstanding(),
              m.abandoned));
    }
    return sb.toString();
  }

  /**
   * raftkv/etcd for every figure: above 1 means raftkv has more throughput (ops/s) or a higher
   * latency (percentiles).
   */
  static String ratios(Measurement a, Measurement b) {
    StringBuilder sb =
        new StringBuilder(
            "| "
                + a.target
                + "/"
                + b.target
                + " | ops/s | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (Measurement.Stats x : a.stats()) {
      Measurement.Stats y = b.stats(x.op());
      if (y == null) {
        continue;
      }
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %s | %s | %s | %s |%n",
              x.op(),
              ratio(x.opsPerSec(), y.opsPerSec()),
              ratio(x.p50Ms(), y.p50Ms()),
              ratio(x.p90Ms(), y.p90Ms()),
              ratio(x.p99Ms(), y.p99Ms()),
              ratio(x.p999Ms(), y.p999Ms()),
              ratio(x.maxMs(), y.maxMs())));
    }
    return sb.toString();
  }

  private static String ratio(double x, double y) {
    return y == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", x / y);
  }

  // ------------------------------------------------------------------ JSON

  /** The whole report as JSON: workload, and per system (and per round) the figures. */
  static String json(Workload w, List<Measurement> merged, List<Measurement> rounds, String extra) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"workload\": ").append(workloadJson(w)).append(",\n");
    if (extra != null) {
      sb.append(extra);
    }
    sb.append("  \"results\": [\n");
    appendAll(sb, merged);
    sb.append("  ]");
    if (rounds != null) {
      sb.append(",\n  \"rounds\": [\n");
      appendAll(sb, rounds);
      sb.append("  ]");
    }
    sb.append("\n}\n");
    return sb.toString();
  }

  private static void appendAll(StringBuilder sb, List<Measurement> ms) {
    for (int i = 0; i < ms.size(); i++) {
      sb.append("    ").append(measurementJson(ms.get(i)));
      sb.append(i + 1 < ms.size() ? ",\n" : "\n");
    }
  }

  static String workloadJson(Workload w) {
    Arrivals a = w.arrivals();
    return String.format(
        Locale.ROOT,
        "{\"clients\": %d, \"connections\": %d, \"duration_s\": %.3f, \"warmup_s\": %.3f,"
            + " \"read_share\": %s, \"append_share\": %s, \"keys\": %d, \"key_size\": %d,"
            + " \"value_size\": %d, \"seed\": %d%s}",
        w.clients(),
        w.connections(),
        w.duration().toMillis() / 1000.0,
        w.warmup().toMillis() / 1000.0,
        w.readShare(),
        w.appendShare(),
        w.keys(),
        w.keySize(),
        w.valueSize(),
        w.seed(),
        a == null
            ? ", \"loop\": \"closed\""
            : String.format(
                Locale.ROOT,
                ", \"loop\": \"open\", \"rate\": %s, \"arrival\": %s, \"max_outstanding\": %d",
                a.rate(),
                quote(a.kind().name().toLowerCase(Locale.ROOT)),
                a.maxOutstanding()));
  }

  private static String measurementJson(Measurement m) {
    StringBuilder sb =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "{\"target\": %s, \"nodes\": %d, \"runs\": %d, \"seconds\": %.3f, \"ops\": [",
                quote(m.target),
                m.nodes,
                m.runs,
                m.seconds));
    List<Measurement.Stats> stats = m.stats();
    for (int i = 0; i < stats.size(); i++) {
      Measurement.Stats s = stats.get(i);
      sb.append(
          String.format(
              Locale.ROOT,
              "%s{\"op\": %s, \"count\": %d, \"errors\": %d, \"ops_per_s\": %.1f, \"mean_ms\": %.3f,"
                  + " \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f,"
                  + " \"max_ms\": %.3f}",
              i == 0 ? "" : ", ",
              quote(s.op()),
              s.count(),
              s.errors(),
              s.opsPerSec(),
              s.meanMs(),
              s.p50Ms(),
              s.p90Ms(),
              s.p99Ms(),
              s.p999Ms(),
              s.maxMs()));
    }
    sb.append("]");
    if (m.open != null) {
      OpenLoop.Counts c = m.open;
      sb.append(
          String.format(
              Locale.ROOT,
              ", \"open_loop\": {\"due\": %d, \"sent\": %d, \"late\": %d, \"max_late_ms\": %.3f,"
                  + " \"dropped\": %d, \"peak_outstanding\": %d, \"unsent_at_end\": %d}",
              c.due(),
              c.sent(),
              c.late(),
              c.maxLateNanos() / 1e6,
              c.dropped(),
              c.peakOutstanding(),
              m.abandoned));
    }
    sb.append(", \"sample_errors\": [");
    for (int i = 0; i < m.sampleErrors.size(); i++) {
      sb.append(i == 0 ? "" : ", ").append(quote(m.sampleErrors.get(i)));
    }
    return sb.append("]}").toString();
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  // ------------------------------------------------------------------ CSV

  /** A CSV's rows without its first (header) line, to append to another CSV of the same columns. */
  static String withoutHeader(String csv) {
    return csv.lines().skip(1).map(l -> l + "\n").reduce("", String::concat);
  }

  static String csv(List<Measurement> ms, String label) {
    StringBuilder sb =
        new StringBuilder(
            "label,target,nodes,runs,seconds,op,count,errors,ops_per_s,mean_ms,p50_ms,p90_ms,p99_ms,"
                + "p999_ms,max_ms\n");
    for (Measurement m : ms) {
      for (Measurement.Stats s : m.stats()) {
        sb.append(
            String.format(
                Locale.ROOT,
                "%s,%s,%d,%d,%.3f,%s,%d,%d,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f%n",
                label,
                m.target,
                m.nodes,
                m.runs,
                m.seconds,
                s.op(),
                s.count(),
                s.errors(),
                s.opsPerSec(),
                s.meanMs(),
                s.p50Ms(),
                s.p90Ms(),
                s.p99Ms(),
                s.p999Ms(),
                s.maxMs()));
      }
    }
    return sb.toString();
  }

  /** Writes JSON, or CSV when the file name ends in .csv. */
  static void write(Path out, String json, String csv) throws IOException {
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(out, out.toString().endsWith(".csv") ? csv : json);
  }

  // ------------------------------------------------------------------ PNG

  /** A bar chart of p50/p90/p99/p99.9 per system and operation. */
  static void chart(Path png, String title, List<Measurement> ms) throws IOException {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(1000)
            .height(560)
            .title(title)
            .xAxisTitle("percentile")
            .yAxisTitle("latency (ms)")
            .build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
    List<String> labels = List.of("p50", "p90", "p99", "p99.9");
    for (Measurement m : ms) {
      for (Measurement.Stats s : m.stats()) {
        if (s.op().equals("ALL") || s.count() == 0) {
          continue;
        }
        List<Double> ys = new ArrayList<>();
        for (double v : new double[] {s.p50Ms(), s.p90Ms(), s.p99Ms(), s.p999Ms()}) {
          ys.add(v);
        }
        chart.addSeries(
            String.format(Locale.ROOT, "%s %s (%.0f ops/s)", m.target, s.op(), s.opsPerSec()),
            labels,
            ys);
      }
    }
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    String name = png.toString();
    String base = name.endsWith(".png") ? name.substring(0, name.length() - 4) : name;
    BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
  }
}
