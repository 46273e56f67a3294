package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One node's log: the entries, how far they are durable, committed and applied. Indexes start at 1
 * as in the paper; index 0 is the empty prefix, whose term is 0.
 *
 * <p>The log may start after a snapshot (§7): entries up to {@link #snapshotIndex()} are gone,
 * compacted into the state machine's snapshot; only that last entry's term is kept. Memory holds
 * the entries after {@link #offset()}; those from the snapshot to the offset were released by
 * {@link #releaseTo} once durable and applied, and are read back through the {@link LogReader} when
 * a lagging follower needs them. Without a reader nothing is ever released (but a log may still be
 * compacted).
 *
 * <p>Invariants: {@code snapshotIndex <= offset <= min(applied, stable)}, {@code applied <=
 * committed <= lastIndex()}, {@code stable <= lastIndex()}, and a committed entry is never
 * truncated (that would break State Machine Safety, §5.4.3).
 *
 * <p>Not thread-safe: owned by the {@link Raft} that holds it.
 */
final class RaftLog {
  /** Entries offset+1 .. lastIndex(). */
  private final ArrayList<Entry> entries = new ArrayList<>();

  private final LogReader reader;

  /** The configurations in this log (dissertation §4.1: the latest one is in effect). */
  private final ConfigurationLog configs;

  /** The last compacted entry (§7): nothing at or below it can be read, only its term is known. */
  private long snapshotIndex;

  private long snapshotTerm;

  private long offset;
  private long offsetTerm;
  private long stable;
  private long committed;
  private long applied;

  /** Restores a log from what was persisted; everything restored is durable already. */
  RaftLog(List<Entry> persisted, long committed, long applied) {
    this(persisted, committed, applied, null, 0, 0);
  }

  /** A log never compacted, its first {@code offset} entries left on disk. */
  RaftLog(
      List<Entry> persisted,
      long committed,
      long applied,
      LogReader reader,
      long offset,
      long offsetTerm) {
    this(
        persisted,
        committed,
        applied,
        reader,
        offset,
        offsetTerm,
        SnapshotMeta.getDefaultInstance(),
        new ConfigurationLog(offset, Configuration.EMPTY));
  }

  /**
   * @param persisted the entries after {@code offset}
   * @param reader reads released entries back; null keeps the whole log in memory
   * @param offset entries up to here stay on disk (they are applied); 0 without a reader
   * @param offsetTerm the term of the entry at {@code offset}
   * @param snapshot where the log starts (index 0 if it was never compacted)
   * @param configs the configurations up to the persisted entries; those the entries carry are
   *     added here
   */
  RaftLog(
      List<Entry> persisted,
      long committed,
      long applied,
      LogReader reader,
      long offset,
      long offsetTerm,
      SnapshotMeta snapshot,
      ConfigurationLog configs) {
    this.reader = reader;
    this.configs = configs;
    if (offset > snapshot.getIndex() && reader == null) {
      throw new IllegalArgumentException(
          "a log loaded from index " + (offset + 1) + " needs a reader for the entries before it");
    }
    if (offset > applied || offset < snapshot.getIndex()) {
      throw new IllegalArgumentException(
          "a log loaded from index "
              + (offset + 1)
              + " must start after its snapshot ("
              + snapshot.getIndex()
              + ") and no later than the applied entries ("
              + applied
              + ")");
    }
    this.snapshotIndex = snapshot.getIndex();
    this.snapshotTerm = snapshot.getTerm();
    this.offset = offset;
    this.offsetTerm = offset == snapshotIndex ? snapshotTerm : offsetTerm;
    long expected = offset + 1;
    for (Entry e : persisted) {
      if (e.getIndex() != expected) {
        throw new IllegalArgumentException(
            "persisted log has index " + e.getIndex() + " where " + expected + " was expected");
      }
      expected++;
    }
    entries.addAll(persisted);
    persisted.forEach(configs::appended);
    this.stable = lastIndex();
    if (committed > lastIndex()) {
      throw new IllegalArgumentException(
          "persisted commit index " + committed + " is beyond the last entry " + lastIndex());
    }
    if (applied > committed) {
      throw new IllegalArgumentException(
          "applied index " + applied + " is beyond the commit index " + committed);
    }
    this.committed = committed;
    this.applied = applied;
  }

  long lastIndex() {
    return offset + entries.size();
  }

  /** The configuration in effect: the latest in the log, committed or not (§4.1). */
  Configuration configuration() {
    return configs.current();
  }

  /** The configuration before {@link #configuration()} took effect (empty if not known). */
  Configuration previousConfiguration() {
    return configs.previous();
  }

  /** The index of the entry that set {@link #configuration()} (or where it is known from). */
  long configurationIndex() {
    return configs.currentIndex();
  }

  /** The configuration as of entry {@code index}, for a snapshot up to it (§7). */
  Configuration configurationAt(long index) {
    return configs.at(index);
  }

  /** The last index released from memory (0 if none). */
  long offset() {
    return offset;
  }

  /** The last entry compacted into a snapshot (§7), 0 if none: the log starts after it. */
  long snapshotIndex() {
    return snapshotIndex;
  }

  long snapshotTerm() {
    return snapshotTerm;
  }

  long lastTerm() {
    return term(lastIndex());
  }

  long committed() {
    return committed;
  }

  long applied() {
    return applied;
  }

  long stable() {
    return stable;
  }

  /**
   * The term of the entry at {@code index}; 0 for index 0; -1 when the log does not hold it (beyond
   * its end, or compacted before its snapshot: no real term is negative, so neither matches one).
   */
  long term(long index) {
    if (index == 0) {
      return 0;
    }
    if (index == snapshotIndex) {
      return snapshotTerm;
    }
    if (index < snapshotIndex || index > lastIndex()) {
      return -1;
    }
    if (index == offset) {
      return offsetTerm;
    }
    return entry(index).getTerm();
  }

  Entry entry(long index) {
    if (index <= offset) {
      return reader.read(index, index).get(0);
    }
    return entries.get((int) (index - offset - 1));
  }

  boolean matchTerm(long index, long term) {
    return term(index) == term;
  }

  /**
   * §5.4.1: a candidate's log is at least as up-to-date as ours if its last term is higher, or the
   * same with a last index at least as high.
   */
  boolean isUpToDate(long lastIndex, long lastTerm) {
    return lastTerm > lastTerm() || (lastTerm == lastTerm() && lastIndex >= lastIndex());
  }

  /**
   * The first index holding {@code term} going back from {@code from} (accelerated backoff), but
   * not below the released prefix: those entries are committed, so they match the leader's, and
   * stopping there is a correct hint that saves reading back a long term from disk.
   */
  long firstIndexOfTerm(long term, long from) {
    long i = Math.min(from, lastIndex());
    while (i > Math.max(1, offset + 1) && term(i - 1) == term) {
      i--;
    }
    return i;
  }

  /**
   * The last index at or below {@code from} whose term is {@code term}, or 0 if there is none in
   * memory (a hint: the caller then falls back to the follower's own).
   */
  long lastIndexOfTerm(long term, long from) {
    for (long i = Math.min(from, lastIndex()); i > offset; i--) {
      long t = term(i);
      if (t == term) {
        return i;
      }
      if (t < term) {
        return 0;
      }
    }
    return 0;
  }

  /** A leader appends its own new entry. */
  void append(Entry e) {
    if (e.getIndex() != lastIndex() + 1) {
      throw new IllegalStateException("append at " + e.getIndex() + " after " + lastIndex());
    }
    entries.add(e);
    configs.appended(e);
  }

  /**
   * Figure 2, AppendEntries receiver rules 2–5: if the log matches at (prevIndex, prevTerm), delete
   * entries that conflict with new ones, append those not already there, and advance the commit
   * index to min(leaderCommit, index of last new entry).
   *
   * @return the index of the last entry now known to match the leader's, or -1 on a mismatch
   */
  long maybeAppend(long prevIndex, long prevTerm, long leaderCommit, List<Entry> newEntries) {
    if (prevIndex < snapshotIndex) {
      // The leader does not know we installed a snapshot past this point. Everything up to the
      // snapshot is committed, so the leader's entries there equal ours (Leader Completeness,
      // §5.4): skip them and match at the snapshot.
      int skip = (int) Math.min(newEntries.size(), snapshotIndex - prevIndex);
      long lastNew = prevIndex + newEntries.size();
      if (lastNew <= snapshotIndex) {
        commitTo(Math.min(leaderCommit, snapshotIndex));
        return snapshotIndex;
      }
      return maybeAppend(
          snapshotIndex, snapshotTerm, leaderCommit, newEntries.subList(skip, newEntries.size()));
    }
    if (!matchTerm(prevIndex, prevTerm)) {
      return -1;
    }
    long lastNew = prevIndex + newEntries.size();
    for (int i = 0; i < newEntries.size(); i++) {
      Entry e = newEntries.get(i);
      if (e.getIndex() != prevIndex + 1 + i) {
        throw new IllegalArgumentException("entries are not consecutive after " + prevIndex);
      }
      if (e.getIndex() <= offset) {
        continue; // released, hence committed: it matches the leader's (Log Matching, §5.3)
      }
      if (term(e.getIndex()) != e.getTerm()) {
        truncateFrom(e.getIndex());
        List<Entry> added = newEntries.subList(i, newEntries.size());
        entries.addAll(added);
        added.forEach(configs::appended);
        break;
      }
    }
    // Rule 5: only up to the last entry this message proved to match; anything beyond it may yet
    // be a stale suffix from an older term.
    commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  private void truncateFrom(long index) {
    if (index <= committed) {
      throw new IllegalStateException(
          "refusing to truncate committed entry " + index + " (commit index " + committed + ")");
    }
    entries.subList((int) (index - offset - 1), entries.size()).clear();
    configs.truncatedFrom(index);
    stable = Math.min(stable, index - 1);
  }

  void commitTo(long index) {
    if (index > committed) {
      if (index > lastIndex()) {
        throw new IllegalStateException("commit " + index + " is beyond last index " + lastIndex());
      }
      committed = index;
    }
  }

  /**
   * Entries from {@code from} to {@code to} (inclusive, capped at the last index) whose sizes add
   * up to at most maxBytes; at least one when the range is not empty.
   */
  List<Entry> slice(long from, long to, long maxBytes) {
    long end = Math.min(to, lastIndex());
    if (from > end) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>();
    long bytes = 0;
    long i = from;
    // Released entries come back from storage a chunk at a time, never more than one message's.
    while (i <= Math.min(end, offset)) {
      List<Entry> chunk = reader.read(i, Math.min(Math.min(end, offset), i + READ_CHUNK - 1));
      for (Entry e : chunk) {
        bytes += e.getSerializedSize();
        if (!out.isEmpty() && bytes > maxBytes) {
          return out;
        }
        out.add(e);
      }
      i += chunk.size();
    }
    for (; i <= end; i++) {
      Entry e = entry(i);
      bytes += e.getSerializedSize();
      if (!out.isEmpty() && bytes > maxBytes) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  private static final int READ_CHUNK = 64;

  /**
   * Drops entries up to {@code index} from memory; they stay readable through the reader. Only
   * durable, applied entries may go (they are committed, so never truncated, and the state machine
   * no longer needs them); a log without a reader keeps everything.
   */
  void releaseTo(long index) {
    if (reader == null || index <= offset) {
      return;
    }
    if (index > applied || index > stable) {
      throw new IllegalStateException(
          "cannot release " + index + " beyond applied " + applied + " or stable " + stable);
    }
    dropFromMemory(index);
  }

  private void dropFromMemory(long index) {
    offsetTerm = term(index);
    entries.subList(0, (int) (index - offset)).clear();
    offset = index;
  }

  /**
   * §7 log compaction: the state machine holds the effect of every entry up to {@code index} in a
   * durable snapshot, so they may go for good. Only applied, durable entries may go: a snapshot
   * cannot hold what was not applied, and the storage must not lose what it never wrote.
   */
  void compactTo(long index) {
    if (index <= snapshotIndex) {
      return;
    }
    if (index > applied || index > stable) {
      throw new IllegalStateException(
          "cannot compact to " + index + " beyond applied " + applied + " or stable " + stable);
    }
    long term = term(index);
    if (index > offset) {
      dropFromMemory(index);
    }
    snapshotIndex = index;
    snapshotTerm = term;
    configs.compactedTo(index);
  }

  /**
   * Figure 13, InstallSnapshot receiver rules 6–7, for a snapshot newer than the commit index: if
   * the log holds the snapshot's last entry (same index and term), the entries after it stay (they
   * may be the leader's); otherwise the whole log goes. Either way the log now starts after the
   * snapshot, which is committed and, once the driver installs it, applied.
   *
   * @return whether the suffix after the snapshot was kept
   */
  boolean restore(SnapshotMeta snapshot) {
    long index = snapshot.getIndex();
    if (index <= committed) {
      throw new IllegalStateException(
          "snapshot at " + index + " is not newer than the commit index " + committed);
    }
    boolean keep = matchTerm(index, snapshot.getTerm());
    if (keep) {
      dropFromMemory(index);
      // Kept entries not yet durable are persisted by the same Ready, after the storage compacted
      // to the snapshot; the dropped ones need no writing.
      stable = Math.max(stable, index);
    } else {
      entries.clear();
      configs.truncatedFrom(index + 1);
      offset = index;
      offsetTerm = snapshot.getTerm();
      stable = index;
    }
    // A snapshot records the configuration as of its last entry (§7); one that records none (made
    // before configurations were recorded) leaves the one in effect.
    Configuration conf = Configuration.fromConfState(snapshot.getConfState());
    configs.restored(
        index, conf.isEmpty() ? configs.at(Math.max(index, configs.baseIndex())) : conf);
    snapshotIndex = index;
    snapshotTerm = snapshot.getTerm();
    committed = index;
    applied = index;
    return keep;
  }

  /** The entries not yet durable, to persist in the next Ready. */
  List<Entry> unstableEntries() {
    if (stable == lastIndex()) {
      return List.of();
    }
    return Collections.unmodifiableList(
        new ArrayList<>(entries.subList((int) (stable - offset), entries.size())));
  }

  /** Committed entries not yet applied, at most maxBytes of them (at least one). */
  List<Entry> nextCommittedEntries(long maxBytes) {
    return slice(applied + 1, committed, maxBytes);
  }

  boolean hasNextCommittedEntries() {
    return committed > applied;
  }

  /** Entries up to {@code index} (of {@code term}) are now durable. */
  void stableTo(long index, long term) {
    if (index > stable && matchTerm(index, term)) {
      stable = index;
    }
  }

  void appliedTo(long index) {
    if (index > committed || index < applied) {
      throw new IllegalStateException(
          "applied " + index + " outside [" + applied + ", " + committed + "]");
    }
    applied = index;
  }
}
