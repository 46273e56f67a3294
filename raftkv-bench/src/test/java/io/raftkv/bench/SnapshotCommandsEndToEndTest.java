package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not benchmarks: checks that {@code bench catchup} and {@code bench disk} run end to end on tiny
 * raftkv clusters (real build/dev/svr nodes, snapshots every few hundred entries so that the
 * stopped follower must catch up through one). Needs no etcd.
 */
class SnapshotCommandsEndToEndTest {
  @TempDir Path tmp;

  private static String svr() {
    Path svr =
        Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath().resolve("build/dev/svr");
    assertThat(Files.isExecutable(svr))
        .as("%s must exist (the reactor packages raftkv-server before raftkv-bench)", svr)
        .isTrue();
    return svr.toString();
  }

  @Test
  @Timeout(120)
  void aStoppedFollowerCatchesUpThroughASnapshot() throws Exception {
    Path json = tmp.resolve("catchup.json");
    int rc =
        BenchMain.execute(
            "catchup",
            "--target=raftkv",
            "--keys=300",
            "--value-size=64",
            "--extra-writes=1000",
            "--load-clients=4",
            "--light-clients=1",
            "--light-rate=50",
            "--window=500ms",
            "--limit=60s",
            "--verify-keys=50",
            "--svr-arg=--snapshot-entries",
            "--svr-arg=200",
            "--svr-arg=--snapshot-catchup-entries",
            "--svr-arg=50",
            "--svr=" + svr(),
            "--out=" + json,
            "-q");
    assertThat(rc).isZero();
    String out = Files.readString(json);
    assertThat(out).contains("\"missing\": 0, \"mismatches\": 0").contains("{\"ok\": true");
  }

  @Test
  @Timeout(90)
  void diskSamplesEveryNodeWhileWriting() throws Exception {
    Path csv = tmp.resolve("disk.csv");
    Path png = tmp.resolve("disk.png");
    int rc =
        BenchMain.execute(
            "disk",
            "--target=raftkv",
            "--clients=4",
            "--keys=100",
            "--duration=3s",
            "--sample-every=1s",
            "--svr=" + svr(),
            "--out=" + csv,
            "--chart=" + png,
            "-q");
    assertThat(rc).isZero();
    // A header, then a line per node per sample: at least the first, three periodic, the last.
    assertThat(Files.readAllLines(csv).size()).isGreaterThanOrEqualTo(1 + 3 * 5);
    assertThat(Files.size(png)).isPositive();
  }
}
