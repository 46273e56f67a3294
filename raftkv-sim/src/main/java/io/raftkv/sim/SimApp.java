package io.raftkv.sim;

import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.Entry;
import java.util.List;

/**
 * What runs above the node runtime on every simulated node: its state machine, and whatever serves
 * clients on top of it (the KV service). Each new instance of a node (at start and after every
 * crash) gets a fresh state machine, restored from the node's last snapshot if it has one (§7),
 * which then re-applies the log after it.
 *
 * <p>Thread-safety: none; called on the simulation thread.
 */
public interface SimApp {

  /**
   * A state machine for a new instance of node {@code node}, holding {@code image} (from {@link
   * #capture}; null: empty, at index 0). Only its {@code apply} is used: the simulated node takes
   * and installs snapshots through {@link #capture} and {@link #restore}.
   */
  NodeRuntime.StateMachine<?> newStateMachine(int node, Object image);

  /** A point-in-time copy of node {@code node}'s state machine (for a snapshot). */
  default Object capture(int node) {
    return null;
  }

  /** Replaces node {@code node}'s state machine state with {@code image}, in place. */
  default void restore(int node, Object image) {}

  /** Node {@code node}'s new instance is up, with this runtime. */
  default void started(int node, NodeRuntime<?> runtime) {}

  /** The runtime's request timeout, given the longest election timeout. */
  default long requestTimeoutMillis(long maxElectionMillis) {
    return 10 * maxElectionMillis;
  }

  /**
   * The core alone: applying an entry yields the entry (the cluster records what was applied, and a
   * snapshot's entries are its whole state).
   */
  SimApp ENTRIES =
      (node, image) -> (NodeRuntime.StateMachine<Entry>) (List<Entry> entries) -> entries;
}
