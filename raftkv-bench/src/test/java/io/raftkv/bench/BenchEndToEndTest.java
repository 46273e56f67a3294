package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not a benchmark: checks that bench runs a tiny raftkv workload end to end (it starts 3 real
 * build/dev/svr nodes, drives them with 4 clients for about 2 s, writes JSON and a PNG). Needs no
 * etcd.
 */
class BenchEndToEndTest {
  @TempDir Path tmp;

  @Test
  @Timeout(90)
  void tinyRaftkvRunCompletesWithoutErrors() throws Exception {
    Path svr =
        Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath().resolve("build/dev/svr");
    assertThat(Files.isExecutable(svr))
        .as("%s must exist (the reactor packages raftkv-server before raftkv-bench)", svr)
        .isTrue();
    Path json = tmp.resolve("results.json");
    Path png = tmp.resolve("chart.png");

    int rc =
        BenchMain.execute(
            "run",
            "--target",
            "raftkv",
            "--nodes",
            "3",
            "--clients",
            "4",
            "--connections",
            "2",
            "--duration",
            "2s",
            "--warmup",
            "500ms",
            "--read-share",
            "0.5",
            "--append-share",
            "0.2",
            "--keys",
            "100",
            "--svr",
            svr.toString(),
            "--out",
            json.toString(),
            "--chart",
            png.toString());

    assertThat(rc).isZero();
    String out = Files.readString(json);
    for (String op : new String[] {"GET", "PUT", "APPEND", "ALL"}) {
      Matcher m =
          Pattern.compile("\"op\": \"" + op + "\", \"count\": (\\d+), \"errors\": (\\d+)")
              .matcher(out);
      assertThat(m.find()).as("%s in %s", op, out).isTrue();
      assertThat(Long.parseLong(m.group(1))).as("%s operations", op).isPositive();
      assertThat(Long.parseLong(m.group(2))).as("%s errors in %s", op, out).isZero();
    }
    assertThat(Files.size(png)).isPositive();
  }

  @Test
  @Timeout(90)
  void tinyOpenLoopRunSendsOnScheduleWithoutErrors() throws Exception {
    Path svr =
        Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath().resolve("build/dev/svr");
    Path json = tmp.resolve("open.json");

    int rc =
        BenchMain.execute(
            "run",
            "--target",
            "raftkv",
            "--nodes",
            "3",
            "--clients",
            "16",
            "--rate",
            "100",
            "--duration",
            "2s",
            "--warmup",
            "500ms",
            "--keys",
            "100",
            "--svr",
            svr.toString(),
            "--out",
            json.toString());

    assertThat(rc).isZero();
    String out = Files.readString(json);
    assertThat(out).contains("\"loop\": \"open\", \"rate\": 100.0");
    Matcher all = Pattern.compile("\"op\": \"ALL\", \"count\": (\\d+), \"errors\": 0").matcher(out);
    assertThat(all.find()).as("ALL without errors in %s", out).isTrue();
    Matcher open =
        Pattern.compile("\"open_loop\": \\{\"due\": (\\d+),.*\"dropped\": 0,").matcher(out);
    assertThat(open.find()).as("open-loop figures in %s", out).isTrue();
    // 2 s at 100/s: 200 due (a few more or less at the window's edges), whatever the servers do.
    // How many complete depends on them (cold JVMs on a shared machine may fall behind).
    assertThat(Long.parseLong(open.group(1))).isBetween(195L, 205L);
    assertThat(Long.parseLong(all.group(1))).isPositive();
  }
}
