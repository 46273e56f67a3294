package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.between;
import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.to;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfChangeType;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.Member;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Membership changes (chapter 4 of the dissertation; etcd's ConfChangeV2 shape), each test named
 * after the rule it checks.
 */
class MembershipChangeTest {

  static ConfChange change(ConfChangeType type, int id) {
    return ConfChange.newBuilder()
        .addChanges(
            ConfChangeSingle.newBuilder()
                .setType(type)
                .setMember(Member.newBuilder().setId(id).setRaftAddress("host:" + (9000 + id))))
        .build();
  }

  static ConfChange changes(ConfChange... parts) {
    ConfChange.Builder b = ConfChange.newBuilder();
    for (ConfChange p : parts) {
      b.addAllChanges(p.getChangesList());
    }
    return b.build();
  }

  static ConfChange addVoter(int id) {
    return change(ConfChangeType.CONF_CHANGE_ADD_VOTER, id);
  }

  static ConfChange addLearner(int id) {
    return change(ConfChangeType.CONF_CHANGE_ADD_LEARNER, id);
  }

  static ConfChange promote(int id) {
    return change(ConfChangeType.CONF_CHANGE_PROMOTE, id);
  }

  static ConfChange remove(int id) {
    return change(ConfChangeType.CONF_CHANGE_REMOVE, id);
  }

  /** A 3-node cluster led by node 1 with its no-op committed everywhere. */
  static TestNetwork threeNodes() {
    TestNetwork net = TestNetwork.create(3, 7);
    net.elect(1);
    return net;
  }

  static ConfState conf(TestNetwork net, int id) {
    return net.raft(id).configuration();
  }

  // ---------------------------------------------------------------- single changes (§4.1)

  @Test
  void aNewConfigurationTakesEffectWhenAppendedNotWhenCommitted() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    long index = net.raft(1).proposeConfChange(addVoter(4));

    assertThat(index).isPositive();
    assertThat(conf(net, 1).getVotersList()).containsExactly(1, 2, 3, 4);
    assertThat(net.raft(1).commitIndex()).isLessThan(index);
    assertThat(conf(net, 2).getVotersList()).containsExactly(1, 2, 3); // not appended there yet

    net.deliverAll();
    for (int id = 1; id <= 4; id++) {
      assertThat(conf(net, id).getVotersList()).as("node %d", id).containsExactly(1, 2, 3, 4);
    }
    assertThat(net.raft(4).commitIndex()).isEqualTo(net.raft(1).commitIndex());
  }

  @Test
  void onceAppendedANewVoterCountsForTheMajority() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.isolate(3, 4);
    long index = net.raft(1).proposeConfChange(addVoter(4));
    net.deliverAll();
    // Leader and node 2 are a majority of {1,2,3} but not of {1,2,3,4}.
    assertThat(net.raft(1).commitIndex()).isLessThan(index);

    net.heal();
    net.tickAll(3);
    assertThat(net.raft(1).commitIndex()).isGreaterThanOrEqualTo(index);
  }

  @Test
  void aRemovedVoterNoLongerCountsAndGetsNothingMore() {
    TestNetwork net = threeNodes();
    long index = net.raft(1).proposeConfChange(remove(3));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).isGreaterThanOrEqualTo(index);

    net.isolate(3);
    long write = net.raft(1).propose(data("after"));
    net.deliverAll();
    assertThat(net.raft(1).commitIndex()).as("{1,2} commits alone").isGreaterThanOrEqualTo(write);
    net.heal();
    int before = net.sent.size();
    net.tickAll(5);
    assertThat(net.sent.subList(before, net.sent.size())).noneMatch(to(3)::test);
  }

  @Test
  void aConfigurationEntryTruncatedAwayTakesItsConfigurationWithIt() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.isolate(1, 4); // the old leader's change reaches nobody
    net.raft(1).proposeConfChange(addVoter(4));
    net.deliverAll();
    assertThat(conf(net, 1).getVotersList()).containsExactly(1, 2, 3, 4);

    net.heal();
    net.isolate(1);
    net.raft(2).campaign();
    net.deliverAll();
    net.raft(2).propose(data("x"));
    net.deliverAll();
    net.heal();
    net.tickAll(3);
    assertThat(net.leader()).isEqualTo(2);
    assertThat(conf(net, 1).getVotersList()).as("overwritten by node 2").containsExactly(1, 2, 3);
  }

  // ---------------------------------------------------------------- learners

  @Test
  void aLearnerGetsTheLogButNeverVotesCountsOrCampaigns() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    assertThat(conf(net, 4).getLearnersList()).containsExactly(4);
    assertThat(net.raft(4).commitIndex()).isEqualTo(net.raft(1).commitIndex());

    net.isolate(2, 3);
    long write = net.raft(1).propose(data("v"));
    net.deliverAll();
    assertThat(net.raft(4).lastIndex()).as("the learner has the entry").isEqualTo(write);
    assertThat(net.raft(1).commitIndex()).as("but it does not count").isLessThan(write);

    net.heal();
    net.isolate(1);
    net.tickAll(100);
    assertThat(net.raft(4).role()).isEqualTo(Role.FOLLOWER);
    assertThat(net.sent).noneMatch(m -> m.getFrom() == 4 && m.hasVoteRequest());
    assertThat(net.sent).noneMatch(m -> m.getTo() == 4 && m.hasVoteRequest());
  }

  @Test
  void aPromotedLearnerBecomesAVoter() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    net.raft(1).proposeConfChange(promote(4));
    net.deliverAll();
    assertThat(conf(net, 4).getVotersList()).containsExactly(1, 2, 3, 4);
    assertThat(conf(net, 4).getLearnersList()).isEmpty();
  }

  @Test
  void aNodeOutsideTheConfigurationNeverCampaigns() {
    TestNetwork net = TestNetwork.create(3, 7);
    net.addBlankNode(4);
    net.isolate(1, 2, 3);
    for (int i = 0; i < 200; i++) {
      net.raft(4).tick();
    }
    net.raft(4).campaign();
    net.deliverAll();
    assertThat(net.raft(4).term()).isZero();
    assertThat(net.raft(4).role()).isEqualTo(Role.FOLLOWER);
  }

  @Test
  void leadershipTransferToALearnerOrANonMemberIsRefused() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    assertThat(net.raft(1).transferLeadership(4)).isFalse();
    assertThat(net.raft(1).transferLeadership(9)).isFalse();
    assertThat(net.raft(1).transferLeadership(2)).isTrue();
  }

  // ---------------------------------------------------------------- joint consensus (§4.3)

  @Test
  void aChangeOfTwoVotersGoesThroughTheJointConfigurationAndLeavesItByItself() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    long enter = net.raft(1).proposeConfChange(changes(addVoter(4), remove(3)));
    ConfState joint = conf(net, 1);
    assertThat(joint.getVotersList()).containsExactly(1, 2, 4);
    assertThat(joint.getVotersOutgoingList()).containsExactly(1, 2, 3);

    net.deliverAll();
    ConfState after = conf(net, 1);
    assertThat(after.getVotersList()).containsExactly(1, 2, 4);
    assertThat(after.getVotersOutgoingList()).isEmpty();
    long leave = net.raft(1).status().configurationIndex();
    assertThat(leave).isGreaterThan(enter);
    assertThat(net.raft(1).commitIndex()).isGreaterThanOrEqualTo(leave);
    assertThat(conf(net, 2)).isEqualTo(after);
    assertThat(conf(net, 4)).isEqualTo(after);
  }

  @Test
  void aJointConfigurationCommitsOnlyWithAMajorityOfBothHalves() {
    // C_old = {1,2,3}, C_new = {1,4,5}; the entry first reaches only 1 and one half.
    assertThat(jointEntryCommittedWith(2, 3)).as("a majority of C_old only").isFalse();
    assertThat(jointEntryCommittedWith(4, 5)).as("a majority of C_new only").isFalse();
    assertThat(jointEntryCommittedWith(2, 3, 4, 5)).isTrue();
  }

  /** Whether the joint entry {1,2,3} -> {1,4,5} commits when only {@code reached} get it. */
  private static boolean jointEntryCommittedWith(int... reached) {
    TestNetwork net = TestNetwork.create(3, 7);
    net.elect(1);
    net.addBlankNode(4);
    net.addBlankNode(5);
    List<Integer> cut = new ArrayList<>(List.of(2, 3, 4, 5));
    for (int id : reached) {
      cut.remove(Integer.valueOf(id));
    }
    net.isolate(cut.stream().mapToInt(Integer::intValue).toArray());
    long enter =
        net.raft(1).proposeConfChange(changes(addVoter(4), addVoter(5), remove(2), remove(3)));
    net.tickAll(5);
    return net.raft(1).commitIndex() >= enter;
  }

  @Test
  void aNewLeaderLeavesACommittedJointConfiguration() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(changes(addVoter(4), remove(3)));
    net.flush();
    // The joint entry reaches everyone and is committed, but the leader's leave entry is lost.
    net.deliverWave();
    net.deliverWave();
    net.take(m -> true);
    assertThat(conf(net, 2).getVotersOutgoingList()).containsExactly(1, 2, 3);
    net.isolate(1);
    net.raft(2).campaign();
    net.deliverAll();
    assertThat(net.raft(2).role()).isEqualTo(Role.LEADER);
    assertThat(conf(net, 2).getVotersOutgoingList()).isEmpty();
    assertThat(conf(net, 4).getVotersList()).containsExactly(1, 2, 4);
  }

  // ---------------------------------------------------------------- leader removal (§4.2.2)

  @Test
  void aRemovedLeaderDoesNotCountItselfAndStepsDownOnceCNewIsCommitted() {
    TestNetwork net = threeNodes();
    net.isolate(3);
    long index = net.raft(1).proposeConfChange(remove(1));
    net.deliverAll();
    // C_new = {2,3}: the leader and node 2 have it, but the leader does not count.
    assertThat(net.raft(1).commitIndex()).isLessThan(index);
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);

    net.heal();
    net.tickAll(2);
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
    net.tickAll(50);
    Integer leader = net.leader();
    assertThat(leader).isIn(2, 3);
    assertThat(net.raft(1).role()).isEqualTo(Role.FOLLOWER);
  }

  @Test
  void aRemovedLeaderHandsOverAtOnceToACaughtUpVoter() {
    TestNetwork net = threeNodes();
    net.raft(1).proposeConfChange(remove(1));
    net.deliverAll();
    assertThat(net.sent).anyMatch(m -> m.getFrom() == 1 && m.hasTimeoutNow());
    assertThat(net.leader()).isIn(2, 3); // without any tick: no election timeout waited for
  }

  // ---------------------------------------------------------------- refusals

  @Test
  void onlyOneChangeMayBePendingAtATime() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.addBlankNode(5);
    net.raft(1).proposeConfChange(addLearner(4));
    assertThatThrownBy(() -> net.raft(1).proposeConfChange(addLearner(5)))
        .isInstanceOf(ConfChangeRefusedException.class)
        .hasMessageContaining("not yet committed");
    net.deliverAll();
    assertThat(net.raft(1).proposeConfChange(addLearner(5))).isPositive();
  }

  @Test
  void aLeaderProposesNoChangeBeforeCommittingAnEntryOfItsTerm() {
    TestNetwork net = TestNetwork.create(3, 7);
    net.raft(1).campaign();
    net.deliverWave(); // vote requests
    net.deliverWave(); // votes granted: leader, but its no-op is not yet acknowledged
    net.take(m -> true);
    assertThat(net.raft(1).role()).isEqualTo(Role.LEADER);
    assertThatThrownBy(() -> net.raft(1).proposeConfChange(addLearner(4)))
        .isInstanceOf(ConfChangeRefusedException.class)
        .hasMessageContaining("not yet committed an entry of its term");
  }

  @Test
  void aFollowerDoesNotProposeChanges() {
    TestNetwork net = threeNodes();
    assertThat(net.raft(2).proposeConfChange(addLearner(4))).isZero();
  }

  // ---------------------------------------------------------------- the 2015 counter-example

  /**
   * The single-server change bug Diego Ongaro reported on raft-dev in 2015: a leader that appends a
   * change before committing an entry of its term can make a committed entry disappear. The replay:
   * C_0 = {1,2,3,4}; leader 1 (term 1) appends C_1 = C_0 + 5, reaching only 5, and crashes; node 2
   * wins term 2 with 2, 3, 4 and, once its no-op is committed (the fix), appends C_2 = C_0 - 4,
   * committed by 2 and 3. Node 1 returns with 4 and 5: under C_1 it would need 1, 4 and 5; with the
   * fix node 4 holds the term-2 no-op and refuses, so node 1 cannot win and C_2 stays committed.
   */
  @Test
  void theSingleServerChangeBugOf2015CannotHappen() {
    assertThat(replayOf2015(false)).as("committed entries lost").isEmpty();
  }

  /** The replay does show the bug once the fix is switched off: the test above can fail. */
  @Test
  void withoutTheFixTheReplayLosesACommittedEntry() {
    assertThat(replayOf2015(true)).isNotEmpty();
  }

  /**
   * Runs the 2015 replay; returns the committed entries of term 2 that the cluster later lost (or
   * was told to overwrite).
   */
  private static List<Entry> replayOf2015(boolean withoutFix) {
    TestNetwork net = TestNetwork.create(4, 11);
    net.addBlankNode(5);
    net.elect(1);
    net.isolate(2, 3, 4);
    net.raft(1).proposeConfChange(addVoter(5)); // C_1, reaches 5 only
    net.deliverAll();
    net.heal();
    net.isolate(1, 5); // node 1 crashes
    if (withoutFix) {
      net.raft(2).allowChangesBeforeTermCommitForTesting();
    }
    net.raft(2).campaign();
    net.deliverWave();
    net.deliverWave(); // votes from 3 and 4
    net.take(m -> true); // its no-op reaches nobody yet
    assertThat(net.raft(2).role()).isEqualTo(Role.LEADER);
    if (!withoutFix) {
      // Refused until the no-op of term 2 is committed (on 2, 3 and 4).
      assertThatThrownBy(() -> net.raft(2).proposeConfChange(remove(4)))
          .isInstanceOf(ConfChangeRefusedException.class);
      net.tickAll(2);
      assertThat(net.raft(4).status().lastTerm()).isEqualTo(2);
    }
    net.isolate(4);
    net.raft(2).proposeConfChange(remove(4)); // C_2
    net.tickAll(2); // 2 and 3: a majority of {1,2,3}
    long c2 = net.raft(2).status().configurationIndex();
    assertThat(net.raft(2).commitIndex()).isGreaterThanOrEqualTo(c2);
    List<Entry> committed = new ArrayList<>(net.node(2).storage.entries);
    committed.removeIf(e -> e.getIndex() > c2 || e.getTerm() != 2);

    // Node 1 returns; 2 and 3 are cut off from 1, 4 and 5.
    net.heal();
    net.partition(List.of(1, 4, 5), List.of(2, 3));
    net.raft(1).campaign();
    net.deliverAll();
    net.tickAll(60);
    net.heal();
    try {
      net.tickAll(60);
    } catch (IllegalStateException e) {
      // A leader of term 3 told node 3 to overwrite what it had committed; RaftLog refuses.
      assertThat(e).hasMessageContaining("refusing to truncate committed entry");
      return committed;
    }
    List<Entry> lost = new ArrayList<>();
    for (Entry e : committed) {
      for (int id = 1; id <= 5; id++) {
        TestNetwork.MemoryStorage s = net.node(id).storage;
        if (s.termAt(e.getIndex()) != -1 && s.termAt(e.getIndex()) != e.getTerm()) {
          lost.add(e);
        }
      }
    }
    return lost;
  }

  // ---------------------------------------------------------------- removed servers (§4.2.3)

  @Test
  void aRemovedServerThatMissedItsRemovalCannotDisruptTheCluster() {
    TestNetwork net = TestNetwork.create(3, 7, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.elect(1);
    net.isolate(3);
    net.raft(1).proposeConfChange(remove(3));
    net.deliverAll();
    net.raft(1).propose(data("more"));
    net.deliverAll();
    long term = net.raft(1).term();
    net.heal(); // node 3 never got C_new; nobody sends to it any more, so it times out
    net.tickAll(300);
    assertThat(net.leader()).isEqualTo(1);
    assertThat(net.raft(1).term()).isEqualTo(term);
    assertThat(net.raft(2).term()).isEqualTo(term);
    assertThat(net.sent).anyMatch(m -> m.getFrom() == 3 && m.hasVoteRequest());
  }

  // ---------------------------------------------------------------- persistence (§4.1, §7)

  @Test
  void aRestartedNodeTakesItsConfigurationFromWhatItRecorded() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    for (int i = 0; i < 10; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    // The configuration entry is left on disk (only the tail after applied - 2 is loaded), so only
    // the state machine's record knows it.
    net.restart(2, net.raft(2).status().appliedIndex());
    assertThat(conf(net, 2).getLearnersList()).containsExactly(4);
    net.restart(4, net.raft(4).status().appliedIndex());
    assertThat(conf(net, 4).getLearnersList()).containsExactly(4);
  }

  @Test
  void aSnapshotCarriesTheConfigurationToANewMember() {
    TestNetwork net = threeNodes();
    for (int i = 0; i < 10; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    for (int id = 1; id <= 3; id++) {
      net.compact(id, net.raft(id).status().appliedIndex());
    }
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    net.tickAll(3);
    assertThat(net.node(4).installed).isNotEmpty();
    assertThat(conf(net, 4).getLearnersList()).containsExactly(4);
    assertThat(net.raft(4).commitIndex()).isEqualTo(net.raft(1).commitIndex());
    assertThat(net.raft(1).snapshotMeta(net.raft(1).status().appliedIndex()).getConfState())
        .isEqualTo(conf(net, 1));
  }

  @Test
  void configurationEntriesAreAppliedLikeAnyOther() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    long index = net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    assertThat(net.node(2).applied)
        .filteredOn(e -> e.getType() == EntryType.ENTRY_CONFIG)
        .extracting(Entry::getIndex)
        .containsExactly(index);
  }

  @Test
  void messagesBetweenPeersOfTheOldConfigurationStillFlowDuringAChange() {
    TestNetwork net = threeNodes();
    net.addBlankNode(4);
    net.raft(1).proposeConfChange(addVoter(4));
    net.deliverAll();
    assertThat(net.sent).anyMatch(between(1, 4)::test);
    assertThat(net.sent).anyMatch(between(4, 1)::test);
  }

  @Test
  void aRemovedIdIsNeverGivenToANewMember() {
    TestNetwork net = threeNodes();
    net.raft(1).proposeConfChange(remove(3));
    net.deliverAll();
    assertThatThrownBy(() -> net.raft(1).proposeConfChange(addLearner(3)))
        .isInstanceOf(ConfChangeRefusedException.class)
        .hasMessageContaining("ids are never reused");
  }

  /**
   * A learner (or a node that does not know it was made a voter) never campaigns, but its leader
   * lease (dissertation §4.2.3) runs out like anyone's: once its leader is gone it grants votes, or
   * a voter it does not know it is could block every election.
   */
  @Test
  void aLearnerGrantsVotesOnceItsLeaderIsGone() {
    TestNetwork net = TestNetwork.create(3, 7, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.elect(1);
    net.addBlankNode(4, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.raft(1).proposeConfChange(addLearner(4));
    net.deliverAll();
    net.isolate(1);
    for (int i = 0; i < 40; i++) {
      net.raft(4).tick();
    }
    net.flush();
    net.raft(4)
        .step(
            io.raftkv.proto.raft.RaftMessage.newBuilder()
                .setFrom(2)
                .setTo(4)
                .setTerm(net.raft(4).term() + 1)
                .setVoteRequest(
                    io.raftkv.proto.raft.RequestVoteRequest.newBuilder()
                        .setPreVote(true)
                        .setLastLogIndex(net.raft(2).lastIndex())
                        .setLastLogTerm(net.raft(2).term()))
                .build());
    assertThat(net.raft(4).ready().messages())
        .anySatisfy(m -> assertThat(m.getVoteResponse().getVoteGranted()).isTrue());
  }

  /**
   * §4.2.2, Figure 4.6: a leader that appended its own removal but lost leadership before
   * committing it holds the only copy of C_new; the remaining voter, still in C_old, needs its vote
   * and cannot win. The removed server campaigns (its own vote not counted), wins with the votes of
   * C_new, commits it and hands over.
   */
  @Test
  void aLeaderRemovedByAnUncommittedChangeMayStillCampaignToFinishIt() {
    TestNetwork net = TestNetwork.create(2, 7, c -> c.withPreVoteAndCheckQuorum(true, true));
    net.elect(1);
    net.isolate(2);
    long index = net.raft(1).proposeConfChange(remove(1)); // C_new = {2}, on node 1 only
    net.deliverAll();
    net.tickAll(30); // CheckQuorum: node 1 hears from no one and steps down
    assertThat(net.raft(1).role()).isNotEqualTo(Role.LEADER);
    assertThat(conf(net, 2).getVotersList()).containsExactly(1, 2);

    net.heal();
    net.tickAll(100);
    assertThat(net.raft(2).commitIndex()).isGreaterThanOrEqualTo(index);
    assertThat(conf(net, 2).getVotersList()).containsExactly(2);
    assertThat(net.leader()).isEqualTo(2);
  }
}
