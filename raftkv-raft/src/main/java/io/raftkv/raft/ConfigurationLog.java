package io.raftkv.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import java.util.Map;
import java.util.TreeMap;

/**
 * The configurations a log holds (dissertation §4.1): "a server always uses the latest
 * configuration in its log, regardless of whether the entry is committed". So the configuration in
 * effect changes when a configuration entry is appended, and goes back to the previous one when
 * that entry is truncated away (a leader's log overrides an uncommitted change).
 *
 * <p>A base, the configuration as of some index (the bootstrap configuration at 0, what the state
 * machine recorded as of its applied index at a restart, or a snapshot's, §7), plus every
 * configuration entry after it. Not thread-safe: owned by the {@link RaftLog}.
 */
final class ConfigurationLog {
  private long baseIndex;
  private Configuration base;

  /** Configuration entries after {@code baseIndex}, by index. */
  private final TreeMap<Long, Configuration> entries = new TreeMap<>();

  ConfigurationLog(long baseIndex, Configuration base) {
    this.baseIndex = baseIndex;
    this.base = base;
  }

  /** The configuration an entry carries, or null if it is not a configuration entry. */
  static Configuration of(Entry e) {
    if (e.getType() != EntryType.ENTRY_CONFIG) {
      return null;
    }
    try {
      return Configuration.fromConfState(ConfState.parseFrom(e.getData()));
    } catch (InvalidProtocolBufferException ex) {
      throw new IllegalStateException(
          "configuration entry " + e.getIndex() + " cannot be parsed: " + ex.getMessage(), ex);
    }
  }

  /** The configuration in effect: the latest in the log. */
  Configuration current() {
    return entries.isEmpty() ? base : entries.lastEntry().getValue();
  }

  /** The index of the entry that set the current configuration (the base's index if none). */
  long currentIndex() {
    return entries.isEmpty() ? baseIndex : entries.lastKey();
  }

  /**
   * The configuration before the current one took effect (the empty one if this log does not know
   * it any more).
   */
  Configuration previous() {
    long index = currentIndex();
    return index - 1 >= baseIndex ? at(index - 1) : Configuration.EMPTY;
  }

  long baseIndex() {
    return baseIndex;
  }

  /**
   * The configuration as of entry {@code index} (what a snapshot up to it records, §7).
   *
   * @throws IllegalArgumentException the index is before the base, where this log does not know
   */
  Configuration at(long index) {
    if (index < baseIndex) {
      throw new IllegalArgumentException(
          "the configuration as of " + index + " is not known (known from " + baseIndex + ")");
    }
    Map.Entry<Long, Configuration> e = entries.floorEntry(index);
    return e == null ? base : e.getValue();
  }

  /** An entry was appended to the log. */
  void appended(Entry e) {
    Configuration c = of(e);
    if (c != null && e.getIndex() > baseIndex) {
      entries.put(e.getIndex(), c);
    }
  }

  /**
   * The log lost its entries from {@code index} on (a conflicting leader's entries replace them).
   */
  void truncatedFrom(long index) {
    entries.tailMap(index, true).clear();
  }

  /** The log was compacted to {@code index} (§7): what came before is folded into the base. */
  void compactedTo(long index) {
    if (index <= baseIndex) {
      return;
    }
    base = at(index);
    baseIndex = index;
    entries.headMap(index, true).clear();
  }

  /**
   * A snapshot up to {@code index} with configuration {@code conf} was installed (Figure 13): the
   * entries after it, if the log kept them, still count.
   */
  void restored(long index, Configuration conf) {
    entries.headMap(index, true).clear();
    baseIndex = index;
    base = conf;
  }
}
