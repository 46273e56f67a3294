package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bounds of the membership faults, without a cluster. */
class MembershipFaultsTest {

  @Test
  void growAtTheMostMembersShrinksAndShrinkAtTheFewestGrows() {
    assertThat(MembershipFaults.feasible(FaultType.GROW, MembershipFaults.MAX))
        .isEqualTo(FaultType.SHRINK);
    assertThat(MembershipFaults.feasible(FaultType.SHRINK, MembershipFaults.MIN))
        .isEqualTo(FaultType.GROW);
    for (int size = MembershipFaults.MIN + 1; size < MembershipFaults.MAX; size++) {
      assertThat(MembershipFaults.feasible(FaultType.GROW, size)).isEqualTo(FaultType.GROW);
      assertThat(MembershipFaults.feasible(FaultType.SHRINK, size)).isEqualTo(FaultType.SHRINK);
    }
    assertThat(MembershipFaults.feasible(FaultType.REPLACE_NODE, MembershipFaults.MIN))
        .isEqualTo(FaultType.REPLACE_NODE);
  }

  @Test
  void growAndShrinkStayWithinTheBoundsAndComeBackToFive() {
    Random random = new Random(1);
    for (int i = 0; i < 200; i++) {
      for (int size = MembershipFaults.MIN; size <= MembershipFaults.MAX; size++) {
        int grown = size + MembershipFaults.growBy(size, random);
        int shrunk = size - MembershipFaults.shrinkBy(size, random);
        assertThat(grown).isBetween(size, MembershipFaults.MAX);
        assertThat(shrunk).isBetween(MembershipFaults.MIN, size);
        if (size < MembershipFaults.USUAL) {
          assertThat(grown).isEqualTo(MembershipFaults.USUAL);
        } else if (size > MembershipFaults.USUAL) {
          assertThat(shrunk).isEqualTo(MembershipFaults.USUAL);
        }
        if (size < MembershipFaults.MAX) {
          assertThat(grown).isGreaterThan(size);
        }
        if (size > MembershipFaults.MIN) {
          assertThat(shrunk).isLessThan(size);
        }
      }
    }
  }
}
