package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.KvServiceGrpc;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.PrometheusText;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real nodes in this JVM (RocksDB, gRPC on loopback, the metrics endpoint on a free port), scraped
 * over HTTP and parsed as Prometheus would: the figures must be the node's real ones.
 */
class MetricsEndpointTest {
  @TempDir Path dir;

  private final List<KvServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void tearDown() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(KvServer::close);
  }

  @Test
  void aSingleNodeReportsItsLeadershipItsWritesAndItsClientRequests() throws Exception {
    int[] ports = FreePorts.pick(2);
    KvServer node = start(0, new int[] {ports[0]}, ports[1], true);
    int metricsPort = node.serveMetrics("127.0.0.1", 0);
    String base = "http://127.0.0.1:" + metricsPort;
    await("a healthy leader", () -> get(base + "/health").statusCode() == 200);
    // The leader's own record as a data holder (DataHolderRecorder) is a proposal too: once it is
    // applied the node stays idle, so the counters below and Status read the same totals.
    await("the leader recorded as a data holder", () -> node.dataHolders().contains(0));

    KvServiceGrpc.KvServiceBlockingStub kv = KvServiceGrpc.newBlockingStub(channel(ports[1]));
    long client = register(kv);
    for (int i = 1; i <= 5; i++) {
      assertThat(kv.put(put(client, i, "k" + i, "v")).getStatus()).isEqualTo(Status.OK);
    }
    assertThat(
            kv.append(
                    AppendRequest.newBuilder()
                        .setSession(session(client, 6))
                        .setKey(bytes("k1"))
                        .setValue(bytes("w"))
                        .build())
                .getStatus())
        .isEqualTo(Status.OK);
    assertThat(kv.get(GetRequest.newBuilder().setKey(bytes("k1")).build()).getStatus())
        .isEqualTo(Status.OK);
    assertThat(kv.get(GetRequest.newBuilder().setKey(bytes("none")).build()).getStatus())
        .isEqualTo(Status.NO_KEY);
    assertThat(kv.directGet(DirectGetRequest.newBuilder().setKey(bytes("k2")).build()).getStatus())
        .isEqualTo(Status.OK);

    PrometheusText m = PrometheusText.scrape(base + "/metrics");
    assertThat(m.value("raftkv_server_has_leader")).isEqualTo(1);
    assertThat(m.value("raftkv_server_is_leader")).isEqualTo(1);
    assertThat(m.value("raftkv_server_leader_changes_seen_total")).isEqualTo(1);
    // The registration and 6 writes, after the leader's no-op entry.
    assertThat(m.value("raftkv_server_proposals_committed_total")).isGreaterThanOrEqualTo(8);
    assertThat(m.value("raftkv_server_proposals_applied_total")).isGreaterThanOrEqualTo(8);
    assertThat(m.value("raftkv_server_proposals_total")).isEqualTo(7);
    assertThat(m.value("raftkv_server_proposals_pending")).isZero();
    assertThat(m.value("raftkv_server_proposals_failed_total")).isZero();
    assertThat(m.value("raftkv_client_requests_total", "op", "register_client", "result", "ok"))
        .isEqualTo(1);
    assertThat(m.value("raftkv_client_requests_total", "op", "put", "result", "ok")).isEqualTo(5);
    assertThat(m.value("raftkv_client_requests_total", "op", "append", "result", "ok"))
        .isEqualTo(1);
    assertThat(m.value("raftkv_client_requests_total", "op", "get", "result", "ok")).isEqualTo(1);
    assertThat(m.value("raftkv_client_requests_total", "op", "get", "result", "no_key"))
        .isEqualTo(1);
    assertThat(m.value("raftkv_client_requests_total", "op", "direct_get", "result", "ok"))
        .isEqualTo(1);
    assertThat(m.value("raftkv_client_request_duration_seconds_count", "op", "put")).isEqualTo(5);
    assertThat(m.value("raftkv_disk_wal_fsync_duration_seconds_count")).isGreaterThanOrEqualTo(6);
    assertThat(m.value("raftkv_disk_backend_commit_duration_seconds_count"))
        .isGreaterThanOrEqualTo(1);
    assertThat(m.find("jvm_memory_used_bytes")).as("the JVM's metrics").isNotEmpty();

    // Status reads the same instruments.
    StatusResponse status =
        AdminGrpc.newBlockingStub(channel(ports[1])).status(StatusRequest.newBuilder().build());
    assertThat(status.getCounters().getProposals())
        .isEqualTo((long) m.value("raftkv_server_proposals_total"));
    assertThat(latency(status, "fsync").getCount())
        .isEqualTo((long) m.value("raftkv_disk_wal_fsync_duration_seconds_count"));
    assertThat(latency(status, "write").getCount())
        .isEqualTo((long) m.value("raftkv_server_proposal_duration_seconds_count"));

    HttpResponse<String> health = get(base + "/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"health\":\"true\"");
    assertThat(get(base + "/nothing").statusCode()).isEqualTo(404);
  }

  @Test
  void aNodeIsUnhealthyUntilAMajorityElectsALeaderThenExactlyOneOfThreeLeads() throws Exception {
    int[] ports = FreePorts.pick(6);
    int[] raft = Arrays.copyOfRange(ports, 0, 3);
    List<String> bases = new ArrayList<>();
    KvServer first = start(0, raft, ports[3], false);
    bases.add("http://127.0.0.1:" + first.serveMetrics("127.0.0.1", 0));

    // Alone, node 0 cannot elect anyone: no leader, so 503 with etcd's reason.
    HttpResponse<String> alone = get(bases.get(0) + "/health");
    assertThat(alone.statusCode()).isEqualTo(503);
    assertThat(alone.body()).contains("RAFT NO LEADER");
    PrometheusText m0 = PrometheusText.scrape(bases.get(0) + "/metrics");
    assertThat(m0.value("raftkv_server_has_leader")).isZero();
    assertThat(m0.value("raftkv_server_is_leader")).isZero();

    for (int i = 1; i < 3; i++) {
      bases.add(
          "http://127.0.0.1:" + start(i, raft, ports[3 + i], i == 1).serveMetrics("127.0.0.1", 0));
    }
    for (String base : bases) {
      await(base + " healthy", () -> get(base + "/health").statusCode() == 200);
    }
    int[] found = {-1};
    await(
        "is_leader 1 on exactly one node",
        () -> {
          double leaders = 0;
          for (int i = 0; i < 3; i++) {
            double isLeader =
                PrometheusText.scrape(bases.get(i) + "/metrics").value("raftkv_server_is_leader");
            leaders += isLeader;
            found[0] = isLeader == 1 ? i : found[0];
          }
          return leaders == 1;
        });
    int leader = found[0];

    KvServiceGrpc.KvServiceBlockingStub kv =
        KvServiceGrpc.newBlockingStub(channel(ports[3 + leader]));
    long client = register(kv);
    for (int i = 1; i <= 10; i++) {
      assertThat(kv.put(put(client, i, "k" + i, "v")).getStatus()).isEqualTo(Status.OK);
    }
    PrometheusText lm = PrometheusText.scrape(bases.get(leader) + "/metrics");
    assertThat(lm.value("raftkv_server_proposals_committed_total")).isGreaterThanOrEqualTo(10);
    for (int f = 0; f < 3; f++) {
      if (f == leader) {
        continue;
      }
      String to = Integer.toString(f);
      assertThat(lm.value("raftkv_network_peer_sent_bytes_total", "to", to)).isPositive();
      assertThat(lm.value("raftkv_network_peer_round_trip_time_seconds_count", "to", to))
          .isPositive();
      int follower = f;
      // A follower applies what the leader committed once the next append tells it.
      await(
          "node " + f + " applied the writes",
          () ->
              PrometheusText.scrape(bases.get(follower) + "/metrics")
                      .value("raftkv_server_proposals_applied_total")
                  >= 10);
      PrometheusText fm = PrometheusText.scrape(bases.get(f) + "/metrics");
      assertThat(fm.value("raftkv_server_is_leader")).isZero();
      assertThat(fm.value("raftkv_server_has_leader")).isEqualTo(1);
      assertThat(fm.value("raftkv_network_peer_received_bytes_total", "from", "" + leader))
          .isPositive();
      assertThat(
              fm.value(
                  "raftkv_network_peer_dropped_messages_total",
                  "peer",
                  "" + leader,
                  "reason",
                  "chaos_in"))
          .isZero();
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Node {@code id} of a cluster whose raft ports are {@code raft}, configured as svr would be. */
  private KvServer start(int id, int[] raft, int kvsPort, boolean leader) {
    KvServer s =
        InProcessNodes.start(
            dir,
            id,
            Arrays.stream(raft).boxed().toList(),
            kvsPort,
            leader ? List.of("--leader") : List.of());
    servers.add(s);
    return s;
  }

  private ManagedChannel channel(int port) {
    ManagedChannel c = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channels.add(c);
    return c;
  }

  private static PutRequest put(long client, long sequence, String key, String value) {
    return PutRequest.newBuilder()
        .setSession(session(client, sequence))
        .setKey(bytes(key))
        .setValue(bytes(value))
        .build();
  }

  /** Opens a session through the log (§6.3); its client id. */
  private static long register(KvServiceGrpc.KvServiceBlockingStub kv) {
    KvResponse r = kv.registerClient(RegisterClientRequest.getDefaultInstance());
    assertThat(r.getStatus()).isEqualTo(Status.OK);
    return r.getClientId();
  }

  private static SessionHeader session(long client, long sequence) {
    return SessionHeader.newBuilder().setClientId(client).setSequence(sequence).build();
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static StageLatency latency(StatusResponse s, String stage) {
    return s.getLatenciesList().stream()
        .filter(l -> l.getStage().equals(stage))
        .findFirst()
        .orElseThrow();
  }

  private static HttpResponse<String> get(String url) {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError("GET " + url + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
