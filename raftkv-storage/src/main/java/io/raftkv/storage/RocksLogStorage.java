package io.raftkv.storage;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.raft.LogReader;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.ReadyProcessor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * The Raft log and hard state in a {@link RocksStore}: column family {@value RocksStore#CF_LOG}
 * maps each index (8-byte big-endian) to its entry, column family {@value RocksStore#CF_META} holds
 * the hard state and where the log starts (the snapshot it was compacted to, §7: {@code
 * log_start}).
 *
 * <p>Each {@link #persist} is one atomic {@link WriteBatch} and at most one fsync, so a crash
 * leaves either all of a Ready's entries and hard state or none of them. Group commit is the
 * caller's: hand over everything that accumulated during the previous fsync in one call (one call
 * per Ready).
 *
 * <p>Thread-safety: the methods are synchronized; the intended caller is the one thread that owns
 * the Raft core. The store must stay open while this is used.
 */
public final class RocksLogStorage implements ReadyProcessor.LogStorage, LogReader {
  private final RocksStore store;

  /** The last index in the persisted log; the start's index when it holds no entry. */
  private long lastIndex;

  /** Where the log starts: entries up to start.index were compacted away. */
  private SnapshotMeta start;

  /** Wraps an open store, reading where its log starts and ends. */
  public RocksLogStorage(RocksStore store) {
    this.store = Objects.requireNonNull(store, "store");
    try {
      byte[] raw = store.db().get(store.metaColumn(), RocksStore.META_LOG_START);
      start = raw == null ? SnapshotMeta.getDefaultInstance() : SnapshotMeta.parseFrom(raw);
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot read the log's start in " + store.directory() + ": " + e, e);
    } catch (InvalidProtocolBufferException e) {
      throw corrupt("the log's start record is unreadable", e);
    }
    try (RocksIterator it = store.db().newIterator(store.logColumn())) {
      it.seekToLast();
      lastIndex = it.isValid() ? Math.max(start.getIndex(), indexOf(it.key())) : start.getIndex();
    }
  }

  /** Where the log starts: the snapshot it was compacted to (index 0 if never). */
  public synchronized SnapshotMeta start() {
    return start;
  }

  /**
   * §7: the log now starts after {@code to}. Entries up to its index go; the ones after it stay
   * only if the entry at its index has its term (Figure 13, rules 6–7: a follower installing a
   * snapshot its log contradicts drops the whole log). One atomic batch, not synced (a crash may
   * keep the old entries, which {@link #load(long, long, long)} reconciles with the state machine);
   * the space is reclaimed by a compaction of the log in the background.
   */
  @Override
  public synchronized void compact(SnapshotMeta to) {
    if (to.getIndex() < start.getIndex()) {
      return;
    }
    boolean keepSuffix = termAt(to.getIndex()) == to.getTerm();
    try (WriteBatch batch = new WriteBatch()) {
      batch.deleteRange(store.logColumn(), key(0), key(to.getIndex() + 1));
      if (!keepSuffix && lastIndex > to.getIndex()) {
        batch.deleteRange(store.logColumn(), key(to.getIndex() + 1), key(lastIndex + 1));
      }
      batch.put(store.metaColumn(), RocksStore.META_LOG_START, to.toByteArray());
      store.db().write(store.writeOptions(false), batch);
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot compact the Raft log in " + store.directory() + ": " + e.getMessage(), e);
    }
    start = to;
    if (!keepSuffix) {
      lastIndex = to.getIndex();
    }
    store.compactInBackground(store.logColumn(), key(to.getIndex() + 1));
  }

  /** The persisted term at {@code index}, or -1 if the log does not hold it. */
  private long termAt(long index) {
    if (index == start.getIndex()) {
      return start.getTerm();
    }
    if (index < start.getIndex() || index > lastIndex) {
      return -1;
    }
    try {
      byte[] raw = store.db().get(store.logColumn(), key(index));
      return raw == null ? -1 : Entry.parseFrom(raw).getTerm();
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the Raft log in " + store.directory() + ": " + e, e);
    } catch (InvalidProtocolBufferException e) {
      throw corrupt("the entry at index " + index + " is unreadable", e);
    }
  }

  /**
   * Writes {@code entries} (which replace the persisted log from their first index onward) and
   * {@code hardState} (unless null) in one atomic batch.
   *
   * <p>Durability on return: with {@code sync}, everything written is on stable storage (the WAL is
   * fsync'd), and so is every earlier write; without, it survives a crash of this process but may
   * be lost, whole, by a crash of the machine.
   *
   * <p>A suffix the entries cut off (a follower's conflicting entries, §5.3) is deleted in the same
   * batch. Entries that would leave a gap after the persisted log, or that are not consecutive, are
   * refused before anything is written.
   *
   * @throws IllegalArgumentException the entries are not consecutive or do not attach to the log
   * @throws StorageException the write failed; the node must stop
   */
  @Override
  public synchronized void persist(HardState hardState, List<Entry> entries, boolean sync) {
    if (hardState == null && entries.isEmpty()) {
      return;
    }
    long newLast = lastIndex;
    try (WriteBatch batch = new WriteBatch()) {
      if (!entries.isEmpty()) {
        long first = entries.get(0).getIndex();
        if (first <= start.getIndex() || first > lastIndex + 1) {
          throw new IllegalArgumentException(
              "entries start at index "
                  + first
                  + " but the log holds "
                  + (start.getIndex() + 1)
                  + ".."
                  + lastIndex);
        }
        long expected = first;
        for (Entry e : entries) {
          if (e.getIndex() != expected) {
            throw new IllegalArgumentException(
                "entries are not consecutive: index " + e.getIndex() + " after " + (expected - 1));
          }
          batch.put(store.logColumn(), key(expected), e.toByteArray());
          expected++;
        }
        newLast = expected - 1;
        if (newLast < lastIndex) {
          // The new entries overwrite [first, newLast]; what lay beyond them goes. Only then a
          // range
          // tombstone: one per append would pile up in the memtable and slow every read.
          batch.deleteRange(store.logColumn(), key(newLast + 1), key(lastIndex + 1));
        }
      }
      if (hardState != null) {
        batch.put(store.metaColumn(), RocksStore.META_HARD_STATE, hardState.toByteArray());
      }
      store.db().write(store.writeOptions(sync), batch);
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot write the Raft log in " + store.directory() + ": " + e.getMessage(), e);
    }
    lastIndex = newLast;
  }

  /**
   * Reads back the hard state and the whole log, checking that the log is intact: indexes 1..n with
   * no gap, each entry stored under its own index, terms never decreasing and none above the
   * current term, the commit index within the log.
   *
   * @param appliedIndex how far the state machine has applied (0 when it is rebuilt from the log).
   *     A state machine may be ahead of the persisted commit index (commit-only hard state changes
   *     are written without fsync); applied entries were committed, so the commit index returned is
   *     raised to it.
   * @throws CorruptStorageException the log or hard state is damaged, or {@code appliedIndex} lies
   *     beyond the log
   */
  public synchronized PersistentState load(long appliedIndex) {
    return load(appliedIndex, -1, Long.MAX_VALUE);
  }

  /** {@link #load(long, long, long)} without reconciling (the applied entry's term unknown). */
  public synchronized PersistentState load(long appliedIndex, long keep) {
    return load(appliedIndex, -1, keep);
  }

  /**
   * Like {@link #load(long)}, but returns only the entries after {@code appliedIndex - keep}: the
   * older ones are checked and left on disk (the core reads them back when a follower needs them),
   * so a restart needs memory for the log's tail only.
   *
   * @param appliedTerm the term of the state machine's last applied entry, or -1 if unknown. When
   *     the log does not hold that entry with that term, the state machine was replaced by a
   *     snapshot whose log compaction did not survive a crash: the log is first reconciled with it
   *     by Figure 13's rule ({@link #compact}), as the install would have.
   */
  public synchronized PersistentState load(long appliedIndex, long appliedTerm, long keep) {
    if (appliedIndex < 0) {
      throw new IllegalArgumentException("applied index must not be negative: " + appliedIndex);
    }
    if (appliedTerm >= 0
        && appliedIndex > start.getIndex()
        && termAt(appliedIndex) != appliedTerm) {
      compact(SnapshotMeta.newBuilder().setIndex(appliedIndex).setTerm(appliedTerm).build());
    }
    HardState hardState;
    List<Entry> entries = new ArrayList<>();
    long prevTerm = start.getTerm();
    // Entries up to here are checked but left on disk: applied ones only, at least `keep` kept.
    long leaveOnDisk = Math.max(start.getIndex(), keep >= appliedIndex ? 0 : appliedIndex - keep);
    long offsetTerm = start.getTerm();
    long last = start.getIndex();
    try {
      byte[] hs = store.db().get(store.metaColumn(), RocksStore.META_HARD_STATE);
      hardState = hs == null ? HardState.getDefaultInstance() : HardState.parseFrom(hs);
    } catch (RocksDBException e) {
      throw new StorageException(
          "cannot read the hard state in " + store.directory() + ": " + e, e);
    } catch (InvalidProtocolBufferException e) {
      throw corrupt("the hard state is unreadable (" + e.getMessage() + ")", e);
    }
    try (RocksIterator it = store.db().newIterator(store.logColumn())) {
      long expected = start.getIndex() + 1;
      for (it.seek(key(expected)); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (k.length != 8) {
          throw corrupt("the log has a key of " + k.length + " bytes", null);
        }
        long index = indexOf(k);
        if (index != expected) {
          throw corrupt(
              "the log has index " + index + " where " + expected + " was expected (a gap)", null);
        }
        Entry e;
        try {
          e = Entry.parseFrom(it.value());
        } catch (InvalidProtocolBufferException ex) {
          throw corrupt("the entry at index " + index + " is unreadable", ex);
        }
        if (e.getIndex() != index) {
          throw corrupt("the entry stored at index " + index + " says index " + e.getIndex(), null);
        }
        if (e.getTerm() < prevTerm) {
          throw corrupt(
              "the entry at index " + index + " has term " + e.getTerm() + " after " + prevTerm,
              null);
        }
        prevTerm = e.getTerm();
        if (index <= leaveOnDisk) {
          offsetTerm = e.getTerm();
        } else {
          entries.add(e);
        }
        last = index;
        expected++;
      }
      try {
        it.status();
      } catch (RocksDBException ex) {
        throw new StorageException(
            "cannot read the Raft log in " + store.directory() + ": " + ex, ex);
      }
    }

    if (prevTerm > hardState.getCurrentTerm()) {
      throw corrupt(
          "the log's last term "
              + prevTerm
              + " is above the current term "
              + hardState.getCurrentTerm(),
          null);
    }
    if (hardState.getCommit() > last) {
      throw corrupt(
          "the commit index " + hardState.getCommit() + " is beyond the last entry " + last, null);
    }
    if (appliedIndex > last) {
      throw corrupt(
          "the state machine has applied index " + appliedIndex + " but the log ends at " + last,
          null);
    }
    if (appliedIndex > hardState.getCommit()) {
      hardState = hardState.toBuilder().setCommit(appliedIndex).build();
    }
    if (appliedIndex < start.getIndex()) {
      throw corrupt(
          "the state machine has applied index "
              + appliedIndex
              + " but the log was compacted to "
              + start.getIndex(),
          null);
    }
    if (hardState.getCommit() < start.getIndex()) {
      hardState = hardState.toBuilder().setCommit(start.getIndex()).build();
    }
    lastIndex = last;
    return new PersistentState(hardState, entries, appliedIndex, leaveOnDisk, offsetTerm, start);
  }

  /**
   * The persisted entries {@code from}..{@code to} (inclusive), for a core that released them from
   * memory.
   *
   * @throws CorruptStorageException an entry in the range is missing or unreadable
   */
  @Override
  public synchronized List<Entry> read(long from, long to) {
    List<Entry> out = new ArrayList<>((int) Math.max(0, to - from + 1));
    try (RocksIterator it = store.db().newIterator(store.logColumn())) {
      it.seek(key(from));
      for (long index = from; index <= to; index++, it.next()) {
        if (!it.isValid() || indexOf(it.key()) != index) {
          it.status();
          throw corrupt(
              "the log has no entry at index " + index + " (asked for " + from + ".." + to + ")",
              null);
        }
        out.add(Entry.parseFrom(it.value()));
      }
    } catch (RocksDBException e) {
      throw new StorageException("cannot read the Raft log in " + store.directory() + ": " + e, e);
    } catch (InvalidProtocolBufferException e) {
      throw corrupt("an entry in " + from + ".." + to + " is unreadable", e);
    }
    return out;
  }

  /** The last index in the persisted log (as of the last persist or load), 0 when empty. */
  public synchronized long lastIndex() {
    return lastIndex;
  }

  private CorruptStorageException corrupt(String what, Throwable cause) {
    return new CorruptStorageException(
        "data directory " + store.directory() + " is corrupt: " + what, cause);
  }

  /** The log's key for {@code index}: 8 bytes, big-endian, so byte order is index order. */
  static byte[] key(long index) {
    byte[] k = new byte[8];
    for (int i = 7; i >= 0; i--) {
      k[i] = (byte) index;
      index >>>= 8;
    }
    return k;
  }

  /** The inverse of {@link #key}. */
  static long indexOf(byte[] key) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (key[i] & 0xff);
    }
    return v;
  }
}
