package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The member list: roles in a joint configuration (§4.3), addresses from the configuration or else
 * from the command line, and match indexes only in the leader's answer.
 */
class MemberListingTest {
  private static final ServerConfig CONFIG = config();

  private static ServerConfig config() {
    SvrMain svr = new SvrMain();
    new picocli.CommandLine(svr)
        .parseArgs(
            "-r", "1025,1026,1027", "--kvs-peers", "2025,2026,2027", "-i", "0", "-p", "2025");
    return svr.toConfig();
  }

  /** Node 0 replacing voter 2 by 3 (joint: C_old {0,1,2}, C_new {0,1,3}), with learner 4. */
  private static final ConfState JOINT =
      ConfState.newBuilder()
          .addVoters(0)
          .addVoters(1)
          .addVoters(3)
          .addVotersOutgoing(0)
          .addVotersOutgoing(1)
          .addVotersOutgoing(2)
          .addLearners(4)
          .addMembers(
              Member.newBuilder()
                  .setId(3)
                  .setRaftAddress("10.0.0.3:1025")
                  .setKvAddress("10.0.0.3:2025"))
          .addMembers(Member.newBuilder().setId(4).setRaftAddress("10.0.0.4:1025"))
          .build();

  private static RaftStatus status(Role role, int leader) {
    return new RaftStatus(
        0,
        role,
        5,
        0,
        leader,
        40,
        40,
        42,
        5,
        42,
        0,
        0,
        0,
        role == Role.LEADER
            ? Map.of(
                1, new RaftStatus.PeerProgress(41, 42, true, 0, 0),
                2, new RaftStatus.PeerProgress(12, 13, false, 0, 0),
                3, new RaftStatus.PeerProgress(40, 41, true, 0, 0))
            : Map.of(),
        JOINT,
        39);
  }

  @Test
  void whileJointTheLeavingVoterIsOutgoingAndTheNewOneAVoter() {
    MemberListResponse r =
        MemberListing.of(status(Role.LEADER, 0), new MemberDirectory(CONFIG, JOINT));
    assertThat(r.getJoint()).isTrue();
    assertThat(r.getConfigurationIndex()).isEqualTo(39);
    assertThat(r.getMembersList()).extracting(MemberStatus::getId).containsExactly(0, 1, 2, 3, 4);
    assertThat(r.getMembersList())
        .extracting(MemberStatus::getRole)
        .containsExactly(
            MemberRole.VOTER,
            MemberRole.VOTER,
            MemberRole.OUTGOING,
            MemberRole.VOTER,
            MemberRole.LEARNER);
  }

  @Test
  void addressesComeFromTheConfigurationElseFromTheCommandLine() {
    MemberListResponse r =
        MemberListing.of(status(Role.LEADER, 0), new MemberDirectory(CONFIG, JOINT));
    assertThat(r.getMembers(2).getRaftAddress()).isEqualTo("127.0.0.1:1027");
    assertThat(r.getMembers(2).getKvAddress()).isEqualTo("127.0.0.1:2027");
    assertThat(r.getMembers(3).getRaftAddress()).isEqualTo("10.0.0.3:1025");
    assertThat(r.getMembers(3).getKvAddress()).isEqualTo("10.0.0.3:2025");
    // Added without a KV address, and not on the command line: unknown, not another node's.
    assertThat(r.getMembers(4).getKvAddress()).isEmpty();
  }

  @Test
  void theLeadersAnswerHasMatchIndexesItsOwnBeingItsLastIndex() {
    MemberListResponse r =
        MemberListing.of(status(Role.LEADER, 0), new MemberDirectory(CONFIG, JOINT));
    assertThat(r.getFromLeader()).isTrue();
    assertThat(r.getMembersList())
        .extracting(MemberStatus::getMatchIndex)
        .containsExactly(42L, 41L, 12L, 40L, 0L);
    assertThat(r.getMembers(0).getLeader()).isTrue();
    assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:2025");
  }

  @Test
  void aFollowersAnswerNamesTheLeaderAndHasNoMatchIndexes() {
    MemberListResponse r =
        MemberListing.of(status(Role.FOLLOWER, 1), new MemberDirectory(CONFIG, JOINT));
    assertThat(r.getFromLeader()).isFalse();
    assertThat(r.getLeaderId()).isEqualTo(1);
    assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:2026");
    assertThat(r.getMembersList()).extracting(MemberStatus::getMatchIndex).containsOnly(0L);
    assertThat(r.getMembers(1).getLeader()).isTrue();
  }
}
