package io.raftkv.nemesis;

/**
 * The faults the nemesis injects, one at a time. Each picks its nodes among the members of the
 * moment, 3 to 7 of them once grow and shrink have run ({@link MembershipFaults}).
 */
enum FaultType {
  /** kill -9 the leader, restart it after the hold. */
  KILL_LEADER("kill-leader"),
  /** kill -9 a random node, restart it after the hold. */
  KILL_RANDOM("kill-random"),
  /** SIGSTOP the leader, SIGCONT after the hold. */
  PAUSE_LEADER("pause-leader"),
  /** SIGSTOP a random node, SIGCONT after the hold. */
  PAUSE_RANDOM("pause-random"),
  /** Cut the leader off from every peer (Chaos on every node). */
  ISOLATE_LEADER("isolate-leader"),
  /** Split into a majority and a minority of (n-1)/2 members (random sides). */
  MAJORITY_MINORITY("majority-minority"),
  /**
   * Non-transitive ring: each node reaches only its two ring neighbours (with 3 members, that is
   * everyone: no fault).
   */
  RING("ring"),
  /** Delay on the leader's link to one follower. */
  SLOW_FOLLOWER("slow-follower"),
  /**
   * Delay on the leader's links to ceil(n/2) of its n-1 peers (3 of 4): too few fast followers are
   * left for a majority, so every commit waits for a slow link.
   */
  SLOW_MAJORITY("slow-majority"),
  /**
   * Stop a follower (kill -9, or SIGSTOP then kill -9) until the leader has compacted its log past
   * the follower's last entry, then restart (or SIGCONT) it: it must catch up through a snapshot.
   */
  STOP_FOLLOWER_PAST_COMPACTION("stop-follower-past-compaction", true),
  /**
   * Make a follower need a snapshot (as above), and kill -9 the leader while it streams the
   * snapshot to it; restart it after the hold.
   */
  KILL_SNAPSHOT_SENDER("kill-snapshot-sender", true),
  /**
   * Make a follower need a snapshot (as above), and kill -9 it while it receives the snapshot;
   * restart it after the hold.
   */
  KILL_SNAPSHOT_RECEIVER("kill-snapshot-receiver", true),
  /**
   * Replace a random node (the leader one time in three) by a new machine: kill -9 it, start a new
   * member with a new id ({@code svr --join}), and swap them through the leader (learner, catch-up,
   * one joint change; dissertation chapter 4). The old node never comes back.
   */
  REPLACE_NODE("replace-node"),
  /**
   * Add one or two new machines as voters ({@code svr --join}, then learner, catch-up and promotion
   * through the leader, as {@code clt member add} does), up to 7 members; see {@link
   * MembershipFaults} for how many.
   */
  GROW("grow"),
  /**
   * Remove one or two members (each a random one, or the leader one time in three) through the
   * leader, then stop their processes, down to 3 members; see {@link MembershipFaults}.
   */
  SHRINK("shrink");

  private final String label;
  private final boolean needsCompaction;

  FaultType(String label) {
    this(label, false);
  }

  FaultType(String label, boolean needsCompaction) {
    this.label = label;
    this.needsCompaction = needsCompaction;
  }

  /** Whether the fault needs the nodes to compact their logs (snapshots on). */
  boolean needsCompaction() {
    return needsCompaction;
  }

  String label() {
    return label;
  }
}
