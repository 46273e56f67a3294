package io.raftkv.sim;

import static io.raftkv.sim.Entries.e;
import static io.raftkv.sim.Entries.log;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.HardState;
import org.junit.jupiter.api.Test;

class LogMatchingCheckerTest {

  @Test
  void sameIndexAndTermWithDifferentPrefixesIsCaught() {
    LogMatchingChecker c = new LogMatchingChecker(2);
    c.entriesPersisted(1, 0, log(e(1, 1, "a"), e(2, 2, "b")));
    // Node 1 has (2, term 2) too, but a different entry at index 1.
    c.entriesPersisted(2, 1, log(e(1, 1, "DIFFERENT"), e(2, 2, "b")));
    assertThat(c.violations()).isNotEmpty();
    assertThat(c.violations().get(0).property()).isEqualTo("Log Matching");
    assertThat(c.violations().get(0).detail()).contains("index 1");
  }

  @Test
  void sameIndexAndTermWithDifferentDataIsCaught() {
    LogMatchingChecker c = new LogMatchingChecker(2);
    c.entriesPersisted(1, 0, log(e(1, 1, "a"), e(2, 1, "b")));
    c.entriesPersisted(2, 1, log(e(1, 1, "a")));
    c.entriesPersisted(3, 1, log(e(2, 1, "c")));
    assertThat(c.violations()).extracting(Violation::property).containsOnly("Log Matching");
    assertThat(c.violations()).hasSize(1);
  }

  @Test
  void aGapInAWriteIsCaught() {
    LogMatchingChecker c = new LogMatchingChecker(1);
    c.entriesPersisted(1, 0, log(e(1, 1)));
    c.entriesPersisted(2, 0, log(e(3, 1)));
    assertThat(c.violations()).hasSize(1);
    assertThat(c.violations().get(0).detail()).contains("gap");
  }

  @Test
  void consistentLogsWithTruncationsAndRestartsAreAccepted() {
    LogMatchingChecker c = new LogMatchingChecker(3);
    c.entriesPersisted(1, 0, log(e(1, 1, "a"), e(2, 1, "b"), e(3, 1, "c")));
    c.entriesPersisted(2, 1, log(e(1, 1, "a"), e(2, 1, "b")));
    c.entriesPersisted(3, 2, log(e(1, 1, "a"), e(2, 2, "z")));
    // Node 1 learns term 2's entry; its index 2 is replaced.
    c.entriesPersisted(4, 1, log(e(2, 2, "z"), e(3, 2, "y")));
    c.entriesPersisted(5, 0, log(e(2, 2, "z"), e(3, 2, "y"), e(4, 2, "w")));
    c.restarted(6, 2, log(e(1, 1, "a"), e(2, 2, "z")), HardState.getDefaultInstance());
    c.entriesPersisted(7, 2, log(e(3, 2, "y")));
    assertThat(c.violations()).isEmpty();
  }
}
