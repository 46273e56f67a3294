package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftkv.node.Outcome;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.Status;
import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfChangeType;
import io.raftkv.proto.raft.Member;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server side of membership changes (dissertation chapter 4) on real nodes in one JVM: a node
 * started with {@code --join} is reached once a configuration names it, catches up through a
 * snapshot (§7) streamed to the address the configuration gives, is promoted, and takes over when
 * the old leader removes itself; the removed node then refuses to start again.
 */
class MembershipWiringTest {
  @TempDir Path dir;
  private final List<KvServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void tearDown() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(KvServer::close);
  }

  @Test
  void aJoiningNodeIsAddedCaughtUpByASnapshotPromotedAndTakesOverFromARemovedLeader()
      throws Exception {
    int[] ports = FreePorts.pick(4); // raft 0, kv 0, raft 1, kv 1
    String cluster = "raftkv:127.0.0.1:" + ports[0];
    KvServer first = start(0, List.of(ports[0]), ports[1], true, false, cluster);
    await(() -> first.node().status().role() == Role.LEADER, "node 0 leads");
    KvServiceGrpc.KvServiceBlockingStub kv0 = kv(ports[1]);
    for (int i = 0; i < 30; i++) {
      assertThat(put(kv0, "k" + i, "v" + i).getStatus()).isEqualTo(Status.OK);
    }
    await(() -> first.node().status().snapshotIndex() > 0, "node 0 compacted its log (a snapshot)");

    KvServer joiner = start(1, List.of(ports[0], ports[2]), ports[3], false, true, cluster);
    assertThat(joiner.node().status().configuration().getVotersCount()).isZero();

    change(first, ConfChangeType.CONF_CHANGE_ADD_LEARNER, 1, ports[2], ports[3]);
    long commit = first.node().status().commitIndex();
    await(() -> joiner.node().status().appliedIndex() >= commit, "the learner catches up");
    assertThat(joiner.node().status().configuration().getLearnersList()).containsExactly(1);

    change(first, ConfChangeType.CONF_CHANGE_PROMOTE, 1, ports[2], ports[3]);
    assertThat(first.node().status().configuration().getVotersList()).containsExactly(0, 1);

    change(first, ConfChangeType.CONF_CHANGE_REMOVE, 0, ports[0], ports[1]);
    await(() -> joiner.node().status().role() == Role.LEADER, "node 1 takes over");
    KvServiceGrpc.KvServiceBlockingStub kv1 = kv(ports[3]);
    assertThat(put(kv1, "after", "x").getStatus()).isEqualTo(Status.OK);
    assertThat(
            kv1.directGet(
                    DirectGetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k29")).build())
                .getValue()
                .toStringUtf8())
        .isEqualTo("v29");

    first.close();
    servers.remove(first);
    assertThatThrownBy(() -> start(0, List.of(ports[0]), ports[1], false, false, cluster))
        .hasMessageContaining("node 0 was removed from the cluster");
  }

  // ---------------------------------------------------------------- helpers

  private void change(KvServer leader, ConfChangeType type, int id, int raftPort, int kvPort)
      throws Exception {
    ConfChange c =
        ConfChange.newBuilder()
            .addChanges(
                ConfChangeSingle.newBuilder()
                    .setType(type)
                    .setMember(
                        Member.newBuilder()
                            .setId(id)
                            .setRaftAddress("127.0.0.1:" + raftPort)
                            .setKvAddress("127.0.0.1:" + kvPort)))
            .build();
    CompletableFuture<Outcome<?>> done = new CompletableFuture<>();
    leader.node().execute(rt -> rt.proposeConfChange(c, done::complete));
    Outcome<?> o = done.get(30, TimeUnit.SECONDS);
    assertThat(o.kind()).as(o.message()).isEqualTo(Outcome.Kind.OK);
  }

  private KvServer start(
      int id, List<Integer> raft, int kvPort, boolean leader, boolean join, String cluster) {
    List<String> extra =
        new ArrayList<>(
            List.of(
                "--cluster-id",
                cluster,
                "--snapshot-entries",
                "10",
                "--snapshot-catchup-entries",
                "0"));
    if (leader) {
      extra.add("--leader");
    }
    if (join) {
      extra.add("--join");
    }
    KvServer s = InProcessNodes.start(dir, id, raft, kvPort, extra);
    servers.add(s);
    return s;
  }

  private KvServiceGrpc.KvServiceBlockingStub kv(int port) {
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channels.add(c);
    return KvServiceGrpc.newBlockingStub(c).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static KvResponse put(KvServiceGrpc.KvServiceBlockingStub kv, String k, String v) {
    return kv.put(
        PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8(k))
            .setValue(ByteString.copyFromUtf8(v))
            .build());
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
