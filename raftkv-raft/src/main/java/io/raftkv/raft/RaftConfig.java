package io.raftkv.raft;

import java.util.List;

/**
 * The settings of one node's core. Time is counted in ticks: the driver decides how long a tick is.
 *
 * @param id this node's id
 * @param voters the bootstrap configuration: every member's id, this node's included, when the
 *     cluster is first started; empty for a node that starts outside the cluster and waits to be
 *     added (dissertation §4.2.1). A node that has recorded a configuration (its log, its state
 *     machine) uses that instead
 * @param electionTimeoutMinTicks lower bound of the randomized election timeout (§5.2)
 * @param electionTimeoutMaxTicks upper bound (exclusive) of the randomized election timeout
 * @param heartbeatTicks how often an idle leader sends heartbeats; must be well below the minimum
 *     election timeout (§5.6: broadcastTime &lt;&lt; electionTimeout)
 * @param maxInflightAppends how many AppendEntries a leader pipelines to one follower before
 *     waiting for acknowledgements
 * @param maxMessageBytes the largest total entry size in one AppendEntries (at least one entry is
 *     always sent)
 * @param maxApplyBytes the largest total entry size handed out for applying in one Ready
 * @param preVote run a PreVote round before raising the term (§9.6 of the dissertation)
 * @param checkQuorum a leader that has not heard from a majority for an election timeout steps
 *     down, and followers that heard from a leader within the minimum election timeout ignore
 *     RequestVote (§6 and §9.6 of the dissertation)
 */
public record RaftConfig(
    int id,
    List<Integer> voters,
    int electionTimeoutMinTicks,
    int electionTimeoutMaxTicks,
    int heartbeatTicks,
    int maxInflightAppends,
    long maxMessageBytes,
    long maxApplyBytes,
    boolean preVote,
    boolean checkQuorum) {

  /** The id that means "nobody": no vote cast, no leader known. */
  public static final int NONE = -1;

  public RaftConfig {
    voters = List.copyOf(voters.stream().sorted().distinct().toList());
    if (!voters.isEmpty() && !voters.contains(id)) {
      throw new IllegalArgumentException("node " + id + " is not among the voters " + voters);
    }
    if (voters.stream().anyMatch(v -> v < 0)) {
      throw new IllegalArgumentException("node ids must be >= 0: " + voters);
    }
    if (heartbeatTicks < 1) {
      throw new IllegalArgumentException("heartbeat must be at least 1 tick: " + heartbeatTicks);
    }
    if (electionTimeoutMinTicks <= heartbeatTicks) {
      throw new IllegalArgumentException(
          "the minimum election timeout ("
              + electionTimeoutMinTicks
              + " ticks) must exceed the heartbeat interval ("
              + heartbeatTicks
              + " ticks), or followers start elections under a healthy leader (§5.6)");
    }
    if (electionTimeoutMaxTicks <= electionTimeoutMinTicks) {
      throw new IllegalArgumentException(
          "the election timeout range is empty: max "
              + electionTimeoutMaxTicks
              + " must be above min "
              + electionTimeoutMinTicks
              + " ticks (randomization avoids split votes, §5.2)");
    }
    if (maxInflightAppends < 1) {
      throw new IllegalArgumentException("maxInflightAppends must be >= 1: " + maxInflightAppends);
    }
    if (maxMessageBytes < 1 || maxApplyBytes < 1) {
      throw new IllegalArgumentException("byte limits must be >= 1");
    }
  }

  /**
   * Defaults for a node: election timeout 10–20 ticks, heartbeat every 2 ticks, 256 pipelined
   * appends of up to 1 MiB, PreVote and CheckQuorum on.
   */
  public static RaftConfig defaults(int id, List<Integer> voters) {
    return new RaftConfig(id, voters, 10, 20, 2, 256, 1 << 20, 4 << 20, true, true);
  }

  public RaftConfig withElectionTimeout(int minTicks, int maxTicks) {
    return new RaftConfig(
        id,
        voters,
        minTicks,
        maxTicks,
        heartbeatTicks,
        maxInflightAppends,
        maxMessageBytes,
        maxApplyBytes,
        preVote,
        checkQuorum);
  }

  public RaftConfig withHeartbeat(int ticks) {
    return new RaftConfig(
        id,
        voters,
        electionTimeoutMinTicks,
        electionTimeoutMaxTicks,
        ticks,
        maxInflightAppends,
        maxMessageBytes,
        maxApplyBytes,
        preVote,
        checkQuorum);
  }

  public RaftConfig withReplicationLimits(int inflightAppends, long messageBytes) {
    return new RaftConfig(
        id,
        voters,
        electionTimeoutMinTicks,
        electionTimeoutMaxTicks,
        heartbeatTicks,
        inflightAppends,
        messageBytes,
        maxApplyBytes,
        preVote,
        checkQuorum);
  }

  public RaftConfig withPreVoteAndCheckQuorum(boolean preVote, boolean checkQuorum) {
    return new RaftConfig(
        id,
        voters,
        electionTimeoutMinTicks,
        electionTimeoutMaxTicks,
        heartbeatTicks,
        maxInflightAppends,
        maxMessageBytes,
        maxApplyBytes,
        preVote,
        checkQuorum);
  }

  /** The number of votes (or acknowledgements) that make a majority. */
  public int quorum() {
    return voters.size() / 2 + 1;
  }
}
