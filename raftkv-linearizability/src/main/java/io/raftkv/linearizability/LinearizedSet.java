package io.raftkv.linearizability;

import java.util.Arrays;

/**
 * The set of operations linearized so far, as a bitset with an incrementally maintained Zobrist
 * hash (a XOR of a random 64-bit value per member), so hashing a search configuration is O(1).
 */
final class LinearizedSet {

  private final long[] words;
  private long hash;

  LinearizedSet(int size) {
    words = new long[(size + 63) >>> 6];
  }

  void set(int i) {
    words[i >>> 6] |= 1L << i;
    hash ^= mix(i);
  }

  void clear(int i) {
    words[i >>> 6] &= ~(1L << i);
    hash ^= mix(i);
  }

  long hash() {
    return hash;
  }

  /** The live words; callers must not keep them. */
  long[] words() {
    return words;
  }

  static boolean sameWords(long[] a, long[] b) {
    return Arrays.equals(a, b);
  }

  /** SplitMix64's finalizer: a well-spread 64-bit value per index. */
  private static long mix(int i) {
    long z = (i + 1) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
