package io.raftkv.bench;

import java.util.List;
import java.util.Locale;

/** Renders {@code bench catchup}'s trials: markdown and JSON. */
final class CatchupReport {
  private CatchupReport() {}

  static String summary(List<Catchup.Result> results) {
    StringBuilder sb =
        new StringBuilder(
            "| system | load: s (writes/s, errors) | writes while down: s (writes/s)"
                + " | restart → listening s | restart → last key served s | sample read back"
                + " (missing, wrong) | term: loaded → restart → caught up | snapshots sent to it"
                + " (the other nodes' logs) |\n"
                + "|---|---|---|---:|---:|---|---|---|\n");
    for (Catchup.Result r : results) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %.1f (%.0f, %d) | %.1f (%.0f, %d errors) | %.2f | %.2f | %d (%d, %d) | %s | %s"
                  + " |%n",
              r.system(),
              r.load().seconds(),
              r.load().opsPerSec(),
              r.load().errors(),
              r.extra().seconds(),
              r.extra().opsPerSec(),
              r.extra().errors(),
              r.restartToListening(),
              r.restartToServed(),
              r.verified(),
              r.missing(),
              r.mismatches(),
              r.terms().get(0) + " → " + r.terms().get(1) + " → " + r.terms().get(2),
              transfers(r.transfers())));
    }
    return sb.toString();
  }

  /** "N sent: x MiB in y s (z MiB/s); ...; M failed" from the senders' logs. */
  static String transfers(List<ServerLogs.Transfer> ts) {
    if (ts.isEmpty()) {
      return "none logged";
    }
    List<String> sent = new java.util.ArrayList<>();
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

  /** The light load's latency per window, and each p99 over the first window's. */
  static String latencies(Catchup.Result r) {
    StringBuilder sb =
        new StringBuilder(
            "| window | s | writes | p50 ms | p99 ms | p99.9 ms | max ms | p99 / p99 with all"
                + " nodes up |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    double base = r.windows().get(0).ms(99);
    for (LatencyLog.Window w : r.windows()) {
      sb.append(w.row()).append(String.format(Locale.ROOT, " %.2f |%n", w.ms(99) / base));
    }
    return sb.toString();
  }

  static String details(Catchup.Result r) {
    StringBuilder sb = new StringBuilder();
    sb.append("### ").append(r.system()).append("\n\n");
    sb.append("- ").append(r.description()).append('\n');
    sb.append(
        String.format(
            Locale.ROOT,
            "- leader node %d; node %d stopped (SIGTERM), %,d writes while it was down, then"
                + " restarted; caught up when its %s of the last key written returned it%n",
            r.leader(),
            r.follower(),
            r.extra().ops(),
            r.localRead()));
    sb.append(
        String.format(
            Locale.ROOT,
            "- term (highest any node reports) after the load %d, before the restart %d, after"
                + " the catch-up %d: each increase is an election%n",
            r.terms().get(0),
            r.terms().get(1),
            r.terms().get(2)));
    // Every transfer that went through, and the first few that failed.
    int failuresShown = 0;
    for (ServerLogs.Transfer t : r.transfers()) {
      if (!t.ok() && failuresShown++ >= 3) {
        continue;
      }
      sb.append("- node ").append(t.node()).append("'s log: `");
      sb.append(t.line().strip().replace('`', '\'')).append("`\n");
    }
    if (failuresShown > 3) {
      sb.append("- (").append(failuresShown - 3).append(" more failed transfers in the log)\n");
    }
    if (r.transfers().isEmpty()) {
      sb.append(
          "- no node logged a snapshot sent: the node caught up from the log (write more"
              + " while it is down: --extra-writes)\n");
    }
    for (String b : r.badSamples()) {
      sb.append("- wrong read: ").append(b).append('\n');
    }
    List<String> errs = concat(r.load().sampleErrors(), r.extra().sampleErrors());
    for (String e : errs) {
      sb.append("- write error: ").append(e).append('\n');
    }
    if (r.lightErrors() > 0) {
      sb.append("- light load: ").append(r.lightErrors()).append(" errors, e.g. ");
      sb.append(String.join("; ", r.lightErrorSamples())).append('\n');
    }
    sb.append("\nLight load (writes through the leader) per window:\n\n");
    sb.append(latencies(r));
    sb.append("\nServer logs (warnings and errors):\n\n");
    for (String s : r.logScans()) {
      sb.append(s.startsWith("    ") ? "  - `" + s.strip().replace('`', '\'') + "`" : "- " + s);
      sb.append('\n');
    }
    return sb.append('\n').toString();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }

  static String json(String head, List<Catchup.Result> results) {
    StringBuilder sb = new StringBuilder("{\n  \"header\": " + Report.quote(head) + ",\n");
    sb.append("  \"results\": [\n");
    for (int i = 0; i < results.size(); i++) {
      Catchup.Result r = results.get(i);
      sb.append(
          String.format(
              Locale.ROOT,
              "    {\"system\": %s, \"description\": %s, \"load_s\": %.3f, \"load_writes\": %d,"
                  + " \"load_errors\": %d, \"extra_s\": %.3f, \"extra_writes\": %d,"
                  + " \"extra_errors\": %d, \"leader\": %d, \"follower\": %d,"
                  + " \"restart_to_listening_s\": %.3f, \"restart_to_served_s\": %.3f,"
                  + " \"verified\": %d, \"missing\": %d, \"mismatches\": %d,"
                  + " \"light_errors\": %d, \"terms\": %s, \"transfers\": [",
              Report.quote(r.system()),
              Report.quote(r.description()),
              r.load().seconds(),
              r.load().ops(),
              r.load().errors(),
              r.extra().seconds(),
              r.extra().ops(),
              r.extra().errors(),
              r.leader(),
              r.follower(),
              r.restartToListening(),
              r.restartToServed(),
              r.verified(),
              r.missing(),
              r.mismatches(),
              r.lightErrors(),
              r.terms()));
      for (int j = 0; j < r.transfers().size(); j++) {
        ServerLogs.Transfer t = r.transfers().get(j);
        sb.append(
            String.format(
                Locale.ROOT,
                "%s{\"ok\": %b, \"node\": %d, \"bytes\": %d, \"start_ms\": %d, \"end_ms\": %d}",
                j == 0 ? "" : ", ",
                t.ok(),
                t.node(),
                t.bytes(),
                t.startMillis(),
                t.endMillis()));
      }
      sb.append("], \"windows\": [");
      for (int j = 0; j < r.windows().size(); j++) {
        LatencyLog.Window w = r.windows().get(j);
        sb.append(
            String.format(
                Locale.ROOT,
                "%s{\"name\": %s, \"seconds\": %.3f, \"writes\": %d, \"p50_ms\": %s,"
                    + " \"p99_ms\": %s, \"p999_ms\": %s, \"max_ms\": %s}",
                j == 0 ? "" : ", ",
                Report.quote(w.name()),
                w.seconds(),
                w.count(),
                num(w.ms(50)),
                num(w.ms(99)),
                num(w.ms(99.9)),
                num(w.maxMs())));
      }
      sb.append("]}").append(i + 1 < results.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
  }
}
