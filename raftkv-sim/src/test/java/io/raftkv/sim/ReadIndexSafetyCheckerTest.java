package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReadIndexSafetyCheckerTest {

  @Test
  void aReadBelowTheCommitIndexAtRequestTimeIsCaught() {
    ReadIndexSafetyChecker c = new ReadIndexSafetyChecker();
    c.readStateEmitted(10, 0, 7, 4, 5);
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).property()).isEqualTo("ReadIndex Safety");
    assertThat(c.violations().get(0).detail()).contains("read 7 at index 4");
  }

  @Test
  void readsAtOrAboveTheCommitIndexAreAccepted() {
    ReadIndexSafetyChecker c = new ReadIndexSafetyChecker();
    c.readStateEmitted(10, 0, 1, 5, 5);
    c.readStateEmitted(11, 0, 2, 9, 5);
    assertThat(c.violations()).isEmpty();
  }
}
