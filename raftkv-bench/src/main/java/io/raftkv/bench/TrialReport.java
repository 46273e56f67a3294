package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The parts of a trial's report that {@code bench catchup} and {@code bench replace} share: the
 * light load's latency per window, the snapshots sent, the errors seen, the servers' logs.
 */
final class TrialReport {
  private TrialReport() {}

  /**
   * The light load's latency per window, its longest gap without a completed write, and each p99
   * over the first window's (the undisturbed cluster's).
   */
  static String windows(List<LatencyLog.Window> windows) {
    StringBuilder sb =
        new StringBuilder(
            "| window | s | writes | p50 ms | p99 ms | p99.9 ms | max ms | longest gap ms"
                + " | p99 / first window's p99 |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    double base = windows.get(0).ms(99);
    for (LatencyLog.Window w : windows) {
      sb.append(w.row())
          .append(
              String.format(Locale.ROOT, " %d | %.2f |%n", w.longestGapMillis(), w.ms(99) / base));
    }
    return sb.toString();
  }

  /** A report's JSON: its header, and a result object per system. */
  static String json(String head, List<String> results) {
    return "{\n  \"header\": "
        + Report.quote(head)
        + ",\n  \"results\": [\n"
        + String.join(",\n", results)
        + "\n  ]\n}\n";
  }

  /**
   * One system's result as a JSON object: what every trial has (the system, the load, the leader),
   * then {@code fields} (the trial's own, "name": value pairs), then the read-back, the light
   * load's errors, the terms, the snapshots sent and the latency windows.
   */
  static String resultJson(TrialResult r, String fields) {
    return String.format(
        Locale.ROOT,
        "    {\"system\": %s, \"description\": %s, \"load_s\": %.3f, \"load_writes\": %d,"
            + " \"load_errors\": %d, \"leader\": %d, %s, \"verified\": %d, \"missing\": %d,"
            + " \"mismatches\": %d, \"light_errors\": %d, \"terms\": %s, \"transfers\": %s,"
            + " \"windows\": %s}",
        Report.quote(r.system()),
        Report.quote(r.description()),
        r.load().seconds(),
        r.load().ops(),
        r.load().errors(),
        r.leader(),
        fields,
        r.check().verified(),
        r.check().missing(),
        r.check().mismatches(),
        r.lightErrors(),
        r.terms(),
        transfersJson(r.transfers()),
        windowsJson(r.windows()));
  }

  /**
   * A row of a summary table: the system and its load, then {@code middle} (the trial's own cells,
   * "a | b | c"), then the read-back, the terms and the snapshots sent.
   */
  static String summaryRow(TrialResult r, String middle) {
    return String.format(
        Locale.ROOT,
        "| %s | %.1f (%.0f, %d) | %s | %d (%d, %d) | %s | %s |%n",
        r.system(),
        r.load().seconds(),
        r.load().opsPerSec(),
        r.load().errors(),
        middle,
        r.check().verified(),
        r.check().missing(),
        r.check().mismatches(),
        r.terms().get(0) + " → " + r.terms().get(1) + " → " + r.terms().get(2),
        transfers(r.transfers()));
  }

  /** A system's section of the details starts so: its name, then the cluster. */
  static String heading(TrialResult r) {
    return "### " + r.system() + "\n\n- " + r.description() + "\n";
  }

  /** A system's section ends so: the light load's windows, then the servers' logs. */
  static String observations(TrialResult r) {
    return "\nLight load (writes through the leader) per window:\n\n"
        + windows(r.windows())
        + logScans(r.logScans())
        + "\n";
  }

  /** The windows as a JSON array. */
  /** The windows as a JSON array. */
  static String windowsJson(List<LatencyLog.Window> windows) {
    List<String> items = new ArrayList<>();
    for (LatencyLog.Window w : windows) {
      items.add(
          String.format(
              Locale.ROOT,
              "{\"name\": %s, \"seconds\": %.3f, \"writes\": %d, \"p50_ms\": %s,"
                  + " \"p99_ms\": %s, \"p999_ms\": %s, \"max_ms\": %s, \"longest_gap_ms\": %d}",
              Report.quote(w.name()),
              w.seconds(),
              w.count(),
              num(w.ms(50)),
              num(w.ms(99)),
              num(w.ms(99.9)),
              num(w.maxMs()),
              w.longestGapMillis()));
    }
    return "[" + String.join(", ", items) + "]";
  }

  /** The transfers as a JSON array. */
  static String transfersJson(List<ServerLogs.Transfer> transfers) {
    List<String> items = new ArrayList<>();
    for (ServerLogs.Transfer t : transfers) {
      items.add(
          String.format(
              Locale.ROOT,
              "{\"ok\": %b, \"node\": %d, \"bytes\": %d, \"start_ms\": %d, \"end_ms\": %d}",
              t.ok(),
              t.node(),
              t.bytes(),
              t.startMillis(),
              t.endMillis()));
    }
    return "[" + String.join(", ", items) + "]";
  }

  /** "N sent: x MiB in y s (z MiB/s); ...; M failed" from the senders' logs. */
  static String transfers(List<ServerLogs.Transfer> ts) {
    if (ts.isEmpty()) {
      return "none logged";
    }
    List<String> sent = new ArrayList<>();
    long failed = 0;
    for (ServerLogs.Transfer t : ts) {
      if (!t.ok()) {
        failed++;
        continue;
      }
      double s = t.seconds();
      sent.add(
          String.format(
              Locale.ROOT,
              "%s MiB in %.1f s (%.0f MiB/s)",
              DirSize.mib(t.bytes()),
              s,
              s > 0 ? t.bytes() / (1024.0 * 1024.0) / s : Double.NaN));
    }
    return sent.size()
        + " sent"
        + (sent.isEmpty() ? "" : ": " + String.join("; ", sent))
        + (failed > 0 ? "; " + failed + " failed" : "");
  }

  /** A list item per transfer that went through, and per failed one up to three, with its line. */
  static String transferLines(List<ServerLogs.Transfer> transfers) {
    StringBuilder sb = new StringBuilder();
    int failuresShown = 0;
    for (ServerLogs.Transfer t : transfers) {
      if (!t.ok() && failuresShown++ >= 3) {
        continue;
      }
      sb.append("- node ").append(t.node()).append("'s log: `");
      sb.append(t.line().strip().replace('`', '\'')).append("`\n");
    }
    if (failuresShown > 3) {
      sb.append("- (").append(failuresShown - 3).append(" more failed transfers in the log)\n");
    }
    return sb.toString();
  }

  /** List items for wrong reads, failed bulk writes ({@code writeErrors}) and the light load's. */
  static String errors(TrialResult r, List<String> writeErrors) {
    StringBuilder sb = new StringBuilder();
    for (String b : r.check().bad()) {
      sb.append("- wrong read: ").append(b).append('\n');
    }
    for (String e : writeErrors) {
      sb.append("- write error: ").append(e).append('\n');
    }
    if (r.lightErrors() > 0) {
      sb.append("- light load: ").append(r.lightErrors()).append(" errors, e.g. ");
      sb.append(String.join("; ", r.lightErrorSamples())).append('\n');
    }
    return sb.toString();
  }

  /** The servers' warnings and errors ({@link TrialLogs#scans}) as a list. */
  private static String logScans(List<String> scans) {
    StringBuilder sb = new StringBuilder("\nServer logs (warnings and errors):\n\n");
    for (String s : scans) {
      sb.append(s.startsWith("    ") ? "  - `" + s.strip().replace('`', '\'') + "`" : "- " + s);
      sb.append('\n');
    }
    return sb.toString();
  }

  static String num(double v) {
    return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
  }
}
