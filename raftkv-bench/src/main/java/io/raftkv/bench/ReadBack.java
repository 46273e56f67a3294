package io.raftkv.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Reads from one node's own store (raftkv DIRECT_GET, etcd serializable GET): waiting until it has
 * a value, and checking a sample of keys against what was written.
 */
final class ReadBack {
  private ReadBack() {}

  /** A read from one node's store, without consensus; empty when it does not hold the key. */
  interface LocalRead {
    Optional<byte[]> read(byte[] key) throws Exception;
  }

  /** A key and the value written under it. */
  record Expected(byte[] key, byte[] value) {}

  /** What a sample check found; {@code bad} describes the first few wrong reads. */
  record Result(int verified, int missing, int mismatches, List<String> bad) {
    boolean ok() {
      return missing + mismatches == 0;
    }
  }

  /**
   * Polls {@code read} of {@code key} until it returns {@code want}; the time it did, or -1 when
   * {@code deadlineMillis} (wall clock) passed first. A read that fails (the node is starting, or
   * installing a snapshot) is asked again.
   */
  static long awaitValue(LocalRead read, byte[] key, byte[] want, long deadlineMillis)
      throws InterruptedException {
    while (Wall.now() < deadlineMillis) {
      try {
        Optional<byte[]> got = read.read(key);
        if (got.isPresent() && Arrays.equals(got.get(), want)) {
          return Wall.now();
        }
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          throw (InterruptedException) e;
        }
      }
      Thread.sleep(20);
    }
    return -1;
  }

  /** Reads every key of the sample once and compares it with what was written. */
  static Result check(List<Expected> sample, LocalRead read) throws Exception {
    int missing = 0;
    int mismatches = 0;
    List<String> bad = new ArrayList<>();
    for (Expected e : sample) {
      Optional<byte[]> got = read.read(e.key());
      ValueCheck.Outcome outcome = ValueCheck.check(e.value(), got);
      switch (outcome) {
        case OK -> {}
        case MISSING -> missing++;
        case MISMATCH -> mismatches++;
      }
      if (outcome != ValueCheck.Outcome.OK && bad.size() < 5) {
        bad.add(ValueCheck.describe(e.key(), e.value(), got));
      }
    }
    return new Result(sample.size(), missing, mismatches, List.copyOf(bad));
  }
}
