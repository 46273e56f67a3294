package io.raftkv.sim;

/**
 * A broken property, found at simulated time {@code timeMillis}.
 *
 * @param property the property's name, as the Raft paper gives it (e.g. "Election Safety")
 * @param detail what was seen, with node ids, terms and indexes
 */
public record Violation(String property, String detail, long timeMillis) {
  @Override
  public String toString() {
    return property + " at " + timeMillis + " ms: " + detail;
  }
}
