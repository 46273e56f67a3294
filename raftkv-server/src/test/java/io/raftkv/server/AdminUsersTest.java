package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.raftkv.client.ClientTls;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import io.raftkv.proto.admin.SaveSnapshotRequest;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.TestCertificates;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code --admin-users} on a real node with client certificates required ({@code
 * --client-cert-auth}, certificates made at run time): a client whose certificate's common name is
 * an admin user may change membership, faults, latencies and take a backup; a client with another
 * name may read Status and MemberList and is refused every change, which changes nothing.
 */
class AdminUsersTest {
  @TempDir Path dir;
  private TestCertificates.Authority ca;
  private KvServer server;
  private String address;
  private int[] ports;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    ca = TestCertificates.Authority.create(dir.resolve("ca"), "ca");
    TestCertificates.Issued node =
        ca.issue("node-0", "raftkv-node-0", "raftkv-node-0", "localhost", "127.0.0.1");
    ports = FreePorts.pick(4);
    address = "127.0.0.1:" + ports[1];
    SvrMain svr = new SvrMain();
    new CommandLine(svr)
        .parseArgs(
            "-r",
            Integer.toString(ports[0]),
            "--kvs-peers",
            address,
            "-i",
            "0",
            "-p",
            Integer.toString(ports[1]),
            "--leader",
            "--enable-chaos",
            "--data-dir",
            dir.resolve("data").toString(),
            "--cert-file",
            node.certFile().toString(),
            "--key-file",
            node.keyFile().toString(),
            "--trusted-ca-file",
            ca.certFile().toString(),
            "--client-cert-auth",
            "--admin-users",
            "ops, root");
    server = KvServer.start(svr.toConfig());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (server.node().status().role() != Role.LEADER
        || server.node().status().commitIndex() < 1) {
      assertThat(System.nanoTime()).as("node 0 leads").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anAdminUsersCertificateMayChangeMembershipChaosLatenciesAndTakeABackup() {
    AdminGrpc.AdminBlockingStub root = admin("root");
    assertThat(root.changeMembership(addLearner(1)).getStatus())
        .isEqualTo(MembershipChangeStatus.OK);
    assertThat(memberIds(root)).containsExactly(0, 1);
    assertThat(root.chaos(ChaosRequest.newBuilder().setReset(true).build()).getFaultsList())
        .isEmpty();
    assertThat(root.status(StatusRequest.newBuilder().setResetLatencies(true).build()).getId())
        .isZero();
    assertThat(root.saveSnapshot(SaveSnapshotRequest.getDefaultInstance()).hasNext()).isTrue();
    // Any name in the list will do.
    assertThat(admin("ops").chaos(ChaosRequest.getDefaultInstance()).getFaultsList()).isEmpty();
  }

  @Test
  void anotherCommonNameMayReadStatusAndMembersButIsRefusedEveryChange() {
    AdminGrpc.AdminBlockingStub alice = admin("alice");
    assertThat(alice.status(StatusRequest.getDefaultInstance()).getRole())
        .isEqualTo(io.raftkv.proto.admin.Role.LEADER);
    assertThat(memberIds(alice)).containsExactly(0);

    assertDenied(() -> alice.changeMembership(addLearner(1)));
    assertDenied(() -> alice.chaos(ChaosRequest.newBuilder().setReset(true).build()));
    assertDenied(() -> alice.chaos(ChaosRequest.getDefaultInstance()));
    assertDenied(() -> alice.saveSnapshot(SaveSnapshotRequest.getDefaultInstance()).hasNext());
    assertDenied(() -> alice.status(StatusRequest.newBuilder().setResetLatencies(true).build()));

    assertThat(memberIds(admin("root"))).as("nothing changed").containsExactly(0);
    // A refused call does not spoil the connection for the calls that are allowed.
    assertThat(alice.status(StatusRequest.getDefaultInstance()).getId()).isZero();
  }

  private static void assertDenied(ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .contains("common name (CN) is one of svr --admin-users ops,root")
                  .contains("'alice'")
                  .doesNotContain("\n");
            });
  }

  private MembershipChangeRequest addLearner(int id) {
    return MembershipChangeRequest.newBuilder()
        .setOp(MembershipOp.ADD_LEARNER)
        .setId(id)
        .setRaftAddress("127.0.0.1:" + ports[2])
        .setKvAddress("127.0.0.1:" + ports[3])
        .setTimeoutMs(10_000)
        .build();
  }

  private static List<Integer> memberIds(AdminGrpc.AdminBlockingStub stub) {
    return stub.memberList(MemberListRequest.getDefaultInstance()).getMembersList().stream()
        .map(MemberStatus::getId)
        .toList();
  }

  /** A stub whose client certificate has the common name {@code name}. */
  private AdminGrpc.AdminBlockingStub admin(String name) {
    TestCertificates.Issued cert = ca.issue(name, name);
    ManagedChannel channel =
        new ClientTls(ca.certFile(), cert.certFile(), cert.keyFile()).channel(address);
    channels.add(channel);
    return AdminGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }
}
