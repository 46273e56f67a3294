package io.raftkv.sim;

import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.Entry;
import java.util.List;

/**
 * What runs above the node runtime on every simulated node: its state machine, and whatever serves
 * clients on top of it (the KV service). Each new instance of a node (at start and after every
 * crash) gets a fresh state machine, which re-applies the log from index 1.
 *
 * <p>Thread-safety: none; called on the simulation thread.
 */
public interface SimApp {

  /** A fresh state machine for a new instance of node {@code node}. */
  NodeRuntime.StateMachine<?> newStateMachine(int node);

  /** Node {@code node}'s new instance is up, with this runtime. */
  default void started(int node, NodeRuntime<?> runtime) {}

  /** The runtime's request timeout, given the longest election timeout. */
  default long requestTimeoutMillis(long maxElectionMillis) {
    return 10 * maxElectionMillis;
  }

  /** The core alone: applying an entry yields the entry (the cluster records what was applied). */
  SimApp ENTRIES = node -> (NodeRuntime.StateMachine<Entry>) (List<Entry> entries) -> entries;
}
