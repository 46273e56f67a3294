package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.Role;
import java.util.List;

/**
 * The trace a {@link SimCluster} emits after every state change of a node, in the order the changes
 * happen. The safety checkers are observers: they see every step, so a violation is reported at the
 * simulated millisecond it happens, not at the end of a run.
 *
 * <p>Callbacks run on the simulation thread, synchronously; an observer must not call back into the
 * cluster. Every method has a default that ignores the event.
 */
public interface ClusterObserver {

  /** Node {@code node} now has {@code role} in {@code term} (emitted when either changes). */
  default void roleChanged(long time, int node, Role role, long term) {}

  /**
   * Node {@code node} wrote {@code entries} to its log: they replace the log from {@code
   * entries.get(0).getIndex()} onward.
   */
  default void entriesPersisted(long time, int node, List<Entry> entries) {}

  /** Node {@code node}'s commit index changed (as written to its hard state). */
  default void commitChanged(long time, int node, long commitIndex) {}

  /** The state machine of the current instance of {@code node} applied {@code entry}. */
  default void entryApplied(long time, int node, Entry entry) {}

  /**
   * Node {@code node}'s state machine was loaded from a snapshot up to {@code snapshotIndex} (§7):
   * one installed from its leader, or its own at a restart (right after {@link #restarted}). Its
   * log is now {@code log}, from index 1: the snapshot's entries, then the suffix after them.
   */
  default void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {}

  /** Node {@code node} crashed: its instance is gone, unsynced writes are lost. */
  default void crashed(long time, int node) {}

  /**
   * Node {@code node} stopped itself (right after {@link #crashed}): it found that it lost data it
   * had acknowledged, and {@code reason} is its one-line message.
   */
  default void stoppedOnDataLoss(long time, int node, String reason) {}

  /**
   * Node {@code node} restarted from its durable state: this log (from index 1: a snapshot's
   * entries, then the log after it) and hard state; its state machine starts from its snapshot (or
   * empty) and re-applies the rest.
   */
  default void restarted(long time, int node, List<Entry> log, HardState hardState) {}

  /**
   * Node {@code node} declared read {@code context} safe at {@code index}; when the read was
   * requested the highest commit index of any node was {@code maxCommitAtRequest}.
   */
  default void readStateEmitted(
      long time, int node, long context, long index, long maxCommitAtRequest) {}
}
