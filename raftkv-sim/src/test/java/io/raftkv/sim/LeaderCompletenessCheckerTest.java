package io.raftkv.sim;

import static io.raftkv.sim.Entries.e;
import static io.raftkv.sim.Entries.log;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import org.junit.jupiter.api.Test;

class LeaderCompletenessCheckerTest {

  @Test
  void aLeaderMissingACommittedEntryIsCaught() {
    LeaderCompletenessChecker c = new LeaderCompletenessChecker(3);
    c.entriesPersisted(1, 0, log(e(1, 1), e(2, 1)));
    c.entriesPersisted(1, 1, log(e(1, 1), e(2, 1)));
    c.roleChanged(1, 0, Role.LEADER, 1);
    c.commitChanged(2, 0, 2);
    c.entriesPersisted(3, 2, log(e(1, 1)));
    c.roleChanged(4, 2, Role.LEADER, 2); // lacks entry 2, committed in term 1
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).property()).isEqualTo("Leader Completeness");
    assertThat(c.violations().get(0).detail()).contains("node 2");
  }

  @Test
  void aLeaderWithADifferentEntryAtACommittedIndexIsCaught() {
    LeaderCompletenessChecker c = new LeaderCompletenessChecker(2);
    c.entriesPersisted(1, 0, log(e(1, 1, "a"), e(2, 1, "b")));
    c.roleChanged(1, 0, Role.LEADER, 1);
    c.commitChanged(2, 0, 2);
    c.entriesPersisted(3, 1, log(e(1, 1, "a"), e(2, 2, "other"), e(3, 2, "c")));
    c.roleChanged(4, 1, Role.LEADER, 3);
    assertThat(c.violations()).hasSize(1);
  }

  @Test
  void committingAnEntryThatDiffersFromTheCommittedOneIsCaught() {
    LeaderCompletenessChecker c = new LeaderCompletenessChecker(2);
    c.entriesPersisted(1, 0, log(e(1, 1, "a")));
    c.commitChanged(2, 0, 1);
    c.entriesPersisted(3, 1, log(e(1, 2, "b")));
    c.commitChanged(4, 1, 1);
    assertThat(c.violations()).hasSize(1);
  }

  @Test
  void aLateLeaderOfALowerTermNeedNotHoldWhatAHigherTermCommitted() {
    LeaderCompletenessChecker c = new LeaderCompletenessChecker(3);
    c.entriesPersisted(1, 0, log(e(1, 1)));
    c.entriesPersisted(1, 1, log(e(1, 1)));
    c.commitChanged(2, 0, 1);
    c.roleChanged(3, 1, Role.CANDIDATE, 8);
    c.roleChanged(4, 0, Role.LEADER, 9);
    c.entriesPersisted(5, 0, log(e(2, 9)));
    c.entriesPersisted(5, 2, log(e(1, 1), e(2, 9)));
    c.commitChanged(6, 0, 2); // committed in term 9
    c.roleChanged(7, 1, Role.LEADER, 8); // votes of term 8 arrived late: allowed
    assertThat(c.violations()).isEmpty();
    c.roleChanged(8, 2, Role.CANDIDATE, 10);
    c.entriesPersisted(9, 1, log(e(2, 8)));
    c.roleChanged(10, 1, Role.LEADER, 10); // but a leader of term 10 must hold it
    assertThat(c.violations()).hasSize(1);
  }

  @Test
  void leadersHoldingTheCommittedPrefixAreAccepted() {
    LeaderCompletenessChecker c = new LeaderCompletenessChecker(3);
    c.entriesPersisted(1, 0, log(e(1, 1), e(2, 1), e(3, 1)));
    c.entriesPersisted(1, 1, log(e(1, 1), e(2, 1)));
    c.commitChanged(2, 0, 2);
    c.commitChanged(2, 1, 2);
    // Node 1 lacks the uncommitted entry 3: it may still win.
    c.roleChanged(3, 1, Role.LEADER, 2);
    c.entriesPersisted(4, 1, log(e(3, 2)));
    c.entriesPersisted(5, 0, log(e(3, 2)));
    c.commitChanged(6, 1, 3);
    c.crashed(7, 0);
    c.restarted(8, 0, log(e(1, 1), e(2, 1), e(3, 2)), HardState.getDefaultInstance());
    c.roleChanged(9, 0, Role.LEADER, 3);
    assertThat(c.violations()).isEmpty();
  }
}
