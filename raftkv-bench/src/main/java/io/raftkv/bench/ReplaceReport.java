package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders {@code bench replace}'s trials: markdown and JSON. */
final class ReplaceReport {
  private ReplaceReport() {}

  static String summary(List<Replace.Result> results) {
    StringBuilder sb =
        new StringBuilder(
            "| system | load: s (writes/s, errors) | first command → new member votes s"
                + " | → dead member removed s | → new member serves the data set s"
                + " | during the change: light writes, p99 ms (× before), max ms, longest gap ms"
                + " | sample read back from the new member (missing, wrong)"
                + " | term: loaded → killed → replaced | snapshots sent |\n"
                + "|---|---|---:|---:|---:|---|---|---|---|\n");
    for (Replace.Result r : results) {
      LatencyLog.Window during = r.during();
      sb.append(
          TrialReport.summaryRow(
              r.trial(),
              String.format(
                  Locale.ROOT,
                  "%.2f | %.2f | %.2f | %d, %.1f (%.2f×), %.1f, %d",
                  r.fromStart(r.replacement().votingMillis()),
                  r.fromStart(r.replacement().removedMillis()),
                  r.fromStart(r.servedMillis()),
                  during.count(),
                  during.ms(99),
                  during.ms(99) / r.trial().windows().get(0).ms(99),
                  during.maxMs(),
                  during.longestGapMillis())));
    }
    return sb.toString();
  }

  /** The steps as run: seconds after the first command, duration, attempts, command line. */
  static String steps(Replace.Result r) {
    StringBuilder sb =
        new StringBuilder("| step | at s | took s | runs | command |\n|---|---:|---:|---:|---|\n");
    for (Replacement.Step s : r.replacement().steps()) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %.2f | %.2f | %d | `%s` |%n",
              s.what(),
              r.fromStart(s.startMillis()),
              (s.endMillis() - s.startMillis()) / 1e3,
              s.attempts(),
              s.command().replace('`', '\'').replace("|", "\\|")));
    }
    return sb.toString();
  }

  static String details(Replace.Result r) {
    TrialResult t = r.trial();
    StringBuilder sb = new StringBuilder(TrialReport.heading(t));
    sb.append(
        String.format(
            Locale.ROOT,
            "- leader node %d; node %d killed (kill -9) and replaced by node %d; looked up"
                + " beforehand: %s%n",
            t.leader(),
            r.dead(),
            r.newNode(),
            r.prepared()));
    sb.append(
        String.format(
            Locale.ROOT,
            "- new member votes %.2f s after the first command, the dead one is out after %.2f s;"
                + " the new member's %s returns the last key loaded after %.2f s%n",
            r.fromStart(r.replacement().votingMillis()),
            r.fromStart(r.replacement().removedMillis()),
            t.localRead(),
            r.fromStart(r.servedMillis())));
    sb.append(
        String.format(
            Locale.ROOT,
            "- term (highest any old node reports) after the load %d, after the kill %d, after"
                + " the change %d: each increase is an election%n",
            t.terms().get(0),
            t.terms().get(1),
            t.terms().get(2)));
    sb.append(TrialReport.transferLines(t.transfers()));
    sb.append(TrialReport.errors(t, t.load().sampleErrors()));
    sb.append("\nSteps:\n\n").append(steps(r));
    return sb.append(TrialReport.observations(t)).toString();
  }

  static String json(String head, List<Replace.Result> results) {
    List<String> items = new ArrayList<>();
    for (Replace.Result r : results) {
      String fields =
          String.format(
              Locale.ROOT,
              "\"dead\": %d, \"new_node\": %d, \"prepared\": %s, \"start_to_voting_s\": %.3f,"
                  + " \"start_to_removed_s\": %.3f, \"start_to_served_s\": %.3f, \"steps\": %s",
              r.dead(),
              r.newNode(),
              Report.quote(r.prepared()),
              r.fromStart(r.replacement().votingMillis()),
              r.fromStart(r.replacement().removedMillis()),
              r.fromStart(r.servedMillis()),
              stepsJson(r));
      items.add(TrialReport.resultJson(r.trial(), fields));
    }
    return TrialReport.json(head, items);
  }

  private static String stepsJson(Replace.Result r) {
    List<String> items = new ArrayList<>();
    for (Replacement.Step s : r.replacement().steps()) {
      items.add(
          String.format(
              Locale.ROOT,
              "{\"what\": %s, \"command\": %s, \"at_s\": %.3f, \"took_s\": %.3f, \"runs\": %d,"
                  + " \"output\": %s}",
              Report.quote(s.what()),
              Report.quote(s.command()),
              r.fromStart(s.startMillis()),
              (s.endMillis() - s.startMillis()) / 1e3,
              s.attempts(),
              Report.quote(s.output())));
    }
    return "[" + String.join(", ", items) + "]";
  }
}
