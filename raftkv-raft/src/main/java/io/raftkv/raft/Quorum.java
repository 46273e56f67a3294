package io.raftkv.raft;

import java.util.Arrays;

/** Majority arithmetic, apart from everything else (§5.2 votes, §5.3 commitment). */
final class Quorum {
  private Quorum() {}

  /**
   * The highest value that a majority of members has reached: with members' match indexes, the
   * highest index stored on a majority.
   */
  static long majorityValue(long[] values) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    // With n members, the value at position n - quorum (ascending) is reached by a quorum.
    int quorum = values.length / 2 + 1;
    return sorted[values.length - quorum];
  }

  /** Whether {@code count} of {@code members} is a majority (§5.2). */
  static boolean isMajority(int count, int members) {
    return count >= members / 2 + 1;
  }

  enum VoteResult {
    WON,
    LOST,
    PENDING
  }

  static VoteResult tally(int granted, int rejected, int members) {
    int quorum = members / 2 + 1;
    if (granted >= quorum) {
      return VoteResult.WON;
    }
    if (rejected > members - quorum) {
      return VoteResult.LOST;
    }
    return VoteResult.PENDING;
  }
}
