package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftkv.node.KvService;
import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.raft.Entry;
import io.raftkv.raft.ReadyProcessor;
import io.raftkv.testkit.PrometheusText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MetricsTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  private static StageLatency stage(Metrics m, String name, boolean reset) {
    return m.latencies(reset).stream().filter(l -> l.getStage().equals(name)).findFirst().get();
  }

  @Test
  void replicationIsTimedFromTheSendToTheAckCoveringIt() {
    Metrics m = new Metrics(List.of(1, 2));
    m.replicationSent(1, 3, 10, 0);
    m.replicationSent(1, 3, 12, 1 * MS); // already timing index 10: ignored
    m.replicationAcked(1, 3, 9, 2 * MS); // does not cover 10
    m.replicationAcked(2, 3, 10, 2 * MS); // another peer
    m.replicationAcked(1, 3, 11, 5 * MS);
    StageLatency l = stage(m, "replication", false);
    assertThat(l.getCount()).isEqualTo(1);
    assertThat(l.getMaxMicros()).isBetween(4_990L, 5_010L);
  }

  @Test
  void anAckOfAnotherTermDoesNotCount() {
    Metrics m = new Metrics(List.of(1));
    m.replicationSent(1, 3, 10, 0);
    m.replicationAcked(1, 4, 20, MS);
    assertThat(stage(m, "replication", false).getCount()).isZero();
    m.replicationSent(1, 4, 21, 2 * MS); // a new term restarts the sample
    m.replicationAcked(1, 4, 21, 3 * MS);
    assertThat(stage(m, "replication", false).getMaxMicros()).isBetween(990L, 1_010L);
  }

  @Test
  void latenciesAccumulateUntilReset() {
    Metrics m = new Metrics(List.of());
    for (int i = 1; i <= 100; i++) {
      m.record(Metrics.Stage.APPLY, i * 1_000L); // i microseconds
    }
    StageLatency l = stage(m, "apply", false);
    assertThat(l.getCount()).isEqualTo(100);
    assertThat(l.getP50Micros()).isBetween(49L, 51L);
    assertThat(l.getP99Micros()).isBetween(98L, 100L);
    assertThat(stage(m, "apply", true).getCount()).isEqualTo(100);
    assertThat(stage(m, "apply", false).getCount()).isZero();
    assertThat(m.latencies(false))
        .extracting(StageLatency::getStage)
        .containsExactly("fsync", "apply", "replication", "write", "read_index");
  }

  @Test
  void timedStorageRecordsOnlySyncedWritesAsFsyncs() {
    Metrics m = new Metrics(List.of());
    int[] calls = {0};
    ReadyProcessor.LogStorage timed = m.timed((hs, entries, sync) -> calls[0]++);
    Entry e = Entry.newBuilder().setIndex(1).setTerm(1).build();
    timed.persist(null, List.of(e), true);
    timed.persist(null, List.of(), false);
    assertThat(calls[0]).isEqualTo(2);
    assertThat(m.logSyncs.sum()).isEqualTo(1);
    assertThat(m.entriesPersisted.sum()).isEqualTo(1);
    assertThat(stage(m, "fsync", false).getCount()).isEqualTo(1);
  }

  /** The registry as a scrape would show it, parsed. */
  static PrometheusText scrape(PrometheusRegistry registry) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void oneRecordingFeedsBothStatusAndPrometheus() {
    Metrics m = new Metrics(List.of());
    m.record(Metrics.Stage.FSYNC, 3 * MS);
    m.record(Metrics.Stage.FSYNC, 300 * MS);
    assertThat(stage(m, "fsync", false).getCount()).isEqualTo(2);
    PrometheusText t = scrape(m.registry());
    assertThat(t.value("raftkv_disk_wal_fsync_duration_seconds_count")).isEqualTo(2);
    assertThat(t.value("raftkv_disk_wal_fsync_duration_seconds_sum")).isCloseTo(0.303, within());
    // 3 ms falls in the bucket up to 0.0032 s, 300 ms only in those from 0.4096 s.
    assertThat(t.value("raftkv_disk_wal_fsync_duration_seconds_bucket", "le", "0.0032"))
        .isEqualTo(1);
    assertThat(t.value("raftkv_disk_wal_fsync_duration_seconds_bucket", "le", "0.4096"))
        .isEqualTo(2);
  }

  @Test
  void resettingStatusLatenciesLeavesPrometheusCountsAlone() {
    Metrics m = new Metrics(List.of());
    m.record(Metrics.Stage.APPLY, MS);
    m.latencies(true);
    assertThat(stage(m, "apply", false).getCount()).isZero();
    // Prometheus counters never go down: rate() would read a reset as a restart.
    assertThat(scrape(m.registry()).value("raftkv_disk_backend_commit_duration_seconds_count"))
        .isEqualTo(1);
  }

  @Test
  void roundTripsArePerFollowerInPrometheusAndPooledInStatus() {
    Metrics m = new Metrics(List.of(1, 2));
    m.replicationSent(1, 3, 10, 0);
    m.replicationSent(2, 3, 10, 0);
    m.replicationAcked(1, 3, 10, 2 * MS);
    m.replicationAcked(2, 3, 10, 4 * MS);
    assertThat(stage(m, "replication", false).getCount()).isEqualTo(2);
    PrometheusText t = scrape(m.registry());
    String name = "raftkv_network_peer_round_trip_time_seconds_sum";
    assertThat(t.value(name, "to", "1")).isCloseTo(0.002, within());
    assertThat(t.value(name, "to", "2")).isCloseTo(0.004, within());
  }

  @Test
  void proposalsArePendingUntilTheyCompleteOrFail() {
    Metrics m = new Metrics(List.of());
    KvService.Probe probe = m.kvProbe();
    for (int i = 0; i < 3; i++) {
      probe.writeProposed();
    }
    probe.writeCompleted(MS);
    probe.writeFailed();
    PrometheusText t = scrape(m.registry());
    assertThat(t.value("raftkv_server_proposals_pending")).isEqualTo(1);
    assertThat(t.value("raftkv_server_proposals_failed_total")).isEqualTo(1);
    assertThat(t.value("raftkv_server_proposals_total")).isEqualTo(3);
    assertThat(m.proposals.sum()).isEqualTo(3); // what Status reports: the same adder
    assertThat(t.value("raftkv_server_proposal_duration_seconds_count")).isEqualTo(1);
  }

  @Test
  void rejectedPeerMessagesAreCountedByReasonFromZero() {
    Metrics m = new Metrics(List.of());
    String name = "raftkv_network_peer_rejected_messages_total";
    assertThat(scrape(m.registry()).value(name, "reason", "wrong_recipient")).isZero();
    m.rejected(Metrics.Rejection.WRONG_RECIPIENT);
    assertThat(scrape(m.registry()).value(name, "reason", "wrong_recipient")).isEqualTo(1);
  }

  @Test
  void eachNodeHasItsOwnRegistry() {
    Metrics a = new Metrics(List.of());
    Metrics b = new Metrics(List.of());
    a.leaderChanged();
    assertThat(scrape(a.registry()).value("raftkv_server_leader_changes_seen_total")).isEqualTo(1);
    assertThat(scrape(b.registry()).value("raftkv_server_leader_changes_seen_total")).isZero();
  }

  private static org.assertj.core.data.Offset<Double> within() {
    return org.assertj.core.data.Offset.offset(1e-9);
  }
}
