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
              TrialReport.transfers(r.transfers())));
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
    sb.append(TrialReport.transferLines(r.transfers()));
    if (r.transfers().isEmpty()) {
      sb.append(
          "- no node logged a snapshot sent: the node caught up from the log (write more"
              + " while it is down: --extra-writes)\n");
    }
    sb.append(
        TrialReport.errors(
            r.badSamples(),
            concat(r.load().sampleErrors(), r.extra().sampleErrors()),
            r.lightErrors(),
            r.lightErrorSamples()));
    sb.append("\nLight load (writes through the leader) per window:\n\n");
    sb.append(TrialReport.windows(r.windows()));
    sb.append(TrialReport.logScans(r.logScans()));
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
                  + " \"light_errors\": %d, \"terms\": %s, \"transfers\": %s,"
                  + " \"windows\": %s}",
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
              r.terms(),
              TrialReport.transfersJson(r.transfers()),
              TrialReport.windowsJson(r.windows())));
      sb.append(i + 1 < results.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }
}
