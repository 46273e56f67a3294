package io.raftkv.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * What the servers' logs say about a trial: the snapshots the other nodes sent since it began (with
 * the light load's latency while each was under way), and each node's warnings and errors.
 */
final class TrialLogs {
  private TrialLogs() {}

  /**
   * The snapshots that nodes {@code senders} logged as sent (or failed) since {@code sinceMillis},
   * in the order they ended. Leadership may have moved during a trial: every sender's log counts.
   */
  static List<ServerLogs.Transfer> transfers(
      CatchupCluster cluster, List<Integer> senders, long sinceMillis) {
    List<ServerLogs.Transfer> transfers = new ArrayList<>();
    for (int i : senders) {
      transfers.addAll(cluster.transfersFrom(i, sinceMillis));
    }
    transfers.sort(Comparator.comparingLong(ServerLogs.Transfer::endMillis));
    return transfers;
  }

  /** A latency window per transfer that went through and whose start was logged. */
  static List<LatencyLog.Window> windows(LatencyLog log, List<ServerLogs.Transfer> transfers) {
    List<LatencyLog.Window> windows = new ArrayList<>();
    for (ServerLogs.Transfer x : transfers) {
      if (x.ok() && x.startMillis() > 0) {
        windows.add(
            log.window(
                "snapshot transfer (node "
                    + x.node()
                    + "'s log, "
                    + DirSize.mib(x.bytes())
                    + " MiB)",
                x.startMillis(),
                x.endMillis()));
      }
    }
    return windows;
  }

  /**
   * "node i (role): N warnings, M errors" per node, each followed by its first few such lines
   * (indented by four spaces); {@code role} gives the parenthesis, or "" for none.
   */
  static List<String> scans(CatchupCluster cluster, List<Integer> nodes, IntFunction<String> role) {
    List<String> scans = new ArrayList<>();
    for (int i : nodes) {
      ServerLogs.Scan s = cluster.scanLog(i);
      String r = role.apply(i);
      scans.add("node " + i + (r.isEmpty() ? "" : " (" + r + ")") + ": " + s.brief());
      s.samples().forEach(line -> scans.add("    " + line));
    }
    return scans;
  }
}
