package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {
  private static Workload workload(int keys, int keySize) {
    return new Workload(4, 2, Duration.ofSeconds(1), Duration.ZERO, 0.5, 0.2, keys, keySize, 8, 1);
  }

  @Test
  void durations() {
    assertThat(Durations.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("1.5")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThatThrownBy(() -> Durations.parse("soon")).hasMessageContaining("not a duration");
  }

  @Test
  void keysHaveTheRequestedSizeAndAreDistinct() {
    Workload w = workload(10000, 16);
    assertThat(new String(w.key(0))).isEqualTo("k000000000000000");
    assertThat(new String(w.key(9999))).isEqualTo("k000000000009999");
    assertThat(w.key(42)).hasSize(16);
    assertThatThrownBy(() -> workload(10000, 4)).hasMessageContaining("--key-size");
  }

  @Test
  void mergedRoundsAddHistogramsAndWindowsAndRatiosCompareThem() {
    Measurement a1 = new Measurement("raftkv", 3);
    a1.runs = 1;
    a1.seconds = 1;
    for (int i = 1; i <= 100; i++) {
      a1.histograms.get(OpType.GET).recordValue(i * 1000L); // 1..100 ms
    }
    Measurement a = new Measurement("raftkv", 3);
    a.merge(a1);
    a.merge(a1);
    assertThat(a.runs).isEqualTo(2);
    Measurement.Stats get = a.stats("GET");
    assertThat(get.count()).isEqualTo(200);
    assertThat(get.opsPerSec()).isEqualTo(100.0);
    assertThat(get.p50Ms()).isBetween(49.9, 50.1);
    assertThat(a.stats("PUT")).isNull();
    assertThat(a.stats("ALL").count()).isEqualTo(200);

    Measurement b = new Measurement("etcd", 3);
    b.runs = 1;
    b.seconds = 1;
    for (int i = 1; i <= 50; i++) {
      b.histograms.get(OpType.GET).recordValue(i * 2000L);
    }
    String ratios = Report.ratios(a, b);
    assertThat(ratios).contains("| GET | 2.00 | 1.00 |"); // 100 against 50 ops/s, same median
    String md = Report.markdown(List.of(a, b));
    assertThat(md).contains("| raftkv | GET | 200 | 0 | 100 |").contains("| etcd | ALL | 50 |");
    String json = Report.json(workload(100, 16), List.of(a, b), null, null);
    assertThat(json).contains("\"op\": \"GET\", \"count\": 200, \"errors\": 0");
    assertThat(Report.csv(List.of(a), "x").lines()).hasSize(3);
  }

  @Test
  void openLoopFiguresAreReportedAndMerged() {
    Measurement a = new Measurement("raftkv", 3);
    a.runs = 1;
    a.seconds = 2;
    a.histograms.get(OpType.PUT).recordValue(1000);
    a.addOpenLoop(new OpenLoop.Counts(100, 100, 3, 1, 2_500_000, 7));
    a.addOpenLoop(new OpenLoop.Counts(100, 100, 1, 0, 4_000_000, 5));
    a.openLoopEnd(2);
    Measurement merged = new Measurement("raftkv", 3);
    merged.merge(a);
    merged.merge(a);

    assertThat(merged.open).isEqualTo(new OpenLoop.Counts(400, 400, 8, 2, 4_000_000, 7));
    assertThat(merged.abandoned).isEqualTo(4);
    assertThat(Report.markdown(List.of(merged)))
        .contains("| system | due ops/s | done ops/s | late |")
        .contains("| raftkv | 100 | 1 | 8 (2.0 %) | 4.00 | 2 | 7 | 4 |");
    Workload open =
        new Workload(
            4,
            2,
            Duration.ofSeconds(1),
            Duration.ZERO,
            0.5,
            0,
            100,
            16,
            8,
            1,
            new Arrivals(500, Arrivals.Kind.POISSON, 64));
    assertThat(Report.json(open, List.of(merged), null, null))
        .contains("\"loop\": \"open\", \"rate\": 500.0, \"arrival\": \"poisson\"")
        .contains(
            "\"open_loop\": {\"due\": 400, \"sent\": 400, \"late\": 8, \"max_late_ms\": 4.000");
    assertThat(Report.markdown(List.of(new Measurement("etcd", 3)))).doesNotContain("Open loop");
  }

  @Test
  void jsonStringsAreEscaped() {
    assertThat(Report.quote("a\"b\\c\n")).isEqualTo("\"a\\\"b\\\\c\\n\"");
  }
}
