package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * One row of Figure 16 of the Raft paper: election timeouts drawn from {@code minMs..maxMs}
 * milliseconds, both ends included ("150-150" is a fixed 150 ms timeout, "150-151" one of 150 or
 * 151 ms).
 *
 * <p>svr cannot be given the range as such: it refuses min == max, and its core draws from [min,
 * max) ticks (upper bound excluded). With 1 ms ticks, {@code --election-timeout-max-ms maxMs + 1}
 * therefore gives exactly the paper's inclusive range, 150-150 included, without changing the
 * server.
 */
record TimingGroup(int minMs, int maxMs) {

  /** The server's tick for every group: fine enough for 12-24 ms timeouts. */
  static final int TICK_MS = 1;

  /** Figure 16's groups, top graph then bottom graph (150-300 is in both). */
  static final String ALL =
      "150-150,150-151,150-155,150-175,150-200,150-300,12-24,25-50,50-100,100-200";

  TimingGroup {
    if (minMs < 2 * TICK_MS || maxMs < minMs) {
      throw new IllegalArgumentException(
          "election timeout range " + minMs + "-" + maxMs + " ms: need 2 <= min <= max");
    }
  }

  /** "150-300" (spaces allowed around the numbers). */
  static TimingGroup parse(String s) {
    String[] parts = s.strip().split("-");
    if (parts.length != 2) {
      throw new IllegalArgumentException("not a timing group MIN-MAX (ms): '" + s + "'");
    }
    try {
      return new TimingGroup(
          Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a timing group MIN-MAX (ms): '" + s + "'");
    }
  }

  /** "150-150,12-24": the groups in the order given, duplicates refused. */
  static List<TimingGroup> parseList(String s) {
    List<TimingGroup> out = new ArrayList<>();
    for (String part : s.split(",")) {
      if (part.isBlank()) {
        continue;
      }
      TimingGroup g = parse(part);
      if (out.contains(g)) {
        throw new IllegalArgumentException("timing group " + g.label() + " given twice");
      }
      out.add(g);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no timing group in '" + s + "'");
    }
    return out;
  }

  /** The paper's heartbeat: half the minimum election timeout, floored, at least 1 ms. */
  int heartbeatMs() {
    return Math.max(1, minMs / 2);
  }

  /** The svr flags that give this group's timing. */
  List<String> svrArgs() {
    return List.of(
        "--tick-ms",
        Integer.toString(TICK_MS),
        "--election-timeout-min-ms",
        Integer.toString(minMs),
        "--election-timeout-max-ms",
        Integer.toString(maxMs + 1),
        "--heartbeat-ms",
        Integer.toString(heartbeatMs()));
  }

  String label() {
    return minMs + "-" + maxMs;
  }

  /** Figure 16's top graph: a 150 ms minimum with growing randomness. */
  boolean inTopGraph() {
    return minMs == 150;
  }

  /** Figure 16's bottom graph: ranges as wide as their minimum (12-24 ... 150-300). */
  boolean inBottomGraph() {
    return maxMs == 2 * minMs;
  }
}
