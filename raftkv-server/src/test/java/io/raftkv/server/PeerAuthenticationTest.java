package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.raftkv.client.KvClient;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RaftTransportGrpc;
import io.raftkv.proto.raft.StreamEnd;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.TestCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Raft traffic is taken only from this cluster's members (issue 12): with peer TLS a forged message
 * (a member's id claimed by someone else) changes nothing on a 3-node cluster, and connections
 * without a member certificate are refused; without TLS, another cluster pointed at this one's Raft
 * port is refused by its cluster id.
 */
class PeerAuthenticationTest {
  private static final String CLUSTER = "raftkv-test";

  @TempDir Path dir;
  private final List<KvServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private int[] raftPorts;
  private int[] kvPorts;
  private TestCertificates.Authority ca;

  @AfterEach
  void tearDown() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(KvServer::close);
  }

  @Test
  void withPeerTlsAForgedLeaderMessageChangesNothing() throws Exception {
    startTlsCluster();
    RaftStatus before = leaderStatus(); // node 0's
    int follower = 1;
    // Whoever holds node 2's certificate sends node 1 an append as the leader, node 0, at a far
    // higher term: issue 12's forgeries, by an insider.
    TestCertificates.Issued insider = nodeCert(2);
    Optional<Throwable> end =
        send(follower, tls(insider), 2, forged(0, follower, before.term() + 1_000_000));
    assertThat(end).isEmpty(); // dropped silently: the stream itself is a member's
    assertUnchanged(before);
    assertThat(servers.get(follower).metrics().rejectedCount(Metrics.Rejection.SENDER_MISMATCH))
        .isEqualTo(1);

    // The cluster still works: a write commits.
    try (KvClient c =
        KvClient.connect(
            List.of(
                "127.0.0.1:" + kvPorts[0], "127.0.0.1:" + kvPorts[1], "127.0.0.1:" + kvPorts[2]))) {
      c.put(bytes("after"), bytes("forgery"));
    }
  }

  @Test
  void withPeerTlsConnectionsWithoutAMemberCertificateAreRefused() throws Exception {
    startTlsCluster();
    RaftStatus before = leaderStatus(); // node 0's
    int follower = 1;
    RaftMessage forgery = forged(0, follower, before.term() + 10);

    // No certificate, plaintext, another authority's member certificate: no handshake.
    TestCertificates.Authority other = TestCertificates.Authority.create(dir.resolve("other"), "o");
    TestCertificates.Issued foreign = other.issue("n", "n", PeerIdentity.name(0));
    assertThat(send(follower, tlsWithoutCertificate(), 0, forgery)).isPresent();
    assertThat(send(follower, InsecureChannelCredentials.create(), 0, forgery)).isPresent();
    assertThat(send(follower, tls(foreign), 0, forgery)).isPresent();

    // The right authority, but a certificate that names no member (a client's): refused, counted.
    TestCertificates.Issued root = ca.issue("root", "root");
    assertThat(send(follower, tls(root), 0, forgery))
        .hasValueSatisfying(e -> assertThat(e).hasMessageContaining("names no member"));
    assertThat(
            servers.get(follower).metrics().rejectedCount(Metrics.Rejection.NO_MEMBER_CERTIFICATE))
        .isEqualTo(1);
    assertUnchanged(before);
  }

  @Test
  void anotherClusterPointedAtThisOnesRaftPortLeavesItsLeaderAndTerm() throws Exception {
    startCluster(false);
    RaftStatus before = leaderStatus();
    int[] ports = FreePorts.pick(2);
    // A node of cluster "intruder" whose peers are this cluster's nodes 1 and 2: it campaigns at
    // once and keeps trying, term after term.
    servers.add(
        start(
            "-r",
            ports[0] + "," + raftPorts[1] + "," + raftPorts[2],
            "-i",
            "0",
            "-p",
            Integer.toString(ports[1]),
            "--data-dir",
            dir.resolve("intruder").toString(),
            "--cluster-id",
            "intruder",
            "--leader",
            "--startup-grace-ms",
            "0"));
    await(
        () -> servers.get(1).metrics().rejectedCount(Metrics.Rejection.WRONG_CLUSTER) > 0,
        "node 1 refuses the intruder's streams");
    Thread.sleep(1_000); // the intruder's elections go on meanwhile
    assertUnchanged(before);
    // clt status shows the refusals, from the counter behind the metric.
    long counted = servers.get(1).metrics().rejectedCount(Metrics.Rejection.WRONG_CLUSTER);
    ManagedChannel admin =
        NettyChannelBuilder.forAddress("127.0.0.1", kvPorts[1]).usePlaintext().build();
    try {
      Map<String, Long> shown =
          AdminGrpc.newBlockingStub(admin)
              .status(StatusRequest.getDefaultInstance())
              .getCounters()
              .getPeerMessagesRejectedMap();
      assertThat(shown)
          .containsKeys(
              "wrong_cluster", "sender_mismatch", "no_member_certificate", "wrong_recipient");
      assertThat(shown.get("wrong_cluster")).isGreaterThanOrEqualTo(counted).isPositive();
    } finally {
      admin.shutdownNow();
    }

    // A raw stream with no cluster id at all (the hostile tester's client) is refused too.
    assertThat(send(1, InsecureChannelCredentials.create(), null, forged(0, 1, 1_000_000)))
        .hasValueSatisfying(e -> assertThat(e).hasMessageContaining("without a cluster id"));
    assertUnchanged(before);
  }

  // ---------------------------------------------------------------- cluster

  private void startTlsCluster() throws Exception {
    ca = TestCertificates.Authority.create(dir.resolve("ca"), "ca");
    startCluster(true);
  }

  private void startCluster(boolean tls) throws Exception {
    int[] ports = FreePorts.pick(6);
    raftPorts = new int[] {ports[0], ports[1], ports[2]};
    kvPorts = new int[] {ports[3], ports[4], ports[5]};
    String raft = raftPorts[0] + "," + raftPorts[1] + "," + raftPorts[2];
    for (int i = 0; i < 3; i++) {
      List<String> args =
          new ArrayList<>(
              List.of(
                  "-r",
                  raft,
                  "-i",
                  Integer.toString(i),
                  "-p",
                  Integer.toString(kvPorts[i]),
                  "--kvs-peers",
                  kvPorts[0] + "," + kvPorts[1] + "," + kvPorts[2],
                  "--data-dir",
                  dir.resolve("node-" + i).toString(),
                  "--cluster-id",
                  CLUSTER,
                  // Long election timeouts: a loaded machine must not change leaders mid-test.
                  "--election-timeout-min-ms",
                  "2000",
                  "--election-timeout-max-ms",
                  "4000",
                  "--heartbeat-ms",
                  "100"));
      if (i == 0) {
        args.add("--leader");
      }
      if (tls) {
        TestCertificates.Issued cert = nodeCert(i);
        args.addAll(
            List.of(
                "--peer-cert-file",
                cert.certFile().toString(),
                "--peer-key-file",
                cert.keyFile().toString(),
                "--peer-trusted-ca-file",
                ca.certFile().toString()));
      }
      servers.add(start(args.toArray(String[]::new)));
    }
    await(
        () -> servers.stream().allMatch(s -> s.node().status().leaderId() == 0),
        "every node knows node 0 leads");
  }

  private TestCertificates.Issued nodeCert(int id) {
    return ca.issue("node-" + id, PeerIdentity.name(id), PeerIdentity.name(id));
  }

  private RaftStatus leaderStatus() {
    return servers.get(0).node().status();
  }

  /** No node changed its term or leader. */
  private void assertUnchanged(RaftStatus leader) throws InterruptedException {
    Thread.sleep(300); // a message that got through would have been handled by now
    for (int i = 0; i < 3; i++) {
      RaftStatus s = servers.get(i).node().status();
      assertThat(s.term()).as("node %d's term", i).isEqualTo(leader.term());
      assertThat(s.leaderId()).as("node %d's leader", i).isEqualTo(leader.id());
    }
    assertThat(servers.get(0).node().status().role()).isEqualTo(Role.LEADER);
  }

  // ---------------------------------------------------------------- raw streams

  /** An AppendEntries from {@code from} at {@code term}, as a forger would write it. */
  private static RaftMessage forged(int from, int to, long term) {
    return RaftMessage.newBuilder()
        .setFrom(from)
        .setTo(to)
        .setTerm(term)
        .setAppendRequest(AppendEntriesRequest.newBuilder())
        .build();
  }

  /**
   * Sends {@code m} to node {@code to}'s Raft port on a stream of its own, declaring {@code sender}
   * (null: no headers at all); returns how the stream ended: empty if the server completed it.
   */
  private Optional<Throwable> send(
      int to, ChannelCredentials credentials, Integer sender, RaftMessage m) throws Exception {
    NettyChannelBuilder b =
        NettyChannelBuilder.forAddress("127.0.0.1", raftPorts[to], credentials)
            .overrideAuthority(PeerIdentity.name(to));
    if (sender != null) {
      Metadata headers = new Metadata();
      headers.put(PeerChannels.CLUSTER_ID, CLUSTER.getBytes(StandardCharsets.UTF_8));
      headers.put(PeerChannels.SENDER_ID, sender.toString());
      b.intercept(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    ManagedChannel ch = b.build();
    channels.add(ch);
    CompletableFuture<Optional<Throwable>> ended = new CompletableFuture<>();
    StreamObserver<RaftMessage> out =
        RaftTransportGrpc.newStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).stream(
            new StreamObserver<StreamEnd>() {
              @Override
              public void onNext(StreamEnd value) {}

              @Override
              public void onError(Throwable t) {
                ended.complete(Optional.of(t));
              }

              @Override
              public void onCompleted() {
                ended.complete(Optional.empty());
              }
            });
    out.onNext(m);
    out.onCompleted();
    return ended.get(15, TimeUnit.SECONDS);
  }

  private ChannelCredentials tls(TestCertificates.Issued cert) throws Exception {
    return TlsChannelCredentials.newBuilder()
        .keyManager(cert.certFile().toFile(), cert.keyFile().toFile())
        .trustManager(ca.certFile().toFile())
        .build();
  }

  private ChannelCredentials tlsWithoutCertificate() throws Exception {
    return TlsChannelCredentials.newBuilder().trustManager(ca.certFile().toFile()).build();
  }

  // ---------------------------------------------------------------- helpers

  private static KvServer start(String... args) {
    SvrMain svr = new SvrMain();
    new CommandLine(svr).parseArgs(args);
    return KvServer.start(svr.toConfig());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
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
