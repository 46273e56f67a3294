package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.bench.DiskSampler.NodeDisk;
import io.raftkv.bench.DiskSampler.Row;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DiskReportTest {
  private static final long MIB = 1 << 20;

  private static Row row(double t, long writes, long mib, String note) {
    NodeDisk n = new NodeDisk(mib * MIB, 1, writes, -1);
    return new Row("raftkv", t, writes, List.of(n, n, n), note);
  }

  @Test
  void summaryShowsTheQuartersAndTheSecondHalfGrowth() {
    List<Row> rows = new ArrayList<>();
    for (int t = 0; t <= 100; t += 10) {
      rows.add(row(t, t * 1000L, Math.min(t, 50), ""));
    }
    rows.add(row(100.5, 100_000, 50, "end of the run"));
    rows.add(row(101, 100_000, 1, "after something"));
    String s = DiskReport.summary(rows, List.of("raftkv"));
    // The run lasts 100.5 s; the samples at 0-20 s fall in the first quarter, 30-50 s in the
    // second (4 * 50 / 100.5 < 2): maxima 20, 50, 50, 50; the second half is no larger than the
    // first; the sample after the run is left out.
    assertThat(s).contains("| raftkv | 100,000 | 20.0 / 50.0 / 50.0 / 50.0 | 50.0 | 1.00 |");
    assertThat(DiskReport.table(rows)).contains("| raftkv | 101.0 | 100,000 | 1.0, 1.0, 1.0 |");
    assertThat(DiskReport.csv(rows).lines().count()).isEqualTo(1 + 3 * rows.size());
  }

  @Test
  void aFirstIndexThatNeverMovesIsPointedOut() {
    List<Row> rows = List.of(row(0, 0, 0, ""), row(10, 50_000, 5, ""));
    assertThat(DiskCommand.notes(rows, List.of("raftkv"))).contains("first_index 1 throughout");
    assertThat(DiskCommand.notes(rows, List.of("etcd"))).isEmpty();
  }

  @Test
  void latencyWindowsSelectByCompletionTime() {
    LatencyLog log = new LatencyLog();
    for (int i = 0; i < 100_000; i++) {
      log.add(i, i < 50_000 ? 1000 : 9000);
    }
    LatencyLog.Window early = log.window("early", 0, 50_000);
    assertThat(early.count()).isEqualTo(50_000);
    assertThat(early.ms(99)).isEqualTo(1.0);
    assertThat(log.window("late", 50_000, 100_000).ms(50))
        .isCloseTo(9.0, org.assertj.core.data.Offset.offset(0.01));
    assertThat(log.window("none", 200_000, 300_000).ms(99)).isNaN();
  }
}
