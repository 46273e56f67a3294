package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oversized requests cost the leader nothing: gRPC refuses each from its length prefix (the KV
 * port's bound is --max-key-bytes + --max-value-bytes + 64 KiB), so concurrent huge Puts neither
 * exhaust its memory nor cost it its leadership, and other clients are served meanwhile.
 */
class ResourceLimitsTest {

  /** Node id -> "role term" of each row of {@code clt status}. */
  private static List<String> roleAndTerm(LocalCluster c) {
    LocalCluster.Result r = LocalCluster.run(List.of("status", "-s", c.kvsList()));
    assertThat(r.exit()).as(r.toString()).isZero();
    List<String> rows = new ArrayList<>();
    for (String line : r.out().lines().toList()) {
      if (line.startsWith("| ") && !line.contains("ENDPOINT")) {
        String[] f = line.substring(1).split("\\|");
        rows.add(f[1].strip() + " " + f[2].strip() + " " + f[3].strip());
      }
    }
    return rows;
  }

  @Test
  void concurrentOversizedPutsAreRefusedAndTheLeaderKeepsLeadingAndServing(@TempDir Path dir)
      throws Exception {
    // 32 MiB each, 30 times the bound; 300 MB values made the leader run out of direct memory
    // when the bound was Integer.MAX_VALUE.
    Path big = dir.resolve("big.bin");
    Files.write(big, new byte[32 << 20]);
    // Long election timeouts: five clt JVMs starting at once and uploading 32 MiB each take both
    // cores of a CI machine for a second or two; with the default timeouts a starved leader's
    // heartbeats come late and a follower campaigns, which is about CPU, not about the limits.
    try (LocalCluster c =
        new LocalCluster(
            3,
            dir.resolve("cluster"),
            "--election-timeout-min-ms",
            "3000",
            "--election-timeout-max-ms",
            "6000",
            "--heartbeat-ms",
            "100")) {
      c.startAll(0);
      int leader = c.findLeader();
      assertThat(c.clt(leader, "-o", "PUT", "-k", "before", "-v", "1").exit()).isZero();
      List<String> before = roleAndTerm(c);

      List<CompletableFuture<LocalCluster.Result>> puts = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        String key = "huge" + i;
        puts.add(
            CompletableFuture.supplyAsync(
                () -> c.clt(leader, "-o", "PUT", "-k", key, "--value-file", big.toString())));
      }
      // Served while the huge ones are refused.
      assertThat(c.clt(leader, "-o", "PUT", "-k", "during", "-v", "2").exit()).isZero();
      for (CompletableFuture<LocalCluster.Result> f : puts) {
        LocalCluster.Result r = f.get();
        assertThat(r.exit()).as(r.toString()).isEqualTo(1);
        assertThat(r.err().lines()).as(r.toString()).hasSize(1);
        assertThat(r.err())
            .contains("exceeds maximum size " + (4096 + (1 << 20) + (64 << 10)))
            .contains("--max-value-bytes")
            .contains("the PUT was not applied");
      }

      assertThat(roleAndTerm(c)).as("same leader, same term, on every node").isEqualTo(before);
      assertThat(c.clt(leader, "-o", "PUT", "-k", "after", "-v", "3").exit()).isZero();
      LocalCluster.Result get = c.clt(leader, "-o", "GET", "-k", "during");
      assertThat(get.out()).isEqualTo("2\n");
      assertThat(c.clt(leader, "-o", "GET", "-k", "huge0").exit()).as("not applied").isEqualTo(3);
    }
  }
}
