package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.raft.Entry;
import io.raftkv.raft.ReadyProcessor;
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
}
