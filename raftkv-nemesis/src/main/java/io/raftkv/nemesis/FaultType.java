package io.raftkv.nemesis;

/** The faults the nemesis injects, one at a time. */
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
  /** Split into a majority of 3 and a minority of 2 (random sides). */
  MAJORITY_MINORITY("majority-minority"),
  /** Non-transitive ring: each node reaches only its two ring neighbours. */
  RING("ring"),
  /** Delay on the leader's link to one follower. */
  SLOW_FOLLOWER("slow-follower"),
  /** Delay on the leader's links to 3 of its 4 peers: every commit waits for a slow link. */
  SLOW_MAJORITY("slow-majority");

  private final String label;

  FaultType(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }
}
