package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The settings the paper's timing requirement (§5.6) and the protocol rely on are validated. */
class RaftConfigTest {

  private static RaftConfig config(int min, int max, int heartbeat) {
    return new RaftConfig(1, List.of(1, 2, 3), min, max, heartbeat, 8, 1024, 1024, true, true);
  }

  /**
   * §5.6: "broadcastTime ≪ electionTimeout": a heartbeat interval not below the minimum timeout.
   */
  @Test
  void heartbeatNotBelowMinimumElectionTimeoutIsRefused() {
    assertThatThrownBy(() -> config(10, 20, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("minimum election timeout (10 ticks) must exceed the heartbeat")
        .hasMessageContaining("§5.6");
    assertThatThrownBy(() -> config(10, 20, 15)).isInstanceOf(IllegalArgumentException.class);
  }

  /** §5.2: randomized timeouts need a non-empty range [min, max). */
  @Test
  void emptyElectionTimeoutRangeIsRefused() {
    assertThatThrownBy(() -> config(10, 10, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("election timeout range is empty")
        .hasMessageContaining("split votes");
    assertThatThrownBy(() -> config(20, 10, 2)).isInstanceOf(IllegalArgumentException.class);
  }

  /** The node must be a voter (§5.2 majorities); limits must allow progress (§5.3). */
  @Test
  void otherInvalidSettingsAreRefused() {
    assertThatThrownBy(() -> new RaftConfig(4, List.of(1, 2, 3), 10, 20, 2, 8, 1, 1, true, true))
        .hasMessageContaining("not among the voters");
    assertThatThrownBy(() -> config(10, 20, 0)).hasMessageContaining("at least 1 tick");
    assertThatThrownBy(() -> new RaftConfig(1, List.of(1, 2), 10, 20, 2, 0, 1, 1, true, true))
        .hasMessageContaining("maxInflightAppends");
    assertThatThrownBy(() -> new RaftConfig(1, List.of(1, 2), 10, 20, 2, 1, 0, 1, true, true))
        .hasMessageContaining("byte limits");
  }

  /** §5.2: a majority of the voters (voters sorted, duplicates dropped) is the quorum. */
  @Test
  void validConfigsAndDefaults() {
    RaftConfig c = RaftConfig.defaults(2, List.of(3, 1, 2, 2));
    assertThat(c.voters()).containsExactly(1, 2, 3);
    assertThat(c.quorum()).isEqualTo(2);
    assertThat(c.electionTimeoutMinTicks()).isGreaterThan(c.heartbeatTicks());
    assertThat(c.withElectionTimeout(5, 6).electionTimeoutMaxTicks()).isEqualTo(6);
    assertThat(RaftConfig.defaults(1, List.of(1, 2, 3, 4)).quorum()).isEqualTo(3);
    assertThat(RaftConfig.defaults(1, List.of(1)).quorum()).isEqualTo(1);
  }

  /**
   * The smallest settings that still let the protocol progress are accepted: node id 0, one append
   * in flight, one-byte message and apply limits (§5.3: at least one entry always goes out).
   */
  @Test
  void smallestWorkableSettingsAreAccepted() {
    RaftConfig c = new RaftConfig(0, List.of(0, 1, 2), 2, 3, 1, 1, 1, 1, false, false);
    assertThat(c.voters()).containsExactly(0, 1, 2);
    assertThat(c.maxMessageBytes()).isEqualTo(1);
    assertThat(c.maxApplyBytes()).isEqualTo(1);
    assertThat(c.maxInflightAppends()).isEqualTo(1);
  }
}
