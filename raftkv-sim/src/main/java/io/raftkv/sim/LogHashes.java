package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import java.util.Arrays;
import java.util.List;

/**
 * One node's log as seen by a checker: per index the entry's term and a rolling hash of the whole
 * prefix up to it. Two logs with the same prefix hash at an index hold the same entries up to it,
 * so the checkers compare prefixes in O(1) and follow a log in O(entries written).
 *
 * <p>Thread-safety: none.
 */
final class LogHashes {
  private long[] terms = new long[64];
  private long[] hashes = new long[64];

  /** The last index; slot 0 is the empty prefix (term 0, hash 0). */
  private int last;

  long lastIndex() {
    return last;
  }

  /** The term at {@code index}, 0 for index 0, -1 beyond the end. */
  long term(long index) {
    return index <= last ? terms[(int) index] : -1;
  }

  /** The prefix hash up to {@code index} (0 for index 0); only for {@code index <= lastIndex()}. */
  long hash(long index) {
    return hashes[(int) index];
  }

  /**
   * Replaces the log from {@code entries.get(0).getIndex()} onward.
   *
   * @return false (and changes nothing) if that would leave a gap
   */
  boolean replaceFrom(List<Entry> entries) {
    if (entries.isEmpty()) {
      return true;
    }
    long first = entries.get(0).getIndex();
    if (first < 1 || first > last + 1) {
      return false;
    }
    last = (int) first - 1;
    for (Entry e : entries) {
      append(e);
    }
    return true;
  }

  /** Replaces the whole log. */
  void reset(List<Entry> log) {
    last = 0;
    for (Entry e : log) {
      append(e);
    }
  }

  private void append(Entry e) {
    if (last + 1 >= terms.length) {
      terms = Arrays.copyOf(terms, terms.length * 2);
      hashes = Arrays.copyOf(hashes, hashes.length * 2);
    }
    long prev = hashes[last];
    last++;
    terms[last] = e.getTerm();
    hashes[last] = chain(prev, e);
  }

  /** The prefix hash of a prefix with hash {@code prev} extended by {@code e}. */
  static long chain(long prev, Entry e) {
    long h = mix(prev ^ 0x243F6A8885A308D3L);
    h = mix(h ^ e.getIndex());
    h = mix(h ^ e.getTerm());
    h = mix(h ^ e.getTypeValue());
    h = mix(h ^ e.getData().size());
    return mix(h ^ e.getData().hashCode());
  }

  /** SplitMix64's finalizer: a cheap, well-spread 64-bit mix. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
