package io.raftkv.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigurationCheckerTest {
  private static final ConfState THREE = voters(0, 1, 2);

  private static ConfState voters(Integer... ids) {
    return ConfState.newBuilder().addAllVoters(List.of(ids)).build();
  }

  private static ConfState joint(List<Integer> incoming, List<Integer> outgoing) {
    return ConfState.newBuilder().addAllVoters(incoming).addAllVotersOutgoing(outgoing).build();
  }

  private static Entry config(long index, ConfState c) {
    return Entry.newBuilder()
        .setIndex(index)
        .setTerm(1)
        .setType(EntryType.ENTRY_CONFIG)
        .setData(c.toByteString())
        .build();
  }

  @Test
  void legalTransitionsPass() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(1, 0, config(2, voters(0, 1, 2, 3))); // one voter more
    c.entryApplied(2, 0, config(3, voters(0, 1, 2))); // one less
    c.entryApplied(3, 0, config(4, joint(List.of(0, 3, 4), List.of(0, 1, 2)))); // enter joint
    c.entryApplied(4, 0, config(5, voters(0, 3, 4))); // leave it
    c.entryApplied(5, 0, config(6, voters(0, 3, 4).toBuilder().addLearners(5).build()));
    assertThat(c.violations()).isEmpty();
  }

  @Test
  void twoVotersChangedAtOnceWithoutJointConsensusAreCaught() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(7, 1, config(2, voters(0, 3, 4)));
    assertThat(c.violations())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.property()).isEqualTo("Configuration changes");
              assertThat(v.detail()).contains("n1", "index 2", "not jointly");
            });
  }

  @Test
  void aJointConfigurationWhoseOutgoingHalfIsNotThePreviousVotersIsCaught() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(1, 0, config(2, joint(List.of(0, 3), List.of(0, 1))));
    assertThat(c.violations())
        .singleElement()
        .satisfies(v -> assertThat(v.detail()).contains("outgoing"));
  }

  @Test
  void leavingAJointConfigurationForAnotherOneIsCaught() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(1, 0, config(2, joint(List.of(0, 3, 4), List.of(0, 1, 2))));
    c.entryApplied(2, 0, config(3, voters(0, 1, 2)));
    assertThat(c.violations())
        .singleElement()
        .satisfies(v -> assertThat(v.detail()).contains("incoming"));
  }

  @Test
  void aMemberThatIsBothVoterAndLearnerIsCaught() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(1, 0, config(2, voters(0, 1, 2).toBuilder().addLearners(2).build()));
    assertThat(c.violations())
        .singleElement()
        .satisfies(v -> assertThat(v.detail()).contains("both"));
  }

  @Test
  void aRestartStartsAgainFromTheBootstrapConfigurationAndASnapshotReplaysItsLog() {
    ConfigurationChecker c = new ConfigurationChecker(THREE);
    c.entryApplied(1, 0, config(2, voters(0, 1, 2, 3)));
    c.restarted(2, 0, List.of(), HardState.getDefaultInstance());
    c.entryApplied(3, 0, config(2, voters(0, 1, 2, 3))); // re-applied after the restart: fine
    c.snapshotLoaded(
        4, 1, 3, List.of(config(2, voters(0, 1, 2, 3)), config(3, voters(0, 1, 2, 3, 4))));
    c.entryApplied(5, 1, config(4, voters(1, 2, 3, 4))); // one voter less than the snapshot's
    assertThat(c.violations()).isEmpty();
  }
}
