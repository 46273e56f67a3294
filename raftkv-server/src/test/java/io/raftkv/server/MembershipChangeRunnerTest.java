package io.raftkv.server;

import static io.raftkv.server.LoopbackCluster.raftPort;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import io.raftkv.proto.raft.ConfState;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The user's contract for membership changes (issue 11), run by the leader's {@link
 * MembershipChangeRunner} on real node loops in this JVM ({@link LoopbackCluster}): a voter is
 * added through a caught-up learner, a replacement goes through one joint configuration
 * (dissertation §4.3) and is done once it is left, a member that cannot catch up ends in TIMEOUT
 * saying how far it got, retries resume where a change stopped, and every refusal is one line.
 */
class MembershipChangeRunnerTest {
  private LoopbackCluster cluster;
  private final List<MembershipChangeRunner> changes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    changes.forEach(MembershipChangeRunner::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  /** A cluster of {@code voters} plus {@code spares}; returns its leader's id. */
  private int start(int voters, int spares) throws InterruptedException {
    cluster = new LoopbackCluster(voters, spares);
    int leader = cluster.awaitLeader();
    // The leader's first entry (its no-op) committed: changes are accepted from then on (§4.1).
    LoopbackCluster.await(
        "the leader's no-op committed", () -> cluster.node(leader).status().commitIndex() >= 1);
    return leader;
  }

  private MembershipChangeRunner on(int id) {
    MembershipChangeRunner c = new MembershipChangeRunner(cluster.node(id), cluster.directory(id));
    changes.add(c);
    return c;
  }

  private static MembershipChangeRequest.Builder request(MembershipOp op, int id) {
    return MembershipChangeRequest.newBuilder().setOp(op).setId(id).setTimeoutMs(20_000);
  }

  private static MembershipChangeRequest add(MembershipOp op, int id, long timeoutMillis) {
    return request(op, id)
        .setRaftAddress("127.0.0.1:" + raftPort(id))
        .setKvAddress("127.0.0.1:" + LoopbackCluster.kvPort(id))
        .setTimeoutMs(timeoutMillis)
        .build();
  }

  private MembershipChangeResponse run(int on, MembershipChangeRequest req) {
    return on(on).change(req, () -> false);
  }

  private static void assertStatus(MembershipChangeResponse r, MembershipChangeStatus status) {
    assertThat(r.getStatus()).as(r.getMessage()).isEqualTo(status);
    assertThat(r.getMessage()).isNotEmpty().doesNotContain("\n");
  }

  private ConfState configuration(int id) {
    return cluster.node(id).status().configuration();
  }

  @Test
  void addMakesTheNewMemberALearnerCatchesItUpThenPromotesIt() throws Exception {
    int leader = start(3, 1);
    MembershipChangeResponse r = run(leader, add(MembershipOp.ADD, 3, 20_000));
    assertStatus(r, MembershipChangeStatus.OK);
    assertThat(r.getMessage()).contains("n3 is a voter", "added as a learner", "promoted");
    assertThat(configuration(leader).getVotersList()).containsExactly(0, 1, 2, 3);
    assertThat(configuration(leader).getLearnersList()).isEmpty();
    MemberStatus added = r.getMembers().getMembers(3);
    assertThat(added.getRole()).isEqualTo(MemberRole.VOTER);
    assertThat(added.getRaftAddress()).isEqualTo("127.0.0.1:" + raftPort(3));
    assertThat(added.getMatchIndex()).isPositive();
  }

  @Test
  void addOfAMemberThatCannotCatchUpTimesOutSayingHowFarItGot() throws Exception {
    int leader = start(3, 1);
    cluster.down.add(3);
    MembershipChangeResponse r = run(leader, add(MembershipOp.ADD, 3, 700));
    assertStatus(r, MembershipChangeStatus.TIMEOUT);
    assertThat(r.getMessage())
        .matches("n3 never caught up within 700 ms: its match index is 0 of [1-9][0-9]*");
    // It stays a learner: a learner never counts towards commit, so the cluster is unharmed.
    assertThat(configuration(leader).getLearnersList()).containsExactly(3);
    assertThat(configuration(leader).getVotersList()).containsExactly(0, 1, 2);
  }

  @Test
  void aRetriedAddOfTheSameLearnerResumesAtTheCatchUp() throws Exception {
    int leader = start(3, 1);
    cluster.down.add(3);
    assertStatus(run(leader, add(MembershipOp.ADD, 3, 300)), MembershipChangeStatus.TIMEOUT);
    long index = cluster.node(leader).status().configurationIndex();
    cluster.down.remove(3);
    MembershipChangeResponse r = run(leader, add(MembershipOp.ADD, 3, 20_000));
    assertStatus(r, MembershipChangeStatus.OK);
    assertThat(r.getMessage()).contains("added as a learner before");
    // One entry more: the promotion only, not a second addition.
    assertThat(cluster.node(leader).status().configurationIndex()).isGreaterThan(index);
    assertThat(configuration(leader).getVotersList()).containsExactly(0, 1, 2, 3);
  }

  @Test
  void anAddOfAVoterWithTheSameAddressesIsDoneAtOnceAndWithOthersRefused() throws Exception {
    int leader = start(3, 0);
    long index = cluster.node(leader).status().configurationIndex();
    MembershipChangeResponse same = run(leader, add(MembershipOp.ADD, 1, 20_000));
    assertStatus(same, MembershipChangeStatus.OK);
    assertThat(same.getMessage()).contains("n1 is a voter already");
    MembershipChangeResponse other =
        run(
            leader,
            request(MembershipOp.ADD, 1)
                .setRaftAddress("127.0.0.1:9")
                .setKvAddress("127.0.0.1:" + LoopbackCluster.kvPort(1))
                .build());
    assertStatus(other, MembershipChangeStatus.REFUSED);
    assertThat(other.getMessage())
        .isEqualTo(
            "member 1 exists already, at raft address 127.0.0.1:10001 and KV address"
                + " 127.0.0.1:20001");
    assertThat(cluster.node(leader).status().configurationIndex()).isEqualTo(index);
  }

  @Test
  void aRaftAddressOfAFirstMemberFromTheCommandLineIsRefused() throws Exception {
    int leader = start(3, 1);
    long index = cluster.node(leader).status().configurationIndex();
    MembershipChangeResponse r =
        run(
            leader,
            request(MembershipOp.ADD_LEARNER, 3)
                .setRaftAddress("localhost:" + raftPort(2))
                .setKvAddress("127.0.0.1:30003")
                .build());
    assertStatus(r, MembershipChangeStatus.REFUSED);
    assertThat(r.getMessage()).isEqualTo("raft address 127.0.0.1:10002 is used by member 2");
    assertThat(cluster.node(leader).status().configurationIndex()).isEqualTo(index);
  }

  @Test
  void addLearnerReturnsOnceAppliedAndPromoteWaitsUntilTheLearnerCaughtUp() throws Exception {
    int leader = start(3, 1);
    cluster.down.add(3);
    MembershipChangeResponse added = run(leader, add(MembershipOp.ADD_LEARNER, 3, 20_000));
    assertStatus(added, MembershipChangeStatus.OK);
    assertThat(added.getMessage()).startsWith("n3 is a learner (index ");
    assertThat(added.getMembers().getMembers(3).getRole()).isEqualTo(MemberRole.LEARNER);
    assertThat(run(leader, add(MembershipOp.ADD_LEARNER, 3, 20_000)).getMessage())
        .isEqualTo("n3 is a learner already, with these addresses");

    MembershipChangeResponse early =
        run(leader, request(MembershipOp.PROMOTE, 3).setTimeoutMs(300).build());
    assertStatus(early, MembershipChangeStatus.TIMEOUT);
    assertThat(early.getMessage()).startsWith("n3 never caught up within 300 ms");
    assertThat(configuration(leader).getLearnersList()).containsExactly(3);

    cluster.down.remove(3);
    MembershipChangeResponse promoted = run(leader, request(MembershipOp.PROMOTE, 3).build());
    assertStatus(promoted, MembershipChangeStatus.OK);
    assertThat(configuration(leader).getVotersList()).containsExactly(0, 1, 2, 3);
    assertThat(run(leader, request(MembershipOp.PROMOTE, 3).build()).getMessage())
        .isEqualTo("n3 is a voter already");
  }

  @Test
  void removeIsDoneOnceAppliedARetryIsOkAndTheIdIsNeverReused() throws Exception {
    int leader = start(3, 0);
    int follower = (leader + 1) % 3;
    MembershipChangeResponse r = run(leader, request(MembershipOp.REMOVE, follower).build());
    assertStatus(r, MembershipChangeStatus.OK);
    assertThat(configuration(leader).getVotersList()).doesNotContain(follower).hasSize(2);
    assertThat(r.getMembers().getMembersList()).extracting(MemberStatus::getId).hasSize(2);
    assertThat(run(leader, request(MembershipOp.REMOVE, follower).build()).getMessage())
        .isEqualTo("n" + follower + " was removed already");
    MembershipChangeResponse again = run(leader, add(MembershipOp.ADD, follower, 20_000));
    assertStatus(again, MembershipChangeStatus.REFUSED);
    assertThat(again.getMessage()).contains("ids are never reused");
  }

  @Test
  void replacePromotesTheNewMemberAndRemovesTheOldInOneJointChangeThenLeavesIt() throws Exception {
    int leader = start(3, 1);
    int old = (leader + 1) % 3;
    MembershipChangeResponse r =
        run(
            leader,
            request(MembershipOp.REPLACE, old)
                .setNewId(3)
                .setRaftAddress("127.0.0.1:" + raftPort(3))
                .setKvAddress("127.0.0.1:" + LoopbackCluster.kvPort(3))
                .build());
    assertStatus(r, MembershipChangeStatus.OK);
    assertThat(r.getMessage()).contains("n3 replaced n" + old, "joint configuration entered");
    ConfState c = configuration(leader);
    assertThat(c.getVotersList()).contains(3).doesNotContain(old).hasSize(3);
    assertThat(c.getVotersOutgoingList()).isEmpty();
    assertThat(c.getRemovedList()).containsExactly(old);
    assertThat(r.getMembers().getJoint()).isFalse();
    // A retry (say, the client lost the answer) is done at once.
    MembershipChangeResponse retry =
        run(
            leader,
            request(MembershipOp.REPLACE, old)
                .setNewId(3)
                .setRaftAddress("127.0.0.1:" + raftPort(3))
                .setKvAddress("127.0.0.1:" + LoopbackCluster.kvPort(3))
                .build());
    assertStatus(retry, MembershipChangeStatus.OK);
    assertThat(retry.getMessage()).startsWith("n3 replaced n" + old + " (the configuration of");
  }

  @Test
  void refusalsAreOneLineAndChangeNothing() throws Exception {
    int leader = start(1, 0);
    long index = cluster.node(leader).status().configurationIndex();
    assertThat(run(leader, request(MembershipOp.REMOVE, 0).build()).getMessage())
        .isEqualTo("the change would leave no voter (a cluster needs at least one)");
    assertThat(run(leader, request(MembershipOp.REMOVE, 9).build()).getMessage())
        .isEqualTo("no member 9 to remove");
    assertThat(run(leader, request(MembershipOp.PROMOTE, 9).build()).getMessage())
        .isEqualTo("no learner 9 to promote");
    assertThat(
            run(
                    leader,
                    request(MembershipOp.REPLACE, 5)
                        .setNewId(6)
                        .setRaftAddress("127.0.0.1:7")
                        .setKvAddress("127.0.0.1:8")
                        .build())
                .getMessage())
        .isEqualTo("no voter 5 to replace");
    assertThat(
            run(
                    leader,
                    request(MembershipOp.ADD, 4)
                        .setRaftAddress("nowhere")
                        .setKvAddress("x")
                        .build())
                .getMessage())
        .isEqualTo("bad raft address: 'nowhere' is not a port or host:port");
    assertThat(run(leader, request(MembershipOp.ADD, 4).build()).getMessage())
        .isEqualTo("the new member's raft address is missing (HOST:PORT)");
    for (MembershipOp op : MembershipOp.values()) {
      if (op != MembershipOp.UNRECOGNIZED) {
        MembershipChangeResponse r = run(leader, request(op, -1).build());
        assertStatus(r, MembershipChangeStatus.REFUSED);
      }
    }
    assertThat(cluster.node(leader).status().configurationIndex()).isEqualTo(index);
  }

  @Test
  void aFollowerAnswersNotLeaderWithTheLeadersKvAddress() throws Exception {
    int leader = start(3, 0);
    int follower = (leader + 1) % 3;
    LoopbackCluster.await(
        "the follower knows the leader",
        () -> cluster.node(follower).status().leaderId() == leader);
    MembershipChangeResponse r = run(follower, request(MembershipOp.REMOVE, 2).build());
    assertStatus(r, MembershipChangeStatus.NOT_LEADER);
    assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:" + LoopbackCluster.kvPort(leader));
    assertThat(r.getMessage())
        .isEqualTo(
            "node "
                + follower
                + " is not the leader; the leader is node "
                + leader
                + " at 127.0.0.1:"
                + LoopbackCluster.kvPort(leader));
    // Its own view of the members still comes with it.
    assertThat(r.getMembers().getFromLeader()).isFalse();
    assertThat(r.getMembers().getMembersCount()).isEqualTo(3);
  }

  @Test
  void aSecondChangeWhileOneIsUnderWayIsRefused() throws Exception {
    int leader = start(3, 1);
    cluster.down.add(3);
    MembershipChangeRunner c = on(leader);
    CompletableFuture<MembershipChangeResponse> first = new CompletableFuture<>();
    c.submit(add(MembershipOp.ADD, 3, 2_000), () -> false, first::complete);
    CompletableFuture<MembershipChangeResponse> second = new CompletableFuture<>();
    c.submit(request(MembershipOp.REMOVE, 2).build(), () -> false, second::complete);
    MembershipChangeResponse r = second.get(5, TimeUnit.SECONDS);
    assertStatus(r, MembershipChangeStatus.REFUSED);
    assertThat(r.getMessage())
        .isEqualTo(
            "another membership change is under way on this node (ADD n3); retry once it ends");
    assertStatus(first.get(10, TimeUnit.SECONDS), MembershipChangeStatus.TIMEOUT);
    // Once it ended, the next one runs.
    CompletableFuture<MembershipChangeResponse> third = new CompletableFuture<>();
    c.submit(request(MembershipOp.REMOVE, 3).build(), () -> false, third::complete);
    assertStatus(third.get(10, TimeUnit.SECONDS), MembershipChangeStatus.OK);
  }

  @Test
  void aClientThatWentAwayStopsTheWait() throws Exception {
    int leader = start(3, 1);
    cluster.down.add(3);
    MembershipChangeResponse r = on(leader).change(add(MembershipOp.ADD, 3, 20_000), () -> true);
    assertStatus(r, MembershipChangeStatus.FAILED);
    assertThat(r.getMessage()).isEqualTo("the client went away");
  }
}
