package io.raftkv.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.ChaosResponse;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.PeerStatus;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StageLatency;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AdminCliTest {

  record Run(int code, String out, String err) {}

  private static Run clt(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        CltMain.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /**
   * Answers Status with a leader's state; records Chaos requests, refusing peer 9 as invalid and
   * peer 8 as a node without --enable-chaos would.
   */
  private static final class FakeAdmin extends AdminGrpc.AdminImplBase {
    final List<ChaosRequest> chaos = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
      out.onNext(
          StatusResponse.newBuilder()
              .setId(0)
              .setRole(Role.LEADER)
              .setTerm(3)
              .setLeaderId(0)
              .setCommitIndex(17)
              .setAppliedIndex(16)
              .setFirstIndex(1)
              .setLastIndex(18)
              .addPeers(PeerStatus.newBuilder().setId(1).setMatchIndex(18))
              .addPeers(PeerStatus.newBuilder().setId(2).setMatchIndex(12))
              .addLatencies(
                  StageLatency.newBuilder().setStage("fsync").setCount(5).setP50Micros(400))
              .setCounters(
                  io.raftkv.proto.admin.Counters.newBuilder()
                      .putPeerMessagesRejected("wrong_cluster", 3)
                      .putPeerMessagesRejected("sender_mismatch", 0)
                      .putPeerMessagesRejected("no_member_certificate", 1))
              .build());
      out.onCompleted();
    }

    @Override
    public void chaos(ChaosRequest req, StreamObserver<ChaosResponse> out) {
      chaos.add(req);
      for (PeerFault f : req.getFaultsList()) {
        if (f.getPeerId() == 9) {
          out.onError(Status.INVALID_ARGUMENT.withDescription("no peer 9").asRuntimeException());
          return;
        }
        if (f.getPeerId() == 8) {
          // What svr's ChaosGuard answers without --enable-chaos.
          out.onError(
              Status.PERMISSION_DENIED
                  .withDescription("chaos is disabled; start svr with --enable-chaos")
                  .asRuntimeException());
          return;
        }
      }
      out.onNext(ChaosResponse.newBuilder().addAllFaults(req.getFaultsList()).build());
      out.onCompleted();
    }
  }

  private final FakeAdmin fake = new FakeAdmin();
  private Server server;

  private String port() throws IOException {
    if (server == null) {
      server =
          OkHttpServerBuilder.forPort(
                  new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
              .addService(fake)
              .build()
              .start();
    }
    return "" + ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.shutdownNow();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void badArgumentsAreClientErrors() {
    assertThat(clt("status").code()).isEqualTo(1);
    assertThat(clt("status", "-p", "1", "-s", "2").err()).contains("exclude each other");
    assertThat(clt("status", "-p", "1", "--cut").err()).contains("unknown option '--cut'");
    assertThat(clt("chaos", "-p", "1", "--json").err()).contains("unknown option '--json'");
    assertThat(clt("chaos", "-p", "1", "--drop-out", "1.5", "--peer", "1").err())
        .contains("probability");
    assertThat(clt("chaos", "-p", "1", "--cut").err()).contains("--peer");
    Run r = clt("chaos", "-p", "1", "--peer", "x");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).startsWith("clt chaos: ").endsWith("\n");
  }

  @Test
  void helpGoesToStdout() {
    Run r = clt("status", "--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("Usage: clt status");
    assertThat(clt("chaos", "-h").out()).startsWith("Usage: clt chaos");
  }

  @Test
  void statusPrintsATable() throws IOException {
    String p = port();
    Run r = clt("status", "-p", p, "--latency");
    assertThat(r.code()).as(r.toString()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0)).startsWith("+---").endsWith("+");
    assertThat(lines.get(1))
        .contains("ENDPOINT", "ID", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST INDEX");
    assertThat(lines.get(3))
        .startsWith("| 127.0.0.1:" + p + " |")
        .contains("| leader |", " 17 |", " 16 |", "| 1:18 2:12 ");
    assertThat(r.out()).contains("fsync").contains("0.400");
  }

  @Test
  void statusNamesEachReasonANodeRefusedPeerMessagesFor() throws IOException {
    String p = port();
    Run r = clt("status", "-p", p);
    assertThat(r.out())
        .contains(
            "127.0.0.1:"
                + p
                + ": refused peer messages: no_member_certificate 1, wrong_cluster 3 (see its"
                + " log)\n")
        .doesNotContain("sender_mismatch");
  }

  @Test
  void statusAsJson() throws IOException {
    Run r = clt("status", "-s", port(), "--json");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .startsWith("[\n{\"endpoint\":\"127.0.0.1:" + port() + "\",\"status\":{")
        .contains("\"role\":\"LEADER\"", "\"commitIndex\":\"17\"", "\"matchIndex\":\"12\"")
        .contains("\"stage\":\"fsync\"")
        .endsWith("}\n]\n");
    // protobuf's own parser reads back what it printed.
    String status = r.out().substring(r.out().indexOf("\"status\":") + 9, r.out().length() - 4);
    StatusResponse.Builder b = StatusResponse.newBuilder();
    JsonFormat.parser().merge(status, b);
    assertThat(b.getCommitIndex()).isEqualTo(17);
    assertThat(b.getPeersList()).hasSize(2);
    assertThat(b.getCounters().getPeerMessagesRejectedMap()).containsEntry("wrong_cluster", 3L);
  }

  @Test
  void anUnreachableServerIsReportedAndExitsFour() throws IOException {
    int dead = freePort();
    Run r = clt("status", "-s", port() + ",127.0.0.1:" + dead);
    assertThat(r.code()).isEqualTo(4);
    assertThat(r.out()).contains("leader");
    assertThat(r.err()).contains("127.0.0.1:" + dead).contains("cannot connect");
  }

  @Test
  void chaosSendsTheFaultForEachPeer() throws IOException {
    Run r =
        clt(
            "chaos",
            "-p",
            port(),
            "--peer",
            "1,2",
            "--drop-out",
            "0.5",
            "--drop-in",
            "0.1",
            "--delay-ms",
            "20",
            "--cut");
    assertThat(r.code()).as(r.toString()).isZero();
    ChaosRequest req = fake.chaos.get(0);
    assertThat(req.getReset()).isFalse();
    assertThat(req.getFaultsList()).hasSize(2);
    PeerFault f = req.getFaults(1);
    assertThat(f.getPeerId()).isEqualTo(2);
    assertThat(f.getDropOut()).isEqualTo(0.5);
    assertThat(f.getDropIn()).isEqualTo(0.1);
    assertThat(f.getDelayMs()).isEqualTo(20);
    assertThat(f.getCut()).isTrue();
    assertThat(r.out()).contains("peer 2: cut, drop-out 0.5, drop-in 0.1, delay 20 ms");
  }

  @Test
  void chaosResetAndRefusal() throws IOException {
    Run r = clt("chaos", "-p", port(), "--reset");
    assertThat(r.code()).isZero();
    assertThat(fake.chaos.get(0).getReset()).isTrue();
    assertThat(r.out()).contains("no faults");
    r = clt("chaos", "-p", port(), "--peer", "9", "--cut");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("no peer 9");
  }

  @Test
  void chaosRefusedWithoutEnableChaosExits4WithOneLineSayingHowToEnableIt() throws IOException {
    Run r = clt("chaos", "-p", port(), "--peer", "8", "--cut");
    assertThat(r.code()).isEqualTo(4);
    assertThat(r.err().lines()).hasSize(1);
    assertThat(r.err()).startsWith("clt chaos: 127.0.0.1:").contains("--enable-chaos");
    assertThat(r.out()).isEmpty();
  }
}
