package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import io.raftkv.raft.Role;
import io.raftkv.testkit.FreePorts;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * MemberList and ChangeMembership over gRPC on a real single-node server (RocksDB, both ports): the
 * Admin service hands a change to the membership thread and answers when it ends, and a member
 * added while unreachable stays a learner that the list shows with its addresses.
 */
class MembershipAdminTest {
  @TempDir Path dir;

  private KvServer server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aLearnerAddedOverGrpcIsListedAndAnAddThatCannotCatchUpTimesOut() throws Exception {
    int[] ports = FreePorts.pick(4);
    SvrMain svr = new SvrMain();
    new CommandLine(svr)
        .parseArgs(
            "-r",
            Integer.toString(ports[0]),
            "--kvs-peers",
            "127.0.0.1:" + ports[1],
            "-i",
            "0",
            "-p",
            Integer.toString(ports[1]),
            "--data-dir",
            dir.toString(),
            "--leader");
    server = KvServer.start(svr.toConfig());
    LoopbackCluster.await(
        "a leader that committed its first entry",
        () ->
            server.node().status().role() == Role.LEADER
                && server.node().status().commitIndex() >= 1);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", ports[1]).usePlaintext().build();
    AdminGrpc.AdminBlockingStub admin = AdminGrpc.newBlockingStub(channel);

    MembershipChangeResponse learner =
        admin.changeMembership(
            MembershipChangeRequest.newBuilder()
                .setOp(MembershipOp.ADD_LEARNER)
                .setId(1)
                .setRaftAddress("127.0.0.1:" + ports[2])
                .setKvAddress("127.0.0.1:" + ports[3])
                .build());
    assertThat(learner.getStatus()).as(learner.getMessage()).isEqualTo(MembershipChangeStatus.OK);

    MemberListResponse list = admin.memberList(MemberListRequest.getDefaultInstance());
    assertThat(list.getFromLeader()).isTrue();
    assertThat(list.getLeaderId()).isZero();
    assertThat(list.getLeaderAddress()).isEqualTo("127.0.0.1:" + ports[1]);
    assertThat(list.getJoint()).isFalse();
    assertThat(list.getMembersList()).extracting(MemberStatus::getId).containsExactly(0, 1);
    MemberStatus self = list.getMembers(0);
    assertThat(self.getRole()).isEqualTo(MemberRole.VOTER);
    assertThat(self.getLeader()).isTrue();
    assertThat(self.getRaftAddress()).isEqualTo("127.0.0.1:" + ports[0]);
    // At least the configuration entry (the leader may have appended its data-holder record since).
    assertThat(self.getMatchIndex()).isGreaterThanOrEqualTo(list.getConfigurationIndex());
    MemberStatus added = list.getMembers(1);
    assertThat(added.getRole()).isEqualTo(MemberRole.LEARNER);
    assertThat(added.getLeader()).isFalse();
    assertThat(added.getRaftAddress()).isEqualTo("127.0.0.1:" + ports[2]);
    assertThat(added.getKvAddress()).isEqualTo("127.0.0.1:" + ports[3]);
    assertThat(added.getMatchIndex()).isZero();

    // Nothing listens at its address: the full ADD resumes at the catch-up and gives up.
    MembershipChangeResponse add =
        admin.changeMembership(
            MembershipChangeRequest.newBuilder()
                .setOp(MembershipOp.ADD)
                .setId(1)
                .setRaftAddress("127.0.0.1:" + ports[2])
                .setKvAddress("127.0.0.1:" + ports[3])
                .setTimeoutMs(300)
                .build());
    assertThat(add.getStatus()).isEqualTo(MembershipChangeStatus.TIMEOUT);
    assertThat(add.getMessage())
        .startsWith("n1 never caught up within 300 ms: its match index is 0");
    assertThat(add.getMembers().getMembers(1).getRole()).isEqualTo(MemberRole.LEARNER);

    MembershipChangeResponse removed =
        admin.changeMembership(
            MembershipChangeRequest.newBuilder().setOp(MembershipOp.REMOVE).setId(1).build());
    assertThat(removed.getStatus()).as(removed.getMessage()).isEqualTo(MembershipChangeStatus.OK);
    assertThat(removed.getMembers().getMembersList())
        .extracting(MemberStatus::getId)
        .containsExactly(0);
  }
}
