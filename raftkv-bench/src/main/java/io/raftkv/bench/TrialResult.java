package io.raftkv.bench;

import java.util.List;

/**
 * What every trial ({@code bench catchup}, {@code bench replace}) observes on one system: the load,
 * the leader, the read-back from the disturbed node, the snapshots the others sent, the light
 * load's latency per window and its errors, the servers' logs ({@link TrialLogs#scans}), the name
 * of the local read ("DIRECT_GET", "serializable GET") and the highest term at three points.
 */
record TrialResult(
    String system,
    String description,
    BulkWriter.Result load,
    int leader,
    ReadBack.Result check,
    List<ServerLogs.Transfer> transfers,
    List<LatencyLog.Window> windows,
    long lightErrors,
    List<String> lightErrorSamples,
    List<String> logScans,
    String localRead,
    List<Long> terms) {
  /** What {@code cluster} and the light load {@code light} show at the end of a trial. */
  static TrialResult of(
      String system,
      CatchupCluster cluster,
      DataSet.Loaded load,
      LightLoad light,
      ReadBack.Result check,
      List<Long> terms,
      List<ServerLogs.Transfer> transfers,
      List<LatencyLog.Window> windows,
      List<String> scans) {
    return new TrialResult(
        system,
        cluster.target().describe(),
        load.writes(),
        load.leader(),
        check,
        transfers,
        windows,
        light.errors(),
        light.sampleErrors(),
        scans,
        cluster.localReadName(),
        terms);
  }
}
