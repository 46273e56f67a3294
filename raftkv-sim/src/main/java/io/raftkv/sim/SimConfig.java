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
 * @param nodes the cluster size (ids 0..nodes-1)
 * @param tickMillis simulated milliseconds between two ticks of one node
 * @param raftTemplate election and heartbeat timeouts (in ticks), PreVote, CheckQuorum, limits
 * @param compaction when nodes snapshot and compact their logs (§7)
 */
public record SimConfig(
    int nodes, long tickMillis, RaftConfig raftTemplate, Compaction compaction) {

  /** Without log compaction. */
  public SimConfig(int nodes, long tickMillis, RaftConfig raftTemplate) {
    this(nodes, tickMillis, raftTemplate, Compaction.OFF);
  }

  public SimConfig withCompaction(Compaction compaction) {
    return new SimConfig(nodes, tickMillis, raftTemplate, compaction);
  }

  public SimConfig {
    if (nodes < 1) {
      throw new IllegalArgumentException("a cluster needs at least one node: " + nodes);
    }
    if (tickMillis < 1) {
      throw new IllegalArgumentException("a tick lasts at least 1 ms: " + tickMillis);
    }
  }

  /** {@code nodes} nodes, 10 ms ticks and the core's defaults. */
  public static SimConfig defaults(int nodes) {
    return new SimConfig(nodes, 10, RaftConfig.defaults(0, voters(nodes)));
  }

  /** The core configuration of node {@code id}. */
  public RaftConfig raftConfig(int id) {
    RaftConfig t = raftTemplate;
    return new RaftConfig(
        id,
        voters(nodes),
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

  static List<Integer> voters(int nodes) {
    return IntStream.range(0, nodes).boxed().toList();
  }
}
