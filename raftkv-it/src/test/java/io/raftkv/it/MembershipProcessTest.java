package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Membership changes between real server processes (dissertation chapter 4), through {@code clt
 * member} while a client writes: a kill -9'd node is replaced by a new one, the cluster grows from
 * 3 to 5 voters and shrinks back; every acknowledged write is then on every member.
 */
class MembershipProcessTest {
  private static final String CLUSTER = "membership-it";

  @Test
  void replaceADeadNodeThenGrowToFiveAndShrinkBackWhileAClientWrites(@TempDir Path dir)
      throws Exception {
    try (LocalCluster c =
        new LocalCluster(
            6,
            3,
            dir,
            "--cluster-id",
            CLUSTER,
            "--snapshot-entries",
            "100",
            "--snapshot-catchup-entries",
            "10")) {
      c.startAll(0);
      Map<String, String> acknowledged = new ConcurrentHashMap<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = writer(c, acknowledged, stop);
      writer.start();
      try {
        LocalCluster.await("some writes", Duration.ofSeconds(60), () -> acknowledged.size() > 50);

        // Node 1 dies for good; node 3, a new machine, takes its place.
        c.kill(1);
        c.startJoining(3);
        c.awaitListening(3);
        assertOk(
            c,
            "member",
            "replace",
            "--id",
            "1",
            "--new-id",
            "3",
            "--raft-addr",
            "127.0.0.1:" + c.raftPorts[3],
            "--kv-addr",
            "127.0.0.1:" + c.kvsPorts[3]);
        assertThat(members(c)).containsExactly(0, 2, 3);

        // Grow to five voters.
        for (int id : new int[] {4, 5}) {
          c.startJoining(id);
          c.awaitListening(id);
          assertOk(
              c,
              "member",
              "add",
              "--id",
              "" + id,
              "--raft-addr",
              "127.0.0.1:" + c.raftPorts[id],
              "--kv-addr",
              "127.0.0.1:" + c.kvsPorts[id]);
        }
        assertThat(members(c)).containsExactly(0, 2, 3, 4, 5);

        // And shrink back to three.
        for (int id : new int[] {4, 5}) {
          assertOk(c, "member", "remove", "--id", "" + id);
        }
        assertThat(members(c)).containsExactly(0, 2, 3);
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThat(acknowledged).hasSizeGreaterThan(50);
      for (int node : new int[] {0, 2, 3}) {
        String address = "127.0.0.1:" + c.kvsPorts[node];
        try (KvClient client = KvClient.builder(List.of(address)).build()) {
          LocalCluster.await(
              "node " + node + " to apply every acknowledged write\n" + c.logs(),
              Duration.ofSeconds(60),
              () -> acknowledged.entrySet().stream().allMatch(e -> has(client, address, e)));
        }
      }
    }
  }

  private static boolean has(KvClient client, String address, Map.Entry<String, String> e) {
    try {
      return client
          .directGet(address, e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8))
          .map(v -> new String(v, java.nio.charset.StandardCharsets.UTF_8))
          .equals(Optional.of(e.getValue()));
    } catch (KvException | RuntimeException ex) {
      return false;
    }
  }

  /** Puts distinct keys until stopped; records those acknowledged. */
  private static Thread writer(
      LocalCluster c, Map<String, String> acknowledged, AtomicBoolean stop) {
    return new Thread(
        () -> {
          try (KvClient client =
              KvClient.builder(List.of(c.kvsList().split(",")))
                  .timeout(Duration.ofSeconds(30))
                  .build()) {
            for (int i = 0; !stop.get(); i++) {
              try {
                client.put("w" + i, "v" + i);
                acknowledged.put("w" + i, "v" + i);
              } catch (KvException | RuntimeException e) {
                // Outcome unknown or refused: not acknowledged, so not checked.
              }
            }
          }
        },
        "membership-writer");
  }

  /** Runs {@code clt member <op> -s <every node> <args>}, expecting success. */
  private static void assertOk(LocalCluster c, String member, String op, String... args) {
    LocalCluster.Result r = member(c, op, args);
    assertThat(r.exit()).as(r + "\n" + c.logs()).isZero();
  }

  private static LocalCluster.Result member(LocalCluster c, String op, String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of("member", op, "-s", c.kvsList()));
    cmd.addAll(List.of(args));
    return LocalCluster.run(cmd);
  }

  /** The voters, as {@code clt member list --json} reports them. */
  private static List<Integer> members(LocalCluster c) throws Exception {
    LocalCluster.Result r = member(c, "list", "--json");
    assertThat(r.exit()).as(r.toString()).isZero();
    io.raftkv.proto.admin.MemberListResponse.Builder view =
        io.raftkv.proto.admin.MemberListResponse.newBuilder();
    com.google.protobuf.util.JsonFormat.parser().merge(r.out(), view);
    return view.getMembersList().stream()
        .filter(m -> m.getRole() == io.raftkv.proto.admin.MemberRole.VOTER)
        .map(io.raftkv.proto.admin.MemberStatus::getId)
        .sorted()
        .toList();
  }
}
