package io.raftkv.sim.course;

import static io.raftkv.sim.course.LabHarness.ELECTION_TIMEOUT_MS;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The course's leader-election scenarios (2A), with their faults and assertions, on the simulator.
 * Each runs with a fixed seed; set {@code -Dcourse.seed=S} to run them with another.
 */
class RaftElectionScenariosTest {

  static long seed(long defaultSeed) {
    return Long.getLong("course.seed", defaultSeed);
  }

  /** InitialElection (3): one leader, all agree on a term >= 1, and nothing changes when quiet. */
  @Test
  void initialElection() {
    try (LabHarness h = new LabHarness(3, false, seed(1))) {
      h.checkOneLeader();
      h.sleep(50);
      long term1 = h.checkTerms();
      assertThat(term1).as("term" + h.replay()).isGreaterThanOrEqualTo(1);
      // No failures: the term must not change, and a leader must remain.
      h.sleep(2 * ELECTION_TIMEOUT_MS);
      long term2 = h.checkTerms();
      assertThat(term2).as("term changed with no failures" + h.replay()).isEqualTo(term1);
      h.checkOneLeader();
    }
  }

  /**
   * ReElection (3): a new leader after the old one is cut off; the old one rejoining does not
   * disturb it (PreVote); no leader without a majority; one again once a majority is back.
   */
  @Test
  void reElection() {
    try (LabHarness h = new LabHarness(3, false, seed(2))) {
      int leader1 = h.checkOneLeader();

      h.disconnect(leader1);
      int leader2 = h.checkOneLeader();
      long term2 = h.term(leader2);

      // The old leader rejoins: it must not disturb the new one (§9.6, PreVote + CheckQuorum).
      h.connect(leader1);
      int leader3 = h.checkOneLeader();
      assertThat(leader3).as("leader after the old one rejoined" + h.replay()).isEqualTo(leader2);
      assertThat(h.term(leader3)).as("term after rejoin" + h.replay()).isEqualTo(term2);

      // No quorum: no leader.
      h.disconnect(leader2);
      h.disconnect((leader2 + 1) % 3);
      h.sleep(2 * ELECTION_TIMEOUT_MS);
      h.checkNoLeader();

      // A quorum arises: it elects a leader.
      h.connect((leader2 + 1) % 3);
      h.checkOneLeader();

      // Re-join of the last node must not prevent a leader from existing.
      h.connect(leader2);
      h.checkOneLeader();
    }
  }

  /** ManyElections (7): ten rounds of cutting off 3 random servers; one leader every time. */
  @Test
  void manyElections() {
    try (LabHarness h = new LabHarness(7, false, seed(3))) {
      h.checkOneLeader();
      for (int iter = 0; iter < 10; iter++) {
        int i1 = h.random.nextInt(7);
        int i2 = h.random.nextInt(7);
        int i3 = h.random.nextInt(7);
        h.disconnect(i1);
        h.disconnect(i2);
        h.disconnect(i3);
        // Either the current leader is still alive, or the remaining four elect a new one.
        h.checkOneLeader();
        h.connect(i1);
        h.connect(i2);
        h.connect(i3);
      }
      h.checkOneLeader();
    }
  }
}
