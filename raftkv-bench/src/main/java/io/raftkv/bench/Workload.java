package io.raftkv.bench;

import java.time.Duration;

/**
 * What every client does, identical for both systems: operations over a uniform key space, each
 * chosen at random by the read and append shares (the rest are PUTs), in a closed loop or, with
 * {@code arrivals}, an open one.
 *
 * @param clients concurrent clients, each with one operation in flight at most (closed loop: each
 *     issues its next operation when the previous one completed; open loop: the clients the
 *     arrivals are spread over)
 * @param connections connections per server, shared round-robin by the clients
 * @param duration measured time, after the warm-up
 * @param warmup time run before measuring; its operations are discarded
 * @param readShare fraction of GETs
 * @param appendShare fraction of APPENDs
 * @param keys size of the key space
 * @param keySize bytes per key
 * @param valueSize bytes per PUT value and per APPEND suffix
 * @param seed seeds the clients' random choices
 * @param arrivals the open loop's schedule, or null for a closed loop
 */
record Workload(
    int clients,
    int connections,
    Duration duration,
    Duration warmup,
    double readShare,
    double appendShare,
    int keys,
    int keySize,
    int valueSize,
    long seed,
    Arrivals arrivals) {

  /** A closed loop. */
  Workload(
      int clients,
      int connections,
      Duration duration,
      Duration warmup,
      double readShare,
      double appendShare,
      int keys,
      int keySize,
      int valueSize,
      long seed) {
    this(
        clients,
        connections,
        duration,
        warmup,
        readShare,
        appendShare,
        keys,
        keySize,
        valueSize,
        seed,
        null);
  }

  Workload {
    if (clients < 1) {
      throw new IllegalArgumentException("--clients must be at least 1");
    }
    if (connections < 1) {
      throw new IllegalArgumentException("--connections must be at least 1");
    }
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("--duration must be positive");
    }
    if (warmup.isNegative()) {
      throw new IllegalArgumentException("--warmup must not be negative");
    }
    if (readShare < 0 || appendShare < 0 || readShare + appendShare > 1.0 + 1e-9) {
      throw new IllegalArgumentException(
          "--read-share and --append-share must be >= 0 and add up to at most 1");
    }
    if (keys < 1) {
      throw new IllegalArgumentException("--keys must be at least 1");
    }
    if (valueSize < 1) {
      throw new IllegalArgumentException("--value-size must be at least 1");
    }
    int digits = Integer.toString(keys - 1).length();
    if (keySize < digits + 1) {
      throw new IllegalArgumentException(
          "--key-size "
              + keySize
              + " is too small for "
              + keys
              + " keys (need "
              + (digits + 1)
              + ")");
    }
  }

  /** The next operation type, drawn from {@code random} by the read and append shares. */
  OpType nextOp(java.util.SplittableRandom random) {
    double dice = random.nextDouble();
    return dice < readShare
        ? OpType.GET
        : dice < readShare + appendShare ? OpType.APPEND : OpType.PUT;
  }

  /** Key number i: "k" then i, zero-padded to keySize bytes. */
  byte[] key(int i) {
    String digits = Integer.toString(i);
    StringBuilder sb = new StringBuilder(keySize).append('k');
    for (int p = 1 + digits.length(); p < keySize; p++) {
      sb.append('0');
    }
    return sb.append(digits).toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }

  /** A chart title's worth. */
  String brief() {
    return String.format(
        "%d clients%s, %.0f%% GET / %.0f%% PUT / %.0f%% APPEND, %d keys, %d B values, %s",
        clients,
        arrivals == null
            ? ""
            : String.format(java.util.Locale.ROOT, " at %.0f ops/s", arrivals.rate()),
        readShare * 100,
        (1 - readShare - appendShare) * 100,
        appendShare * 100,
        keys,
        valueSize,
        Durations.format(duration));
  }

  String describe() {
    return String.format(
        "%d clients over %d connection(s)/server, %s measured after %s warm-up, %.0f%% GET / %.0f%%"
            + " PUT / %.0f%% APPEND, %d keys of %d B, values %d B, %s",
        clients,
        connections,
        Durations.format(duration),
        Durations.format(warmup),
        readShare * 100,
        (1 - readShare - appendShare) * 100,
        appendShare * 100,
        keys,
        keySize,
        valueSize,
        arrivals == null ? "closed loop" : arrivals.describe());
  }
}
