package io.raftkv.sim;

import io.raftkv.node.Compaction;
import io.raftkv.raft.RaftConfig;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The shape of a simulated cluster: how many nodes, how long a tick is, and the core settings every
 * node shares. The template's id and voters are ignored: node {@code i} gets id {@code i} and the
 * voters are always {@code 0..nodes-1}.
 *
 * @param nodes how many nodes the simulation holds (ids 0..nodes-1)
 * @param tickMillis simulated milliseconds between two ticks of one node
 * @param raftTemplate election and heartbeat timeouts (in ticks), PreVote, CheckQuorum, limits
 * @param compaction when nodes snapshot and compact their logs (§7)
 * @param initialVoters how many of them (ids 0..initialVoters-1) form the cluster's first
 *     configuration; the others start empty, outside it, and wait to be added (chapter 4)
 */
public record SimConfig(
    int nodes, long tickMillis, RaftConfig raftTemplate, Compaction compaction, int initialVoters) {

  /** Every node a voter from the start. */
  public SimConfig(int nodes, long tickMillis, RaftConfig raftTemplate, Compaction compaction) {
    this(nodes, tickMillis, raftTemplate, compaction, nodes);
  }

  /** Without log compaction. */
  public SimConfig(int nodes, long tickMillis, RaftConfig raftTemplate) {
    this(nodes, tickMillis, raftTemplate, Compaction.OFF);
  }

  public SimConfig withCompaction(Compaction compaction) {
    return new SimConfig(nodes, tickMillis, raftTemplate, compaction, initialVoters);
  }

  /** The first {@code voters} nodes form the cluster; the others are spares, outside it. */
  public SimConfig withInitialVoters(int voters) {
    return new SimConfig(nodes, tickMillis, raftTemplate, compaction, voters);
  }

  public SimConfig {
    if (nodes < 1) {
      throw new IllegalArgumentException("a cluster needs at least one node: " + nodes);
    }
    if (initialVoters < 1 || initialVoters > nodes) {
      throw new IllegalArgumentException(
          "the first configuration needs 1.." + nodes + " voters, not " + initialVoters);
    }
    if (tickMillis < 1) {
      throw new IllegalArgumentException("a tick lasts at least 1 ms: " + tickMillis);
    }
  }

  /** {@code nodes} nodes, 10 ms ticks and the core's defaults. */
  public static SimConfig defaults(int nodes) {
    return new SimConfig(nodes, 10, RaftConfig.defaults(0, voters(nodes)));
  }

  /** The core configuration of node {@code id}: a spare's bootstrap configuration is empty. */
  public RaftConfig raftConfig(int id) {
    return raftConfig(id, id < initialVoters ? voters(initialVoters) : List.of());
  }

  /** The core configuration of node {@code id} starting with {@code bootstrapVoters}. */
  public RaftConfig raftConfig(int id, List<Integer> bootstrapVoters) {
    RaftConfig t = raftTemplate;
    return new RaftConfig(
        id,
        bootstrapVoters,
        t.electionTimeoutMinTicks(),
        t.electionTimeoutMaxTicks(),
        t.heartbeatTicks(),
        t.maxInflightAppends(),
        t.maxMessageBytes(),
        t.maxApplyBytes(),
        t.preVote(),
        t.checkQuorum());
  }

  /** The longest election timeout in simulated milliseconds. */
  public long maxElectionMillis() {
    return raftTemplate.electionTimeoutMaxTicks() * tickMillis;
  }

  public static List<Integer> voters(int nodes) {
    return IntStream.range(0, nodes).boxed().toList();
  }
}
