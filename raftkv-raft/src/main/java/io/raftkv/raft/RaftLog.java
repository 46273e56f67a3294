package io.raftkv.raft;

import io.raftkv.proto.raft.Entry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One node's log in memory: the entries, how far they are durable, committed and applied. Indexes
 * start at 1 as in the paper; index 0 is the empty prefix, whose term is 0.
 *
 * <p>Invariants: {@code applied <= committed <= lastIndex()}, {@code stable <= lastIndex()}, and a
 * committed entry is never truncated (that would break State Machine Safety, §5.4.3).
 *
 * <p>Not thread-safe: owned by the {@link Raft} that holds it.
 */
final class RaftLog {
  private final ArrayList<Entry> entries = new ArrayList<>();
  private long stable;
  private long committed;
  private long applied;

  /** Restores a log from what was persisted; everything restored is durable already. */
  RaftLog(List<Entry> persisted, long committed, long applied) {
    long expected = 1;
    for (Entry e : persisted) {
      if (e.getIndex() != expected) {
        throw new IllegalArgumentException(
            "persisted log has index " + e.getIndex() + " where " + expected + " was expected");
      }
      expected++;
    }
    entries.addAll(persisted);
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
    return entries.size();
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

  /** The term of the entry at {@code index}; 0 for index 0; -1 when the log does not reach it. */
  long term(long index) {
    if (index == 0) {
      return 0;
    }
    if (index < 0 || index > lastIndex()) {
      return -1;
    }
    return entries.get((int) (index - 1)).getTerm();
  }

  Entry entry(long index) {
    return entries.get((int) (index - 1));
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

  /** The first index holding {@code term} going back from {@code from} (accelerated backoff). */
  long firstIndexOfTerm(long term, long from) {
    long i = Math.min(from, lastIndex());
    while (i > 1 && term(i - 1) == term) {
      i--;
    }
    return i;
  }

  /** The last index at or below {@code from} whose term is {@code term}, or 0 if there is none. */
  long lastIndexOfTerm(long term, long from) {
    for (long i = Math.min(from, lastIndex()); i > 0; i--) {
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
  }

  /**
   * Figure 2, AppendEntries receiver rules 2–5: if the log matches at (prevIndex, prevTerm), delete
   * entries that conflict with new ones, append those not already there, and advance the commit
   * index to min(leaderCommit, index of last new entry).
   *
   * @return the index of the last entry now known to match the leader's, or -1 on a mismatch
   */
  long maybeAppend(long prevIndex, long prevTerm, long leaderCommit, List<Entry> newEntries) {
    if (!matchTerm(prevIndex, prevTerm)) {
      return -1;
    }
    long lastNew = prevIndex + newEntries.size();
    for (int i = 0; i < newEntries.size(); i++) {
      Entry e = newEntries.get(i);
      if (e.getIndex() != prevIndex + 1 + i) {
        throw new IllegalArgumentException("entries are not consecutive after " + prevIndex);
      }
      if (term(e.getIndex()) != e.getTerm()) {
        truncateFrom(e.getIndex());
        entries.addAll(newEntries.subList(i, newEntries.size()));
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
    entries.subList((int) (index - 1), entries.size()).clear();
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
    for (long i = from; i <= end; i++) {
      Entry e = entry(i);
      bytes += e.getSerializedSize();
      if (!out.isEmpty() && bytes > maxBytes) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  /** The entries not yet durable, to persist in the next Ready. */
  List<Entry> unstableEntries() {
    if (stable == lastIndex()) {
      return List.of();
    }
    return Collections.unmodifiableList(
        new ArrayList<>(entries.subList((int) stable, entries.size())));
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
