package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import java.util.List;

/**
 * Reads back entries the node persisted. The core keeps only the log's tail in memory (the entries
 * not yet applied or durable, and a few before them); an older entry, needed to catch up a lagging
 * follower, is read through here. Like {@link ReadyProcessor.LogStorage} it is injected, so the
 * core itself does no I/O.
 */
public interface LogReader {
  /**
   * The persisted entries {@code from} to {@code to}, inclusive, in index order. Only asked for
   * entries that are durable, committed and applied, so they are never truncated.
   */
  List<Entry> read(long from, long to);
}
