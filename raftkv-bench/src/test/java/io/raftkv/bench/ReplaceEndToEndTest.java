package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Not benchmarks: checks that {@code bench replace} runs end to end at a tiny size, on raftkv (real
 * build/dev/svr nodes and clt, snapshots every few hundred entries so that the new node is caught
 * up through one) and on etcd (skipped where etcd is not installed), and that its report is filled
 * and the new member's read-back matched.
 */
class ReplaceEndToEndTest {
  @TempDir Path tmp;

  private static Path dev(String name) {
    Path p =
        Path.of(System.getProperty("raftkv.root", "."))
            .toAbsolutePath()
            .resolve("build/dev/" + name);
    assertThat(Files.isExecutable(p))
        .as("%s must exist (the reactor packages the server and client before raftkv-bench)", p)
        .isTrue();
    return p;
  }

  private static String[] args(String target, Path json, String... more) {
    String[] common = {
      "replace",
      "--target=" + target,
      "--keys=2000",
      "--value-size=100",
      "--load-clients=8",
      "--light-clients=2",
      "--light-rate=100",
      "--window=500ms",
      "--limit=40s",
      "--verify-keys=100",
      "--out=" + json,
      "-q"
    };
    String[] all = java.util.Arrays.copyOf(common, common.length + more.length);
    System.arraycopy(more, 0, all, common.length, more.length);
    return all;
  }

  /** The fields every trial fills, whichever the system. */
  private static void assertFilled(String json) {
    assertThat(json)
        .contains("\"missing\": 0, \"mismatches\": 0")
        .contains("\"verified\": 102")
        .containsPattern("\"start_to_voting_s\": [0-9]+\\.[0-9]{3}")
        .containsPattern("\"start_to_served_s\": [0-9]+\\.[0-9]{3}")
        .containsPattern("\"terms\": \\[[0-9]+, [0-9]+, [0-9]+\\]")
        .contains("\"name\": \"before: all nodes up\"")
        .contains("\"name\": \"during the change: first command to done\"")
        .contains("\"name\": \"after the change\"")
        .containsPattern("\"longest_gap_ms\": [1-9]");
  }

  @Test
  @Timeout(60)
  void raftkvReplacesAKilledFollowerThroughASnapshot() throws Exception {
    Path json = tmp.resolve("raftkv.json");
    int rc =
        BenchMain.execute(
            args(
                "raftkv",
                json,
                "--svr-arg=--snapshot-entries",
                "--svr-arg=200",
                "--svr-arg=--snapshot-catchup-entries",
                "--svr-arg=50",
                "--svr=" + dev("svr"),
                "--clt=" + dev("clt")));
    assertThat(rc).isZero();
    String out = Files.readString(json);
    assertFilled(out);
    assertThat(out).contains("clt member replace").contains("{\"ok\": true");
  }

  @Test
  @Timeout(60)
  void etcdReplacesAKilledFollowerWithALearner() throws Exception {
    Path etcd = Processes.onPath("etcd");
    assumeThat(etcd).as("etcd on PATH").isNotNull();
    assumeThat(Processes.onPath("etcdctl")).as("etcdctl on PATH").isNotNull();
    Path json = tmp.resolve("etcd.json");
    int rc = BenchMain.execute(args("etcd", json, "--etcd=" + etcd));
    assertThat(rc).isZero();
    String out = Files.readString(json);
    assertFilled(out);
    assertThat(out).contains("member remove").contains("member add").contains("member promote");
  }

  @Test
  void findsAMembersIdInEtcdctlsMemberList() {
    String list =
        "2943212f5e2cf73, started, m1, http://127.0.0.1:23802, http://127.0.0.1:23792, false\n"
            + "3760a4ec3b84f7fa, started, m2, http://127.0.0.1:23803, http://127.0.0.1:23793,"
            + " false\n";
    assertThat(EtcdReplace.memberId(list, "m2")).isEqualTo("3760a4ec3b84f7fa");
    assertThat(EtcdReplace.memberId(list, "m1")).isEqualTo("2943212f5e2cf73");
  }

  @Test
  void findsTheAddedMembersIdWhateverItsLength() {
    // etcdctl pads ids shorter than 16 hex digits with spaces.
    assertThat(EtcdReplace.addedId("Member  bf70af492554a07 added to cluster 7bdc14c862f4497e\n"))
        .isEqualTo("bf70af492554a07");
    assertThat(EtcdReplace.addedId("Member c12cd9d9b7eafb21 added to cluster f017819664191323\n"))
        .isEqualTo("c12cd9d9b7eafb21");
  }
}
