package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.Status;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, item 7, at start-up: a member whose data directory was deleted is refused before it can
 * vote, because its peers' state machines record that it held data (the leader proposes that
 * record, {@link DataHolderRecorder}); a node that starts for the first time after its peers formed
 * the cluster is not a holder yet and is welcome.
 */
class LostDataCheckTest {
  @TempDir Path dir;
  private final KvServer[] servers = new KvServer[3];
  private final List<ManagedChannel> channels = new ArrayList<>();
  private int[] ports; // raft 0..2, then kv 0..2

  @AfterEach
  void tearDown() {
    channels.forEach(ManagedChannel::shutdownNow);
    for (KvServer s : servers) {
      if (s != null) {
        s.close();
      }
    }
  }

  @Test
  void aMemberWhoseDataDirectoryWasDeletedIsRefusedAtStartAndTheClusterGoesOn() throws Exception {
    ports = FreePorts.pick(6);
    for (int i = 0; i < 3; i++) {
      servers[i] = start(i);
    }
    int leader = awaitLeader();
    assertThat(put(leader, "before", "v")).isEqualTo(Status.OK);
    for (KvServer s : servers) {
      await(() -> s.dataHolders().containsAll(List.of(0, 1, 2)), "node " + s.config().nodeId());
    }

    int wiped = (leader + 1) % 3;
    servers[wiped].close();
    servers[wiped] = null;
    deleteRecursively(dir.resolve("node-" + wiped));

    for (int attempt = 1; attempt <= 2; attempt++) {
      assertThatThrownBy(() -> start(wiped))
          .as("attempt %d", attempt)
          .isInstanceOf(LostDataCheck.DataLostException.class)
          .hasMessageNotContaining("\n")
          .hasMessageContaining("node " + wiped + " lost its data")
          .hasMessageContaining("records that node " + wiped + " has held the cluster's data")
          .hasMessageContaining("clt member replace");
      // Nothing was created: the next start is refused again, not taken for a restart.
      assertThat(LostDataCheck.isEmptyDirectory(dir.resolve("node-" + wiped))).isTrue();
    }
    assertThat(put(awaitLeader(), "after", "v")).isEqualTo(Status.OK);
  }

  @Test
  void aNodeStartingForTheFirstTimeAfterItsPeersFormedTheClusterJoinsIt() throws Exception {
    ports = FreePorts.pick(6);
    servers[0] = start(0);
    servers[1] = start(1);
    int leader = awaitLeader();
    assertThat(put(leader, "before", "v")).isEqualTo(Status.OK);
    for (int i = 0; i < 2; i++) {
      KvServer s = servers[i];
      await(() -> s.dataHolders().containsAll(List.of(0, 1)), "node " + i + " records 0 and 1");
      assertThat(s.dataHolders()).doesNotContain(2);
    }

    servers[2] = start(2);
    await(() -> servers[2].dataHolders().contains(2), "node 2 is recorded once it holds data");
    await(() -> servers[leader].dataHolders().contains(2), "on the leader too");
  }

  // ---------------------------------------------------------------- helpers

  private KvServer start(int id) {
    List<Integer> raft = List.of(ports[0], ports[1], ports[2]);
    return InProcessNodes.start(dir, id, raft, ports[3 + id], List.of());
  }

  private int awaitLeader() throws InterruptedException {
    int[] found = {-1};
    await(
        () -> {
          for (KvServer s : servers) {
            if (s != null && s.node().status().role() == Role.LEADER) {
              found[0] = s.config().nodeId();
              return true;
            }
          }
          return false;
        },
        "a leader");
    return found[0];
  }

  private Status put(int node, String k, String v) {
    ManagedChannel c =
        NettyChannelBuilder.forAddress("127.0.0.1", ports[3 + node]).usePlaintext().build();
    channels.add(c);
    return KvServiceGrpc.newBlockingStub(c)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .put(
            PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(k))
                .setValue(ByteString.copyFromUtf8(v))
                .build())
        .getStatus();
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(20);
    }
  }
}
