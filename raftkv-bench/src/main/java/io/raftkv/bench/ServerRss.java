package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The largest resident set size seen per server of one system during a measured run (or several
 * runs, merged), in KiB, servers in node order. Unknown when bench did not start the cluster
 * (--endpoints: it cannot see the processes), and -1 for a server that was never read.
 *
 * @param target "raftkv" or "etcd"
 * @param known whether bench could sample the servers at all
 * @param maxKib per server, the largest VmRSS seen (KiB), or -1
 * @param samples how many sampling rounds went into it
 */
record ServerRss(String target, boolean known, List<Long> maxKib, int samples) {
  ServerRss {
    maxKib = List.copyOf(maxKib);
  }

  static ServerRss unknown(String target) {
    return new ServerRss(target, false, List.of(), 0);
  }

  /** The largest over servers, in MiB; NaN when unknown or nothing was read. */
  double maxMib() {
    long max = maxKib.stream().mapToLong(Long::longValue).max().orElse(-1);
    return known && max >= 0 ? max / 1024.0 : Double.NaN;
  }

  /**
   * Adds another run of the same system: per server the larger value, because the target to check
   * ("at most 2x an etcd member's") is about the peak. Clusters of different sizes keep the longer
   * list.
   */
  ServerRss merge(ServerRss other) {
    if (other == null) {
      return this;
    }
    if (!known || !other.known) {
      return unknown(target);
    }
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < Math.max(maxKib.size(), other.maxKib.size()); i++) {
      long a = i < maxKib.size() ? maxKib.get(i) : -1;
      long b = i < other.maxKib.size() ? other.maxKib.get(i) : -1;
      out.add(Math.max(a, b));
    }
    return new ServerRss(target, true, out, samples + other.samples);
  }

  /** "312, 305, 298" (MiB per server), or "n/a". */
  String perServerMib() {
    if (!known || maxKib.isEmpty()) {
      return "n/a";
    }
    return maxKib.stream()
        .map(k -> mib(k < 0 ? Double.NaN : k / 1024.0))
        .collect(Collectors.joining(", "));
  }

  /** A figure in MiB with one decimal, or "n/a". */
  static String mib(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f", v);
  }

  /** raftkv's largest server over etcd's largest member, or NaN when either is unknown. */
  static double ratio(ServerRss a, ServerRss b) {
    double x = a == null ? Double.NaN : a.maxMib();
    double y = b == null ? Double.NaN : b.maxMib();
    return Double.isNaN(x) || Double.isNaN(y) || y == 0 ? Double.NaN : x / y;
  }

  /** A markdown table of one or two systems' memory, with the ratio row when there are two. */
  static String markdown(List<ServerRss> systems) {
    StringBuilder sb =
        new StringBuilder(
            "| system | max RSS per server (MiB) | max over servers (MiB) |\n|---|---|---:|\n");
    for (ServerRss r : systems) {
      sb.append(
          String.format(
              Locale.ROOT, "| %s | %s | %s |%n", r.target, r.perServerMib(), mib(r.maxMib())));
    }
    if (systems.size() == 2) {
      double ratio = ratio(systems.get(0), systems.get(1));
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s/%s | | %s |%n",
              systems.get(0).target,
              systems.get(1).target,
              Double.isNaN(ratio) ? "n/a" : String.format(Locale.ROOT, "%.2f", ratio)));
    }
    return sb.toString();
  }

  /** {"target": ..., "known": ..., "servers_mib": [...], "max_mib": ..., "samples": n}. */
  String json() {
    String servers =
        maxKib.stream()
            .map(k -> k < 0 ? "null" : String.format(Locale.ROOT, "%.1f", k / 1024.0))
            .collect(Collectors.joining(", "));
    return String.format(
        Locale.ROOT,
        "{\"target\": %s, \"known\": %s, \"servers_mib\": [%s], \"max_mib\": %s, \"samples\": %d}",
        Report.quote(target),
        known,
        servers,
        jsonNumber(maxMib()),
        samples);
  }

  static String jsonNumber(double v) {
    return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
  }
}
