package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

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
          TrialReport.summaryRow(
              r.trial(),
              String.format(
                  Locale.ROOT,
                  "%.1f (%.0f, %d errors) | %.2f | %.2f",
                  r.extra().seconds(),
                  r.extra().opsPerSec(),
                  r.extra().errors(),
                  r.restartToListening(),
                  r.restartToServed())));
    }
    return sb.toString();
  }

  static String details(Catchup.Result r) {
    TrialResult t = r.trial();
    StringBuilder sb = new StringBuilder(TrialReport.heading(t));
    sb.append(
        String.format(
            Locale.ROOT,
            "- leader node %d; node %d stopped (SIGTERM), %,d writes while it was down, then"
                + " restarted; caught up when its %s of the last key written returned it%n",
            t.leader(),
            r.follower(),
            r.extra().ops(),
            t.localRead()));
    sb.append(
        String.format(
            Locale.ROOT,
            "- term (highest any node reports) after the load %d, before the restart %d, after"
                + " the catch-up %d: each increase is an election%n",
            t.terms().get(0),
            t.terms().get(1),
            t.terms().get(2)));
    sb.append(TrialReport.transferLines(t.transfers()));
    if (t.transfers().isEmpty()) {
      sb.append(
          "- no node logged a snapshot sent: the node caught up from the log (write more"
              + " while it is down: --extra-writes)\n");
    }
    List<String> writeErrors =
        Stream.concat(t.load().sampleErrors().stream(), r.extra().sampleErrors().stream()).toList();
    sb.append(TrialReport.errors(t, writeErrors));
    return sb.append(TrialReport.observations(t)).toString();
  }

  static String json(String head, List<Catchup.Result> results) {
    List<String> items = new ArrayList<>();
    for (Catchup.Result r : results) {
      String fields =
          String.format(
              Locale.ROOT,
              "\"extra_s\": %.3f, \"extra_writes\": %d, \"extra_errors\": %d, \"follower\": %d,"
                  + " \"restart_to_listening_s\": %.3f, \"restart_to_served_s\": %.3f",
              r.extra().seconds(),
              r.extra().ops(),
              r.extra().errors(),
              r.follower(),
              r.restartToListening(),
              r.restartToServed());
      items.add(TrialReport.resultJson(r.trial(), fields));
    }
    return TrialReport.json(head, items);
  }
}
