package io.raftkv.sim;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import java.util.ArrayList;
import java.util.List;

/**
 * Liveness after a heal (§5.2, §5.3): once every node is up and connected on a reliable network, a
 * leader must appear within {@link #leaderBoundMillis} and a command offered to it must be
 * committed and applied on every node within {@link #commitBoundMillis}. Bounds are generous
 * multiples of the election timeout: messages held back before the heal may still arrive and cause
 * one more election.
 */
public final class LivenessCheck {
  private LivenessCheck() {}

  /**
   * The longest a message sent before the heal may still be in flight (long reordering). Until it
   * lands, an old leader's held-back heartbeat can renew a follower's belief in it, and with
   * CheckQuorum that follower ignores candidates: elections may legitimately stall that long.
   */
  public static final long MAX_IN_FLIGHT_MILLIS = SimNetwork.MAX_DELAY_MILLIS;

  /** 10 × the maximum election timeout, after the last pre-heal message has landed. */
  public static long leaderBoundMillis(SimConfig config) {
    return MAX_IN_FLIGHT_MILLIS + 10 * config.maxElectionMillis();
  }

  /** 20 × the maximum election timeout, counted from when a leader exists. */
  public static long commitBoundMillis(SimConfig config) {
    return 20 * config.maxElectionMillis();
  }

  /**
   * Runs the check on a healed cluster (the caller heals it first).
   *
   * @param label names the healed period in the violation's detail
   * @return the violations found (empty when live)
   */
  public static List<Violation> afterHeal(SimCluster cluster, String label) {
    List<Violation> out = new ArrayList<>();
    long healedAt = cluster.now();
    long leaderBound = leaderBoundMillis(cluster.config());
    if (!cluster.runUntil(() -> cluster.currentLeader() >= 0, leaderBound)) {
      out.add(
          new Violation(
              "Liveness (leader)",
              "no leader "
                  + leaderBound
                  + " ms after the heal at "
                  + healedAt
                  + " ms ("
                  + label
                  + ")",
              cluster.now()));
      return out;
    }
    long bound = commitBoundMillis(cluster.config());
    long deadline = cluster.now() + bound;
    List<Long> indexes = new ArrayList<>();
    List<ByteString> commands = new ArrayList<>();
    long proposedInTerm = -1;
    while (cluster.now() < deadline) {
      if (appliedEverywhere(cluster, indexes, commands)) {
        return out;
      }
      int leader = cluster.currentLeader();
      long leaderTerm = leader >= 0 ? cluster.raft(leader).term() : -1;
      if (leader < 0 || leaderTerm == proposedInTerm) {
        // Wait for the offered command, or for a new leader to offer it again.
        long before = cluster.now();
        cluster.runUntil(
            () ->
                appliedEverywhere(cluster, indexes, commands)
                    || leaderTermChanged(cluster, leaderTerm),
            deadline - cluster.now());
        if (cluster.now() == before) {
          cluster.runFor(1);
        }
        continue;
      }
      ByteString command =
          ByteString.copyFromUtf8("liveness " + label + " " + healedAt + " #" + commands.size());
      long index = cluster.propose(leader, command);
      if (index > 0) {
        indexes.add(index);
        commands.add(command);
        proposedInTerm = leaderTerm;
      } else {
        // Refused (e.g. a leadership transfer is under way): try again a tick later.
        cluster.runFor(cluster.config().tickMillis());
      }
    }
    if (!appliedEverywhere(cluster, indexes, commands)) {
      out.add(
          new Violation(
              "Liveness (commit)",
              "a command offered after the heal at "
                  + healedAt
                  + " ms ("
                  + label
                  + ") was not applied on every node within "
                  + bound
                  + " ms of a leader appearing (offered at indexes "
                  + indexes
                  + ")",
              cluster.now()));
    }
    return out;
  }

  private static boolean leaderTermChanged(SimCluster cluster, long term) {
    int l = cluster.currentLeader();
    return (l >= 0 ? cluster.raft(l).term() : -1) != term;
  }

  private static boolean appliedEverywhere(
      SimCluster cluster, List<Long> indexes, List<ByteString> commands) {
    for (int k = 0; k < indexes.size(); k++) {
      if (appliedEverywhere(cluster, indexes.get(k), commands.get(k))) {
        return true;
      }
    }
    return false;
  }

  private static boolean appliedEverywhere(SimCluster cluster, long index, ByteString command) {
    for (int i : cluster.members()) {
      List<Entry> applied = cluster.applied(i);
      if (applied.size() < index || !applied.get((int) index - 1).getData().equals(command)) {
        return false;
      }
    }
    return true;
  }
}
