package io.raftkv.raft;

import static io.raftkv.raft.MembershipChangeTest.addLearner;
import static io.raftkv.raft.MembershipChangeTest.addVoter;
import static io.raftkv.raft.MembershipChangeTest.changes;
import static io.raftkv.raft.MembershipChangeTest.promote;
import static io.raftkv.raft.MembershipChangeTest.remove;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfChangeType;
import io.raftkv.proto.raft.Member;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a configuration change may ask for (dissertation chapter 4), and why one is refused. */
class ConfigurationTest {
  private static final Configuration THREE = Configuration.ofVoters(List.of(1, 2, 3));

  private static void assertRefused(Configuration c, ConfChange change, String reason) {
    assertThatThrownBy(() -> c.apply(change))
        .isInstanceOf(ConfChangeRefusedException.class)
        .hasMessageContaining(reason);
  }

  @Test
  void oneVoterMoreOrLessGoesDirectly() {
    assertThat(THREE.apply(addVoter(4)).isJoint()).isFalse();
    assertThat(THREE.apply(remove(3)).voters()).containsExactly(1, 2);
    Configuration withLearner = THREE.apply(addLearner(4));
    assertThat(withLearner.learners()).containsExactly(4);
    assertThat(withLearner.apply(promote(4)).isJoint()).isFalse();
  }

  @Test
  void learnerChangesBesideOneVoterChangeStillGoDirectly() {
    Configuration c = THREE.apply(changes(addLearner(4), addLearner(5), remove(3)));
    assertThat(c.isJoint()).isFalse();
    assertThat(c.voters()).containsExactly(1, 2);
    assertThat(c.learners()).containsExactly(4, 5);
  }

  @Test
  void twoVoterChangesGoThroughTheJointConfiguration() {
    Configuration joint = THREE.apply(changes(addVoter(4), remove(1)));
    assertThat(joint.isJoint()).isTrue();
    assertThat(joint.outgoing()).containsExactly(1, 2, 3);
    assertThat(joint.voters()).containsExactly(2, 3, 4);
    assertThat(joint.isVoter(1)).isTrue();
    Configuration left = joint.leaveJoint();
    assertThat(left.isJoint()).isFalse();
    assertThat(left.isVoter(1)).isFalse();
    assertThat(left.voters()).containsExactly(2, 3, 4);
  }

  @Test
  void theAddressesOfOutgoingVotersLastUntilTheJointConfigurationIsLeft() {
    Configuration c = THREE.apply(addVoter(4)).apply(addVoter(5));
    Configuration joint = c.apply(changes(remove(4), remove(5)));
    assertThat(joint.toConfState().getMembersList())
        .extracting(Member::getId)
        .containsExactly(4, 5);
    assertThat(joint.leaveJoint().toConfState().getMembersList()).isEmpty();
  }

  @Test
  void aChangeIsRefusedWhileTheConfigurationIsJoint() {
    Configuration joint = THREE.apply(changes(addVoter(4), remove(1)));
    assertRefused(joint, addLearner(5), "joint");
  }

  @Test
  void removingTheLastVoterIsRefused() {
    assertRefused(Configuration.ofVoters(List.of(1)), remove(1), "no voter");
    assertRefused(THREE, changes(remove(1), remove(2), remove(3)), "no voter");
  }

  @Test
  void addingAnIdThatExistsIsRefused() {
    assertRefused(THREE, addVoter(2), "member 2 exists already");
    assertRefused(THREE.apply(addLearner(4)), addLearner(4), "member 4 exists already");
  }

  @Test
  void anAddressUsedByAnotherMemberIsRefused() {
    Configuration c = THREE.apply(addLearner(4)); // host:9004
    ConfChange same =
        ConfChange.newBuilder()
            .addChanges(
                ConfChangeSingle.newBuilder()
                    .setType(ConfChangeType.CONF_CHANGE_ADD_LEARNER)
                    .setMember(Member.newBuilder().setId(5).setRaftAddress("host:9004")))
            .build();
    assertRefused(c, same, "raft address host:9004 is used by member 4");
  }

  @Test
  void promotingAnUnknownIdOrAVoterIsRefused() {
    assertRefused(THREE, promote(7), "no learner 7");
    assertRefused(THREE, promote(2), "member 2 is a voter already");
  }

  @Test
  void removingAnUnknownIdIsRefused() {
    assertRefused(THREE, remove(7), "no member 7");
  }

  @Test
  void namingOneMemberTwiceInAChangeIsRefused() {
    assertRefused(THREE, changes(remove(3), addVoter(3)), "named twice");
  }

  @Test
  void turningAVoterIntoALearnerIsRefusedInAJointChange() {
    Configuration five = THREE.apply(addVoter(4)).apply(addVoter(5));
    // remove 5 and 4 as voters, add 4 back as a learner: not allowed (named twice anyway).
    assertRefused(five, changes(remove(5), remove(4), addLearner(4)), "named twice");
  }

  @Test
  void anEmptyChangeIsRefused() {
    assertRefused(THREE, ConfChange.getDefaultInstance(), "empty");
  }

  @Test
  void aConfStateRoundTrips() {
    Configuration joint = THREE.apply(changes(addVoter(4), addLearner(5), remove(1)));
    assertThat(Configuration.fromConfState(joint.toConfState())).isEqualTo(joint);
  }
}
