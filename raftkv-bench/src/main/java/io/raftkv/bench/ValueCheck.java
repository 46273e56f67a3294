package io.raftkv.bench;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The keys and values of the insert-read experiment, and the check that a value read back is the
 * one written. Pure functions, so the checker itself can be tested.
 */
final class ValueCheck {
  private ValueCheck() {}

  /** Key number i: 16 bytes, "ir" then i zero-padded, so keys sort in insertion order. */
  static byte[] key(int i) {
    return String.format("ir%014d", i).getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * The value written under key i in a run salted with {@code salt}: "v<i>-" then seeded random
   * letters, cut to {@code size} bytes. The index prefix makes a value read from the wrong key
   * visible; the salt makes a value left over from another run visible.
   */
  static byte[] value(int i, int size, long salt) {
    byte[] v = new byte[size];
    byte[] prefix = ("v" + i + "-").getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(prefix, 0, v, 0, Math.min(prefix.length, size));
    SplittableRandom rnd = new SplittableRandom(salt * 1_000_003L + i);
    for (int p = prefix.length; p < size; p++) {
      v[p] = (byte) ('a' + rnd.nextInt(26));
    }
    return v;
  }

  /** What went wrong with one read, or OK. */
  enum Outcome {
    OK,
    MISSING,
    MISMATCH
  }

  static Outcome check(byte[] expected, Optional<byte[]> actual) {
    if (actual.isEmpty()) {
      return Outcome.MISSING;
    }
    return Arrays.equals(expected, actual.get()) ? Outcome.OK : Outcome.MISMATCH;
  }

  /** A one-line description of a failed check, for the error listing. */
  static String describe(byte[] key, byte[] expected, Optional<byte[]> actual) {
    String k = new String(key, StandardCharsets.US_ASCII);
    return switch (check(expected, actual)) {
      case OK -> k + ": OK";
      case MISSING -> k + ": missing (expected " + brief(expected) + ")";
      case MISMATCH -> k + ": read " + brief(actual.get()) + ", expected " + brief(expected);
    };
  }

  private static String brief(byte[] v) {
    String s = new String(v, StandardCharsets.ISO_8859_1);
    return v.length + " B \"" + (s.length() > 24 ? s.substring(0, 24) + "..." : s) + "\"";
  }

  /**
   * The keys [from, to) of client {@code client} out of {@code clients}: contiguous slices whose
   * sizes differ by at most one, together covering [0, keys) exactly once.
   */
  static int[] slice(int client, int clients, int keys) {
    long from = (long) keys * client / clients;
    long to = (long) keys * (client + 1) / clients;
    return new int[] {(int) from, (int) to};
  }
}
