package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seed 000's tests 3.1–3.3, literally through build/dev/svr and build/dev/clt, plus the follower
 * and size-limit behaviour of the contract.
 */
class SeedContractTest {

  /** Writes a few keys through the leader, reads them back, then checks every replica. */
  private static void putGetAndCheckReplicas(LocalCluster c, int leader) {
    Map<String, String> written = new LinkedHashMap<>();
    for (int k = 0; k < 5; k++) {
      String key = Integer.toString(10 + k);
      String value = Integer.toString(100 * (k + 1));
      LocalCluster.Result put = c.clt(leader, "-o", "PUT", "-k", key, "-v", value);
      assertThat(put.exit()).as("PUT %s: %s\n%s", key, put, c.logs()).isZero();
      LocalCluster.Result get = c.clt(leader, "-o", "GET", "-k", key);
      assertThat(get.exit()).as("GET %s: %s", key, get).isZero();
      assertThat(get.out().strip()).isEqualTo(value);
      written.put(key, value);
    }
    // Every replica has every value (followers apply once the commit index reaches them).
    for (int i = 0; i < c.size; i++) {
      int node = i;
      written.forEach(
          (key, value) ->
              LocalCluster.await(
                  "node " + node + " to hold " + key + "=" + value,
                  Duration.ofSeconds(20),
                  () -> {
                    LocalCluster.Result r = c.clt(node, "-o", "DIRECT_GET", "-k", key);
                    return r.exit() == 0 && r.out().strip().equals(value);
                  }));
    }
  }

  /** 3.1: server 0 is the leader at start-up; GET/PUT to it; all replicas hold the values. */
  @Test
  void test31_leaderGivenAtStartUp(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(0);
      int leader = c.findLeader();
      assertThat(leader).as("the --leader node wins its election\n" + c.logs()).isZero();
      putGetAndCheckReplicas(c, leader);
    }
  }

  /** 3.2: no --leader; the servers elect one; the client finds it with GETs. */
  @Test
  void test32_electedLeaderThreeServers(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(-1);
      putGetAndCheckReplicas(c, c.findLeader());
    }
  }

  /** 3.3: as 3.2 with five servers. */
  @Test
  void test33_electedLeaderFiveServers(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(5, dir)) {
      c.startAll(-1);
      putGetAndCheckReplicas(c, c.findLeader());
    }
  }

  /**
   * A follower refuses PUT and GET with exit 2 (naming the leader) and serves DIRECT_GET from its
   * own store; an oversized value is refused with a clear error and changes nothing; a missing key
   * is exit 3.
   */
  @Test
  void followerAndLimits(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir, "--max-value-bytes", "64")) {
      c.startAll(0);
      int leader = c.findLeader();
      int follower = (leader + 1) % 3;

      assertThat(c.clt(leader, "-o", "PUT", "-k", "a", "-v", "1").exit()).isZero();

      LocalCluster.Result put = c.clt(follower, "-o", "PUT", "-k", "a", "-v", "2");
      assertThat(put.exit()).as(put.toString()).isEqualTo(2);
      assertThat(put.err()).contains("leader");
      assertThat(c.clt(follower, "-o", "GET", "-k", "a").exit()).isEqualTo(2);

      LocalCluster.await(
          "the follower to serve DIRECT_GET",
          Duration.ofSeconds(20),
          () -> c.clt(follower, "-o", "DIRECT_GET", "-k", "a").out().strip().equals("1"));

      LocalCluster.Result big = c.clt(leader, "-o", "PUT", "-k", "a", "-v", "x".repeat(65));
      assertThat(big.exit()).as(big.toString()).isNotZero().isNotEqualTo(2);
      assertThat(big.err()).contains("64");
      assertThat(big.err().strip().lines().count()).as("one line: " + big.err()).isEqualTo(1);
      assertThat(c.clt(leader, "-o", "GET", "-k", "a").out().strip()).isEqualTo("1");

      LocalCluster.Result missing = c.clt(leader, "-o", "GET", "-k", "nope");
      assertThat(missing.exit()).as(missing.toString()).isEqualTo(3);
    }
  }
}
