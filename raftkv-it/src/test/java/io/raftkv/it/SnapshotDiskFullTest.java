package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 8: a disk that fills while a follower receives a snapshot leaves it on its old
 * state with a clear error, running; once there is room, the next transfer brings it up to date.
 * The follower's data directory is a small tmpfs, which needs root (mount); elsewhere the test is
 * skipped.
 */
class SnapshotDiskFullTest {
  /**
   * Of 1 MiB: the snapshot (100 MiB) would fit in the follower's 160 MiB (RocksDB's own files take
   * ~22 MiB, its preallocated WAL most of it), but not with svr's reserve kept free.
   */
  private static final int VALUES = 100;

  @Test
  void aFollowerWhoseDiskFillsDuringASnapshotKeepsItsStateAndCatchesUpOnceThereIsRoom(
      @TempDir Path dir) throws Exception {
    try (LocalCluster c =
        new LocalCluster(3, dir, "--snapshot-entries", "8", "--snapshot-catchup-entries", "2")) {
      Path small = c.dataDir(2);
      Files.createDirectories(small);
      assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", small.toString()));
      try {
        c.startAll(0);
        assertThat(c.cltAny("-o", "PUT", "-k", "before", "-v", "old").exit()).isZero();
        LocalCluster.await(
            "node 2 to hold the first write",
            Duration.ofSeconds(30),
            () -> c.clt(2, "-o", "DIRECT_GET", "-k", "before").out().strip().equals("old"));
        c.kill(2);

        Path value = dir.resolve("value");
        byte[] bytes = new byte[1 << 20];
        new SplittableRandom(1).nextBytes(bytes);
        Files.write(value, bytes);
        // Four clients at a time: each clt is a JVM start.
        List<LocalCluster.Result> failed =
            IntStream.range(0, VALUES)
                .parallel()
                .mapToObj(i -> c.cltAny("-o", "PUT", "-k", "big" + i, "--value-file", "" + value))
                .filter(r -> r.exit() != 0)
                .toList();
        assertThat(failed).isEmpty();
        assertThat(c.cltAny("-o", "PUT", "-k", "last", "-v", "new").exit()).isZero();
        // The leader may have kept the entries after a snapshot it was sending to the dead node
        // (§7: it never compacts past one in flight); then node 2 would get a small snapshot and
        // the large writes as log entries. Small writes until the log starts after them.
        int leader = c.findLeader();
        long lastLarge = statusField(c, leader, "lastIndex");
        assertThat(lastLarge).as("the leader's last index").isGreaterThan(VALUES);
        int[] next = {0};
        LocalCluster.await(
            "the leader to compact its log past the large writes",
            Duration.ofSeconds(60),
            () -> {
              c.cltAny("-o", "PUT", "-k", "small" + next[0]++, "-v", "x");
              return statusField(c, leader, "firstIndex") > lastLarge;
            });

        c.start(2, false);
        try {
          LocalCluster.await(
              "node 2 to refuse a snapshot for want of space",
              Duration.ofSeconds(60),
              () -> log(c).contains("the disk is nearly full"));
        } catch (AssertionError e) {
          Path keep = Path.of(System.getProperty("java.io.tmpdir"), "snapshot-disk-full-failure");
          Files.createDirectories(keep);
          try (var files = Files.list(small)) {
            for (Path f :
                files.filter(f -> f.getFileName().toString().startsWith("LOG")).toList()) {
              Files.copy(
                  f,
                  keep.resolve(f.getFileName()),
                  java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
          }
          for (int i = 0; i < 3; i++) {
            Files.copy(
                dir.resolve("svr-" + i + ".log"),
                keep.resolve("svr-" + i + ".log"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          }
          throw new AssertionError(e.getMessage() + "\n" + c.log(2) + c.logs(), e);
        }
        String refusal =
            log(c).lines().filter(l -> l.contains("the disk is nearly full")).findFirst().get();
        assertThat(refusal)
            .contains("cannot store snapshot")
            .contains("this node keeps its state (applied index");
        assertThat(c.isRunning(2)).as(c.logs()).isTrue();
        assertThat(log(c)).doesNotContain("No space left on device");
        assertThat(c.clt(2, "-o", "DIRECT_GET", "-k", "before").out().strip()).isEqualTo("old");
        assertThat(c.clt(2, "-o", "DIRECT_GET", "-k", "last").exit()).isEqualTo(3); // no key yet

        assertThat(run("mount", "-o", "remount,size=512m", small.toString())).isTrue();
        LocalCluster.await(
            "node 2 to catch up once there is room",
            Duration.ofSeconds(90),
            () -> c.clt(2, "-o", "DIRECT_GET", "-k", "last").out().strip().equals("new"));
        assertThat(c.isRunning(2)).isTrue();
      } finally {
        c.kill(2);
        run("umount", "-l", small.toString());
      }
    }
  }

  /** A number from node {@code i}'s {@code clt status --json} (-1 if absent). */
  private static long statusField(LocalCluster c, int i, String field) {
    String json =
        LocalCluster.run(List.of("status", "-p", Integer.toString(c.kvsPorts[i]), "--json")).out();
    Matcher m = Pattern.compile("\"" + field + "\":\"(\\d+)\"").matcher(json);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  private static String log(LocalCluster c) {
    try {
      return c.log(2);
    } catch (IOException e) {
      return "";
    }
  }

  /** Runs a system command; whether it succeeded (false if it cannot run at all). */
  private static boolean run(String... command) {
    try {
      Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
