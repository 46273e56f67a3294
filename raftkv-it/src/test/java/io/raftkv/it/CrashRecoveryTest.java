package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crashes and restarts of real server processes: nothing acknowledged is lost or doubled. */
class CrashRecoveryTest {

  /**
   * kill -9 of the leader during a stream of writes, then its restart: every acknowledged write is
   * on every node, and each APPEND is applied at most once (exactly once if acknowledged).
   */
  @Test
  void killLeaderDuringWrites(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(0);
      int leader = c.findLeader();

      List<String> ackedKeys = new ArrayList<>();
      List<String> ackedTokens = new ArrayList<>();
      List<String> unknownTokens = new ArrayList<>();
      AtomicBoolean killed = new AtomicBoolean();
      for (int n = 0; n < 24; n++) {
        if (n == 8) {
          c.kill(leader);
          killed.set(true);
        }
        String token = "t" + n + ";";
        LocalCluster.Result append =
            c.cltAny("-o", "APPEND", "-k", "stream", "-v", token, "--timeout-ms", "20000");
        if (append.exit() == 0) {
          ackedTokens.add(token);
        } else {
          unknownTokens.add(token);
        }
        String key = "k" + n;
        LocalCluster.Result put =
            c.cltAny("-o", "PUT", "-k", key, "-v", "v" + n, "--timeout-ms", "20000");
        if (put.exit() == 0) {
          ackedKeys.add(key);
        }
      }
      assertThat(killed).isTrue();
      assertThat(ackedTokens)
          .as("writes after the crash succeed\n" + c.logs())
          .hasSizeGreaterThan(16);

      c.start(leader, false);
      c.awaitListening(leader);

      for (int i = 0; i < c.size; i++) {
        int node = i;
        for (String key : ackedKeys) {
          String expected = "v" + key.substring(1);
          LocalCluster.await(
              "node " + node + " to hold " + key,
              Duration.ofSeconds(30),
              () -> c.clt(node, "-o", "DIRECT_GET", "-k", key).out().strip().equals(expected));
        }
        LocalCluster.await(
            "node " + node + " to hold every acknowledged append",
            Duration.ofSeconds(30),
            () -> {
              String v = c.clt(node, "-o", "DIRECT_GET", "-k", "stream").out();
              return ackedTokens.stream().allMatch(v::contains);
            });
        String stream = c.clt(node, "-o", "DIRECT_GET", "-k", "stream").out().strip();
        for (String t : ackedTokens) {
          assertThat(count(stream, t))
              .as("token %s on node %d in %s", t, node, stream)
              .isEqualTo(1);
        }
        for (String t : unknownTokens) {
          assertThat(count(stream, t)).as("token %s on node %d", t, node).isLessThanOrEqualTo(1);
        }
      }
    }
  }

  /**
   * The state machine writes without a WAL (the Raft log is its WAL) and reaches disk at flushes,
   * here one every 5 entries (each snapshot), so a kill -9 leaves a follower's data and applied
   * index at some flush, together, and its restart re-applies the rest from its log. Each APPEND
   * must then be in its value once: a flush that wrote the data without the applied index (or the
   * reverse) would double or lose one.
   */
  @Test
  void aFollowerKilledBetweenStateMachineFlushesReappliesEachWriteOnce(@TempDir Path dir)
      throws Exception {
    try (LocalCluster c =
        new LocalCluster(3, dir, "--snapshot-entries", "5", "--snapshot-catchup-entries", "50")) {
      c.startAll(0);
      int leader = c.findLeader();
      int follower = (leader + 1) % 3;
      List<String> acked = new ArrayList<>();
      for (int n = 0; n < 40; n++) {
        if (n == 13 || n == 27) {
          c.kill(follower); // kill -9, between or during flushes
          c.start(follower, false);
        }
        String token = "f" + n + ";";
        LocalCluster.Result r =
            c.cltAny("-o", "APPEND", "-k", "stream", "-v", token, "--timeout-ms", "20000");
        assertThat(r.exit()).as(r + "\n" + c.logs()).isZero();
        acked.add(token);
      }
      String expected = String.join("", acked);
      for (int i = 0; i < c.size; i++) {
        int node = i;
        LocalCluster.await(
            "node " + node + " to hold every append once, in order",
            Duration.ofSeconds(30),
            () -> c.clt(node, "-o", "DIRECT_GET", "-k", "stream").out().strip().equals(expected));
      }
    }
  }

  /** Restarting every node (SIGTERM, then start again) keeps all data. */
  @Test
  void restartAllKeepsData(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(0);
      for (int n = 0; n < 5; n++) {
        LocalCluster.Result r = c.cltAny("-o", "PUT", "-k", "r" + n, "-v", "w" + n);
        assertThat(r.exit()).as(r + "\n" + c.logs()).isZero();
      }
      for (int i = 0; i < c.size; i++) {
        assertThat(c.stop(i)).as("clean exit on SIGTERM").isIn(0, 143);
      }
      c.startAll(-1);
      for (int n = 0; n < 5; n++) {
        LocalCluster.Result r = c.cltAny("-o", "GET", "-k", "r" + n, "--timeout-ms", "20000");
        assertThat(r.exit()).as(r + "\n" + c.logs()).isZero();
        assertThat(r.out().strip()).isEqualTo("w" + n);
      }
    }
  }

  private static int count(String haystack, String needle) {
    int n = 0;
    for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  /**
   * Issue 10, item 7, as a user meets it: a follower's data directory is deleted and it is started
   * again with the same flags. Its peers record that it held data, so it stops at once with one
   * line and exit code 5 (not 1: a supervisor must not restart it blank), creating nothing, and the
   * cluster goes on without it.
   */
  @Test
  void aFollowerWhoseDataDirectoryWasDeletedStopsWithExitCode5(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(0);
      int leader = c.findLeader();
      assertThat(c.cltAny("-o", "PUT", "-k", "k", "-v", "v").exit()).isZero();
      int wiped = (leader + 1) % c.size;
      LocalCluster.await(
          "the leader to record every member as a data holder",
          Duration.ofSeconds(30),
          () ->
              LocalCluster.run(
                      List.of("status", "-p", Integer.toString(c.kvsPorts[leader]), "--json"))
                  .out()
                  .contains("\"dataHolders\":[0,1,2]"));

      c.kill(wiped);
      try (Stream<Path> files = Files.walk(c.dataDir(wiped))) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
      c.start(wiped, false);
      assertThat(c.awaitExit(wiped, Duration.ofSeconds(60))).as(c.logs()).isEqualTo(5);
      assertThat(c.log(wiped))
          .contains("svr: node " + wiped + " lost its data: node ")
          .contains("replace it as a new member (clt member replace)");
      assertThat(Files.exists(c.dataDir(wiped))).isFalse();
      assertThat(c.cltAny("-o", "PUT", "-k", "k2", "-v", "v2").exit()).isZero();
    }
  }
}
