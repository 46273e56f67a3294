package io.raftkv.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.okhttp.OkHttpServerBuilder;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code clt member}: its arguments, what it sends, what it prints and its exit codes (0 done, 1
 * bad arguments, 2 not the leader with -p, 4 refused, timed out, failed or unreachable), against
 * fake Admin services: a leader and a follower that points at it.
 */
class MemberCliTest {

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

  /** The leader's view: voters 0 and 1 (0 leads), learner 3. */
  private static MemberListResponse leaderView() {
    return MemberListResponse.newBuilder()
        .setNodeId(0)
        .setFromLeader(true)
        .setLeaderId(0)
        .setLeaderAddress("127.0.0.1:2025")
        .setConfigurationIndex(12)
        .setCommitIndex(40)
        .addMembers(member(0, MemberRole.VOTER, 40).setLeader(true))
        .addMembers(member(1, MemberRole.VOTER, 39))
        .addMembers(member(3, MemberRole.LEARNER, 7))
        .build();
  }

  private static MemberStatus.Builder member(int id, MemberRole role, long match) {
    return MemberStatus.newBuilder()
        .setId(id)
        .setRole(role)
        .setRaftAddress("127.0.0.1:" + (1025 + id))
        .setKvAddress("127.0.0.1:" + (2025 + id))
        .setMatchIndex(match);
  }

  /**
   * A leader (answers changes as the id says: 7 refused, 8 timeout, 9 failed, else OK) or a
   * follower (NOT_LEADER naming the leader's address, its own view without match indexes).
   */
  private static final class FakeAdmin extends AdminGrpc.AdminImplBase {
    final List<MembershipChangeRequest> changes = Collections.synchronizedList(new ArrayList<>());
    volatile String leaderAddress;

    boolean leader() {
      return leaderAddress == null;
    }

    @Override
    public void memberList(MemberListRequest req, StreamObserver<MemberListResponse> out) {
      out.onNext(
          leader()
              ? leaderView()
              : leaderView().toBuilder()
                  .setNodeId(1)
                  .setFromLeader(false)
                  .setLeaderAddress(leaderAddress)
                  .build());
      out.onCompleted();
    }

    @Override
    public void changeMembership(
        MembershipChangeRequest req, StreamObserver<MembershipChangeResponse> out) {
      changes.add(req);
      if (req.getId() == 6) {
        // What svr's AdminGuard answers a client certificate that is not an admin user's.
        out.onError(
            io.grpc.Status.PERMISSION_DENIED
                .withDescription(
                    "ChangeMembership needs a client certificate whose common name (CN) is one"
                        + " of svr --admin-users root; this client's is 'alice'")
                .asRuntimeException());
        return;
      }
      MembershipChangeResponse.Builder b = MembershipChangeResponse.newBuilder();
      if (!leader()) {
        b.setStatus(MembershipChangeStatus.NOT_LEADER)
            .setLeaderAddress(leaderAddress)
            .setMessage("node 1 is not the leader; the leader is node 0 at " + leaderAddress);
      } else {
        switch (req.getId()) {
          case 7 ->
              b.setStatus(MembershipChangeStatus.REFUSED).setMessage("member 7 exists already");
          case 8 ->
              b.setStatus(MembershipChangeStatus.TIMEOUT)
                  .setMessage("n8 never caught up within 500 ms: its match index is 12 of 4031");
          case 9 -> b.setStatus(MembershipChangeStatus.FAILED).setMessage("the node stopped");
          default ->
              b.setStatus(MembershipChangeStatus.OK)
                  .setMessage("n" + req.getId() + " is a voter")
                  .setMembers(leaderView());
        }
      }
      out.onNext(b.build());
      out.onCompleted();
    }
  }

  private final List<Server> servers = new ArrayList<>();

  private int serve(FakeAdmin admin) throws IOException {
    Server s =
        OkHttpServerBuilder.forPort(
                new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
            .addService(admin)
            .build()
            .start();
    servers.add(s);
    return ((InetSocketAddress) s.getListenSockets().get(0)).getPort();
  }

  @AfterEach
  void stopServers() {
    servers.forEach(Server::shutdownNow);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void assertOneLine(Run r, int code, String fragment) {
    assertThat(r.code()).as(r.toString()).isEqualTo(code);
    assertThat(r.err()).startsWith("clt member: ").contains(fragment).endsWith("\n");
    assertThat(r.err().strip().lines()).hasSize(1);
  }

  // ------------------------------------------------------------------ arguments

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "''|say what to do",
        "join -p 1|unknown member command 'join'",
        "list|give the server with -p PORT",
        "list -p 1 -s 2|-p and -s exclude each other",
        "list -p 1 --id 3|unknown option '--id' for member list",
        "add -p 1 --raft-addr 1 --kv-addr 2|needs the member's id (--id N)",
        "add -p 1 --id 3|needs the new member's addresses",
        "add -p 1 --id 3 --raft-addr x:y --kv-addr 2|option '--raft-addr' wants HOST:PORT",
        "add -p 1 --id -1 --raft-addr 1 --kv-addr 2|option '--id' wants a number",
        "add -p 1 --id 3 --raft-addr 1 --kv-addr 2 --json|unknown option '--json'",
        "remove -p 1 --id 3 --learner|unknown option '--learner' for member remove",
        "promote -p 1 --id 3 --new-id 4|unknown option '--new-id'",
        "replace -p 1 --id 3 --raft-addr 1 --kv-addr 2|needs the new member's id (--new-id N)",
        "remove -p 1 --id 3 --id 4|option '--id' is given more than once",
        "remove -p 1 --id 3 extra|unexpected argument 'extra'",
        "remove -p 1 --id|option '--id' needs a value",
        "list -p 1 --json=yes|option '--json' takes no value",
        "remove -p 1 --id 3 --cacert /nonexistent|--cacert /nonexistent is not a readable file",
      })
  void badArgumentsAreOneLineAndExitOne(String args, String fragment) {
    String[] argv = ("member " + args).trim().split(" +");
    Run r = clt(argv);
    assertOneLine(r, 1, fragment);
    assertThat(r.out()).isEmpty();
  }

  @Test
  void helpGoesToStdout() {
    Run r = clt("member", "--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).startsWith("Usage: clt member list").contains("Exit codes:");
    assertThat(clt("member", "add", "-h").out()).startsWith("Usage: clt member");
    assertThat(clt("--help").out()).contains("clt member");
  }

  // ------------------------------------------------------------------ list

  @Test
  void listPrintsOneRowPerMemberWithTheLeaderMarked() throws IOException {
    Run r = clt("member", "list", "-p", "" + serve(new FakeAdmin()));
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(r.err()).isEmpty();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(1))
        .contains("ID", "ROLE", "RAFT ADDRESS", "KV ADDRESS", "MATCH", "LEADER");
    assertThat(lines.get(3))
        .matches("\\|  0 \\| voter +\\| 127.0.0.1:1025 \\| 127.0.0.1:2025 \\| +40 \\| \\* +\\|");
    assertThat(lines.get(5)).contains("| learner ", "| 127.0.0.1:1028 ", "|     7 |");
    assertThat(lines).hasSize(7);
  }

  @Test
  void listAsJsonIsProtobufsMapping() throws Exception {
    Run r = clt("member", "list", "-p", "" + serve(new FakeAdmin()), "--json");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("\"fromLeader\":true", "\"role\":\"LEARNER\"").endsWith("}\n");
    MemberListResponse.Builder back = MemberListResponse.newBuilder();
    JsonFormat.parser().merge(r.out(), back);
    assertThat(back.build()).isEqualTo(leaderView());
  }

  @Test
  void listFromAFollowerWithDashPIsItsOwnViewAndSaysSo() throws IOException {
    FakeAdmin follower = new FakeAdmin();
    follower.leaderAddress = "127.0.0.1:2025";
    Run r = clt("member", "list", "-p", "" + serve(follower));
    assertThat(r.code()).isZero();
    assertOneLine(r, 0, "node 1 is not the leader (the leader is node 0 at 127.0.0.1:2025)");
    assertThat(r.out()).contains("| voter ").doesNotContain(" 40 ");
  }

  @Test
  void listWithDashSFollowsTheFollowersHintToTheLeader() throws IOException {
    int leader = serve(new FakeAdmin());
    FakeAdmin follower = new FakeAdmin();
    follower.leaderAddress = "127.0.0.1:" + leader;
    Run r = clt("member", "list", "-s", freePort() + "," + serve(follower), "--json");
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(r.out()).contains("\"fromLeader\":true");
  }

  // ------------------------------------------------------------------ changes

  @Test
  void addSendsTheNewMembersAddressesAndWaitsForTheOutcome() throws IOException {
    FakeAdmin admin = new FakeAdmin();
    Run r =
        clt(
            "member",
            "add",
            "-p",
            "" + serve(admin),
            "--id",
            "3",
            "--raft-addr",
            "10.0.0.3:1025",
            "--kv-addr",
            "2028",
            "--timeout-ms",
            "9000");
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(r.out()).startsWith("n3 is a voter\n").contains("| learner ");
    MembershipChangeRequest req = admin.changes.get(0);
    assertThat(req.getOp()).isEqualTo(MembershipOp.ADD);
    assertThat(req.getId()).isEqualTo(3);
    assertThat(req.getRaftAddress()).isEqualTo("10.0.0.3:1025");
    assertThat(req.getKvAddress()).isEqualTo("127.0.0.1:2028");
    assertThat(req.getTimeoutMs()).isBetween(8000L, 9000L);
  }

  @ParameterizedTest
  @CsvSource({
    "add --learner, ADD_LEARNER",
    "promote, PROMOTE",
    "remove, REMOVE",
    "replace --new-id 5, REPLACE"
  })
  void eachCommandSendsItsOperation(String command, MembershipOp op) throws IOException {
    FakeAdmin admin = new FakeAdmin();
    List<String> args = new ArrayList<>(List.of("member"));
    args.addAll(List.of(command.split(" ")));
    args.addAll(List.of("-p", "" + serve(admin), "--id", "3"));
    if (op == MembershipOp.ADD_LEARNER || op == MembershipOp.REPLACE) {
      args.addAll(List.of("--raft-addr", "1029", "--kv-addr", "2029"));
    }
    Run r = clt(args.toArray(String[]::new));
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(admin.changes.get(0).getOp()).isEqualTo(op);
    assertThat(admin.changes.get(0).getNewId()).isEqualTo(op == MembershipOp.REPLACE ? 5 : 0);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "7|refused: member 7 exists already",
        "8|n8 never caught up within 500 ms: its match index is 12 of 4031",
        "9|failed: the node stopped"
      })
  void refusedTimedOutAndFailedChangesExitFourWithTheReason(int id, String line)
      throws IOException {
    Run r = clt("member", "remove", "-p", "" + serve(new FakeAdmin()), "--id", "" + id);
    assertOneLine(r, 4, line);
    assertThat(r.err()).isEqualTo("clt member: " + line + "\n");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void aFollowerWithDashPExitsTwoNamingTheLeader() throws IOException {
    FakeAdmin follower = new FakeAdmin();
    follower.leaderAddress = "127.0.0.1:2025";
    Run r = clt("member", "promote", "-p", "" + serve(follower), "--id", "3");
    assertOneLine(r, 2, "the leader is node 0 at 127.0.0.1:2025");
  }

  @Test
  void withDashSTheChangeGoesToTheLeaderPastDeadServersAndFollowers() throws IOException {
    FakeAdmin leader = new FakeAdmin();
    int leaderPort = serve(leader);
    FakeAdmin follower = new FakeAdmin();
    follower.leaderAddress = "127.0.0.1:" + leaderPort;
    Run r =
        clt(
            "member",
            "remove",
            "-s",
            freePort() + "," + serve(follower) + "," + leaderPort,
            "--id",
            "2");
    assertThat(r.code()).as(r.toString()).isZero();
    assertThat(follower.changes).hasSize(1);
    assertThat(leader.changes).hasSize(1);
    assertThat(leader.changes.get(0).getOp()).isEqualTo(MembershipOp.REMOVE);
  }

  @Test
  void aChangeRefusedForItsCertificateExitsFourWithOneLineAndAsksNoOtherServer()
      throws IOException {
    FakeAdmin first = new FakeAdmin();
    FakeAdmin second = new FakeAdmin();
    Run r = clt("member", "remove", "-s", serve(first) + "," + serve(second), "--id", "6");
    assertOneLine(r, 4, "permission denied: ChangeMembership needs a client certificate");
    assertThat(r.err()).contains("--admin-users root; this client's is 'alice'");
    assertThat(second.changes).as("every node has the same --admin-users").isEmpty();
  }

  @Test
  void anUnreachableServerExitsFour() throws IOException {
    Run r = clt("member", "remove", "-p", "" + freePort(), "--id", "2");
    assertOneLine(r, 4, "cannot connect");
    r = clt("member", "list", "-s", "" + freePort());
    assertOneLine(r, 4, "cannot connect");
  }
}
