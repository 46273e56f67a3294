package io.raftkv.nemesis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;

/**
 * The membership faults (dissertation chapter 4), replace-node, grow and shrink: which members to
 * replace or remove and how many to add or remove, so that the cluster stays between {@link #MIN}
 * and {@link #MAX} voters and keeps coming back to {@link #USUAL}; the changes themselves are
 * {@link Cluster#replace}, {@link Cluster#add} and {@link Cluster#remove}.
 *
 * <p>From below {@code USUAL}, grow goes back to it; from {@code USUAL} or above, it adds one or
 * two (at most up to {@code MAX}); shrink is the mirror image. So every size from 3 to 7 comes up,
 * and the other faults run on clusters of every such size, but the cluster never drifts: the next
 * change the other way brings it back to 5. A grow drawn at {@code MAX} runs as a shrink, a shrink
 * at {@code MIN} as a grow.
 */
final class MembershipFaults {
  /** The fewest voters: below 3, one failure stops the cluster, and no fault could be survived. */
  static final int MIN = 3;

  /** The most voters. */
  static final int MAX = 7;

  /** The size the cluster starts with and comes back to. */
  static final int USUAL = 5;

  private final Random random;
  private final Duration limit;

  /**
   * @param random the schedule's seeded randomness
   * @param limit how long one membership change may take, catching up included
   */
  MembershipFaults(Random random, Duration limit) {
    this.random = random;
    this.limit = limit;
  }

  /** The membership fault to run for {@code type} drawn with {@code size} members. */
  static FaultType feasible(FaultType type, int size) {
    if (type == FaultType.GROW && size >= MAX) {
      return FaultType.SHRINK;
    }
    if (type == FaultType.SHRINK && size <= MIN) {
      return FaultType.GROW;
    }
    return type;
  }

  /** How many members a grow adds to {@code size}: back to USUAL, else one or two, up to MAX. */
  static int growBy(int size, Random random) {
    return Math.max(0, Math.min(size < USUAL ? USUAL - size : 1 + random.nextInt(2), MAX - size));
  }

  /**
   * How many members a shrink removes from {@code size}: back to USUAL, else one or two, to MIN.
   */
  static int shrinkBy(int size, Random random) {
    return Math.max(0, Math.min(size > USUAL ? size - USUAL : 1 + random.nextInt(2), size - MIN));
  }

  /** Replaces a random member, or one time in three the leader, by a new machine. */
  String replace(Cluster cluster, IntSupplier leader) {
    Victim v = victim(cluster, leader);
    return v.prefix() + cluster.replace(v.position(), limit);
  }

  /** Adds new members one at a time (one configuration change at a time, §4.1). */
  String grow(Cluster cluster) {
    int size = cluster.size();
    int n = growBy(size, random);
    List<String> what = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      int before = cluster.size();
      what.add(cluster.add(limit));
      if (cluster.size() == before) {
        break;
      }
    }
    return "grow " + size + " -> " + cluster.size() + " members: " + String.join("; ", what);
  }

  /** Removes members one at a time, each a random one or, one time in three, the leader. */
  String shrink(Cluster cluster, IntSupplier leader) {
    int size = cluster.size();
    int n = shrinkBy(size, random);
    List<String> what = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      int before = cluster.size();
      Victim v = victim(cluster, leader);
      what.add(v.prefix() + cluster.remove(v.position(), limit));
      if (cluster.size() == before) {
        break;
      }
    }
    return "shrink " + size + " -> " + cluster.size() + " members: " + String.join("; ", what);
  }

  /** A member picked for a change, and whether it was picked as the leader. */
  private record Victim(int position, boolean leader) {
    /** What a change's line starts with (the change itself names the member). */
    String prefix() {
      return leader ? "the leader, " : "";
    }
  }

  /**
   * A random member or, one time in three, the leader ({@code leader} gives its position, -1 if
   * there is none): removing or replacing the leader also makes it step down (§4.2.2), which a
   * random pick would seldom do.
   */
  private Victim victim(Cluster cluster, IntSupplier leader) {
    if (random.nextInt(3) == 0) {
      int l = leader.getAsInt();
      if (l >= 0) {
        return new Victim(l, true);
      }
    }
    return new Victim(random.nextInt(cluster.size()), false);
  }
}
