package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepTest {
  @Test
  void defaultValuesPerParameter() {
    assertThat(SweepValues.parse(SweepValues.param("clients"), null))
        .containsExactly(1.0, 8.0, 64.0, 256.0, 1024.0);
    assertThat(SweepValues.parse(SweepValues.param("nodes"), List.of()))
        .containsExactly(3.0, 5.0, 7.0, 9.0, 11.0);
    assertThat(SweepValues.parse(SweepValues.param("read-share"), null))
        .containsExactly(0.0, 0.5, 0.9, 0.99);
    assertThatThrownBy(() -> SweepValues.param("value-size")).hasMessageContaining("--vary");
  }

  @Test
  void givenValuesAreCheckedSortedAndDeduplicated() {
    SweepValues.Param clients = SweepValues.Param.CLIENTS;
    assertThat(SweepValues.parse(clients, List.of("64", "8", " 1", "8")))
        .containsExactly(1.0, 8.0, 64.0);
    assertThatThrownBy(() -> SweepValues.parse(clients, List.of("0")))
        .hasMessageContaining("between");
    assertThatThrownBy(() -> SweepValues.parse(clients, List.of("2.5")))
        .hasMessageContaining("whole");
    assertThatThrownBy(() -> SweepValues.parse(clients, List.of("x")))
        .hasMessageContaining("not a number");
    assertThatThrownBy(() -> SweepValues.parse(SweepValues.Param.NODES, List.of("12")))
        .hasMessageContaining("between 1 and 11");
    assertThatThrownBy(() -> SweepValues.parse(SweepValues.Param.READ_SHARE, List.of("1.5")))
        .hasMessageContaining("between 0.0 and 1.0");
    assertThat(SweepValues.parse(SweepValues.Param.READ_SHARE, List.of("0.99", "0")))
        .containsExactly(0.0, 0.99);
    assertThat(SweepValues.Param.READ_SHARE.format(0.99)).isEqualTo("0.99");
    assertThat(SweepValues.Param.READ_SHARE.format(0)).isEqualTo("0.0");
    assertThat(clients.format(1024)).isEqualTo("1024");
  }

  @Test
  void sweepWarmsUpTenSecondsByDefault() {
    SweepCommand sweep = new SweepCommand();
    new picocli.CommandLine(sweep).parseArgs("--vary", "clients");
    assertThat(sweep.common.warmup).isEqualTo(Duration.ofSeconds(10));
    assertThat(sweep.rounds).isEqualTo(1);
    SweepCommand given = new SweepCommand();
    new picocli.CommandLine(given).parseArgs("--vary", "clients", "--warmup", "3s");
    assertThat(given.common.warmup).isEqualTo(Duration.ofSeconds(3));
  }

  private static Measurement measured(String target, int ops, long getMicros, long putMicros) {
    Measurement m = new Measurement(target, 3);
    m.runs = 1;
    m.seconds = 1;
    for (int i = 0; i < ops; i++) {
      m.histograms.get(OpType.GET).recordValue(getMicros);
      m.histograms.get(OpType.PUT).recordValue(putMicros);
    }
    return m;
  }

  @Test
  void summaryHasBothSystemsAndTheirRatios() {
    Workload w = new Workload(8, 2, Duration.ofSeconds(1), Duration.ZERO, 0.5, 0, 100, 16, 8, 1);
    CompareRounds point =
        new CompareRounds(
            measured("raftkv", 100, 1_000, 2_000),
            measured("etcd", 200, 500, 1_000),
            List.of(),
            new ServerRss("raftkv", true, List.of(300L * 1024), 1),
            new ServerRss("etcd", true, List.of(100L * 1024), 1),
            List.of(),
            "");
    String md =
        SweepReport.summary(SweepValues.Param.CLIENTS, List.of(new SweepReport.Point(8, w, point)));
    // 200 against 400 ops/s; GET p99 1 against 0.5 ms; PUT p99 2 against 1 ms; 300 against 100 MiB
    // (latencies below 2048 µs, which HdrHistogram keeps exactly).
    assertThat(md).contains("| 8 | raftkv | 200 | 1.00 | 1.00 | 2.00 | 2.00 | 2.00 | 300.0 | 0 |");
    assertThat(md).contains("| 8 | etcd | 400 |");
    assertThat(md)
        .contains("| 8 | raftkv/etcd | 0.50 | 2.00 | 2.00 | 2.00 | 2.00 | 2.00 | 3.00 | |");
    assertThat(SweepReport.ratio(1, 0)).isEqualTo("n/a");
    assertThat(SweepReport.ratio(Double.NaN, 1)).isEqualTo("n/a");
    String json =
        SweepReport.json(
            SweepValues.Param.CLIENTS, 1, "h", List.of(new SweepReport.Point(8, w, point)), w);
    assertThat(json)
        .contains("\"system\": \"raftkv/etcd\", \"ops_per_s\": 0.500")
        .contains("\"max_rss_mib\": 3.000")
        .contains("\"ratio_raftkv_etcd\": 3.000");
  }

  @Test
  void chartsOnALogAxisSkipWhatTheyCannotShow(@TempDir Path dir) throws Exception {
    Workload w = new Workload(1, 1, Duration.ofSeconds(1), Duration.ZERO, 0, 0, 100, 16, 8, 1);
    List<SweepReport.Point> points = new java.util.ArrayList<>();
    for (int clients : new int[] {1, 1024}) {
      points.add(
          new SweepReport.Point(
              clients,
              w,
              new CompareRounds(
                  measured("raftkv", clients == 1 ? 0 : 10, 1_000, 2_000), // nothing at 1 client
                  measured("etcd", 10, 500, 1_000),
                  List.of(),
                  ServerRss.unknown("raftkv"),
                  ServerRss.unknown("etcd"),
                  List.of(),
                  "")));
    }
    SweepReport.charts(dir, SweepValues.Param.CLIENTS, points, "test");
    assertThat(dir.resolve("throughput.png")).isNotEmptyFile();
    assertThat(dir.resolve("latency.png")).isNotEmptyFile();
    assertThat(dir.resolve("point-clients-1024.png")).isNotEmptyFile();
    assertThat(Files.exists(dir.resolve("memory.png"))).isFalse(); // no memory known: no chart
  }
}
