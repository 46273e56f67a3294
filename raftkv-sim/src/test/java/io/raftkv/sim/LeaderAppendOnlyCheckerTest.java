package io.raftkv.sim;

import static io.raftkv.sim.Entries.e;
import static io.raftkv.sim.Entries.log;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import org.junit.jupiter.api.Test;

class LeaderAppendOnlyCheckerTest {

  @Test
  void aLeaderOverwritingItsLogIsCaught() {
    LeaderAppendOnlyChecker c = new LeaderAppendOnlyChecker(3);
    c.entriesPersisted(1, 0, log(e(1, 1), e(2, 1), e(3, 1)));
    c.roleChanged(2, 0, Role.LEADER, 2);
    c.entriesPersisted(3, 0, log(e(4, 2)));
    c.entriesPersisted(4, 0, log(e(3, 2))); // rewrites index 3 during its term
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).property()).isEqualTo("Leader Append-Only");
    assertThat(c.violations().get(0).detail()).contains("index 3");
  }

  @Test
  void followersMayTruncateAndLeadersAppend() {
    LeaderAppendOnlyChecker c = new LeaderAppendOnlyChecker(3);
    c.entriesPersisted(1, 1, log(e(1, 1), e(2, 1), e(3, 1)));
    c.entriesPersisted(2, 1, log(e(2, 2))); // a follower truncates a conflicting suffix
    c.roleChanged(3, 1, Role.LEADER, 3);
    c.entriesPersisted(4, 1, log(e(3, 3)));
    c.entriesPersisted(5, 1, log(e(4, 3), e(5, 3)));
    c.roleChanged(6, 1, Role.FOLLOWER, 4);
    c.entriesPersisted(7, 1, log(e(4, 4))); // no longer leader: truncation allowed
    c.crashed(8, 1);
    c.restarted(9, 1, log(e(1, 1), e(2, 2)), HardState.getDefaultInstance());
    c.roleChanged(10, 1, Role.LEADER, 5);
    c.entriesPersisted(11, 1, log(e(3, 5)));
    assertThat(c.violations()).isEmpty();
  }
}
