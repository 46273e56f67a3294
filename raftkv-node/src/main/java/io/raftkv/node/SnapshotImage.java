package io.raftkv.node;

import io.raftkv.proto.raft.SnapshotMeta;

/**
 * A state machine's point-in-time image (§7): what a leader sends a follower behind its compacted
 * log, and what a follower stages while the bytes arrive. The state machine makes and installs its
 * own kind ({@link NodeRuntime.StateMachine#openSnapshot}, {@link
 * NodeRuntime.StateMachine#installSnapshot}); the runtime only passes images along.
 *
 * <p>An image may hold resources (a RocksDB snapshot, a staged directory): whoever holds it last
 * closes it.
 */
public interface SnapshotImage extends AutoCloseable {
  /**
   * The entries this image replaces: up to {@code meta.index}, the last of term {@code meta.term}.
   */
  SnapshotMeta meta();

  /** Releases what the image holds; idempotent. */
  @Override
  default void close() {}
}
