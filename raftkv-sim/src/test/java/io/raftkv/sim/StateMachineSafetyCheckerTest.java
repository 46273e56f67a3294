package io.raftkv.sim;

import static io.raftkv.sim.Entries.e;
import static io.raftkv.sim.Entries.log;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.HardState;
import org.junit.jupiter.api.Test;

class StateMachineSafetyCheckerTest {

  @Test
  void twoDifferentEntriesAppliedAtOneIndexAreCaught() {
    StateMachineSafetyChecker c = new StateMachineSafetyChecker(2);
    c.entryApplied(1, 0, e(1, 1, "a"));
    c.entryApplied(2, 1, e(1, 1, "b"));
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).property()).isEqualTo("State Machine Safety");
    assertThat(c.violations().get(0).detail()).contains("index 1");
  }

  @Test
  void aGapOrReorderIsCaught() {
    StateMachineSafetyChecker c = new StateMachineSafetyChecker(1);
    c.entryApplied(1, 0, e(1, 1));
    c.entryApplied(2, 0, e(3, 1));
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).detail()).contains("applied index 3 when 2 was next");
  }

  @Test
  void identicalApplicationsAndRestartsAreAccepted() {
    StateMachineSafetyChecker c = new StateMachineSafetyChecker(2);
    c.entryApplied(1, 0, e(1, 1, "a"));
    c.entryApplied(2, 0, e(2, 1, "b"));
    c.entryApplied(3, 1, e(1, 1, "a"));
    c.restarted(4, 0, log(e(1, 1, "a"), e(2, 1, "b")), HardState.getDefaultInstance());
    c.entryApplied(5, 0, e(1, 1, "a")); // a restarted state machine re-applies from 1
    c.entryApplied(6, 0, e(2, 1, "b"));
    c.entryApplied(7, 1, e(2, 1, "b"));
    c.entryApplied(8, 1, e(3, 2, "c"));
    assertThat(c.violations()).isEmpty();
  }
}
