package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.raft.Role;
import org.junit.jupiter.api.Test;

class ElectionSafetyCheckerTest {

  @Test
  void twoLeadersInOneTermAreCaught() {
    ElectionSafetyChecker c = new ElectionSafetyChecker();
    c.roleChanged(10, 0, Role.LEADER, 3);
    c.roleChanged(20, 1, Role.CANDIDATE, 3);
    c.roleChanged(30, 1, Role.LEADER, 3);
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).property()).isEqualTo("Election Safety");
    assertThat(c.violations().get(0).timeMillis()).isEqualTo(30);
    assertThat(c.violations().get(0).detail()).contains("term 3");
  }

  @Test
  void oneLeaderPerTermIsAccepted() {
    ElectionSafetyChecker c = new ElectionSafetyChecker();
    c.roleChanged(10, 0, Role.LEADER, 3);
    c.roleChanged(15, 0, Role.FOLLOWER, 4);
    c.roleChanged(20, 1, Role.LEADER, 4);
    c.roleChanged(25, 2, Role.CANDIDATE, 5);
    c.roleChanged(30, 2, Role.LEADER, 5);
    // The same node reported twice as leader of one term is fine (e.g. after a restart trace).
    c.roleChanged(35, 2, Role.LEADER, 5);
    assertThat(c.violations()).isEmpty();
  }
}
