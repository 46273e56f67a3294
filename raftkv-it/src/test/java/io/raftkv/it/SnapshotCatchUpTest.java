package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.KvClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log compaction and snapshot transfer (§7) between real server processes: a follower that was down
 * while the leader compacted past its log catches up through a snapshot streamed over gRPC, and
 * holds every key afterwards.
 */
class SnapshotCatchUpTest {

  @Test
  void aFollowerDownWhileTheLeaderCompactsCatchesUpThroughASnapshot(@TempDir Path dir)
      throws Exception {
    // A short peer queue: the leader's appends to the dead follower overflow it. With the default
    // (8,192 messages) the queue keeps every append of this small run, and the restarted follower
    // catches up from them without needing the compacted entries.
    try (LocalCluster c =
        new LocalCluster(
            3,
            dir,
            "--snapshot-entries",
            "50",
            "--snapshot-catchup-entries",
            "10",
            "--peer-queue",
            "16")) {
      c.startAll(0);
      int leader = c.findLeader();
      int follower = (leader + 1) % 3;
      c.kill(follower);
      // A generous deadline: CI machines are shared, and an election may happen meanwhile.
      try (KvClient client =
          KvClient.builder(List.of(c.kvsList().split(",")))
              .timeout(Duration.ofSeconds(60))
              .build()) {
        for (int i = 0; i < 300; i++) {
          client.put("k" + i, "v" + i);
        }
        c.start(follower, false);
        c.awaitListening(follower);
        String address = c.kvsList().split(",")[follower];
        LocalCluster.await(
            "node " + follower + " to catch up\n" + c.logs(),
            Duration.ofSeconds(60),
            () -> value(client, address, "k299").equals(Optional.of("v299")));
        for (int i = 0; i < 300; i++) {
          assertThat(value(client, address, "k" + i)).contains("v" + i);
        }
      }
      String followerLog = Files.readString(dir.resolve("svr-" + follower + ".log"));
      assertThat(followerLog)
          .as("caught up by a snapshot\n" + c.logs())
          .contains("received snapshot");
    }
  }

  private static Optional<String> value(KvClient client, String address, String key) {
    try {
      return client.directGet(address, key.getBytes()).map(String::new);
    } catch (Exception e) {
      return Optional.empty();
    }
  }
}
