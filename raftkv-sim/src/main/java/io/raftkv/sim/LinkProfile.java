package io.raftkv.sim;

/**
 * How one directed link treats a message: lost with probability {@code drop}, delivered twice with
 * probability {@code duplicate}, delayed uniformly in {@code [minDelay, maxDelay]} ms, and, when
 * {@code fifo}, never overtaking an earlier message on the same link (as a gRPC stream does).
 */
public record LinkProfile(
    double drop, double duplicate, long minDelayMillis, long maxDelayMillis, boolean fifo) {

  /** A healthy link: 1–3 ms, nothing lost, in order (a gRPC stream on a LAN). */
  public static final LinkProfile RELIABLE = new LinkProfile(0, 0, 1, 3, true);

  /** The course's unreliable network: 0–26 ms, 10 % lost, any order. */
  public static final LinkProfile UNRELIABLE = new LinkProfile(0.1, 0, 0, 26, false);

  public LinkProfile {
    if (drop < 0 || drop > 1 || duplicate < 0 || duplicate > 1) {
      throw new IllegalArgumentException("probabilities must be in [0, 1]");
    }
    if (minDelayMillis < 0 || maxDelayMillis < minDelayMillis) {
      throw new IllegalArgumentException(
          "bad delay range [" + minDelayMillis + ", " + maxDelayMillis + "]");
    }
  }

  public LinkProfile withDuplicate(double probability) {
    return new LinkProfile(drop, probability, minDelayMillis, maxDelayMillis, fifo);
  }
}
