package io.raftkv.raft;

/**
 * A configuration change that the leader refuses, with a one-line reason meant for the operator (an
 * unknown id, a change already pending, the last voter removed...). Nothing was appended.
 */
public final class ConfChangeRefusedException extends RuntimeException {
  public ConfChangeRefusedException(String reason) {
    super(reason);
  }
}
