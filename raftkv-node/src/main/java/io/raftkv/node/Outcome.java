package io.raftkv.node;

import io.raftkv.raft.RaftConfig;

/**
 * How a request to a {@link NodeRuntime} ended.
 *
 * <ul>
 *   <li>{@link Kind#OK}: done; {@link #value()} holds the result.
 *   <li>{@link Kind#NOT_LEADER}: refused, nothing was appended (or the entry was overwritten by
 *       another leader's, so it never applies); {@link #leaderId()} names the leader this node
 *       knows of, or {@link RaftConfig#NONE}.
 *   <li>{@link Kind#UNKNOWN}: leadership was lost (or the node stopped) after the command was
 *       appended: the next leader may still commit it. {@link #message()} says why.
 *   <li>{@link Kind#TIMEOUT}: no outcome within the request timeout; for a write, it may still
 *       apply.
 *   <li>{@link Kind#REFUSED}: the leader refused the request as it stands (a configuration change
 *       that is invalid or must wait); nothing was appended. {@link #message()} says why.
 * </ul>
 *
 * @param <T> the result type
 */
public record Outcome<T>(Kind kind, T value, int leaderId, String message) {

  /** What happened. */
  public enum Kind {
    OK,
    NOT_LEADER,
    UNKNOWN,
    TIMEOUT,
    REFUSED
  }

  public static <T> Outcome<T> ok(T value) {
    return new Outcome<>(Kind.OK, value, RaftConfig.NONE, "");
  }

  public static <T> Outcome<T> notLeader(int leaderId) {
    return new Outcome<>(Kind.NOT_LEADER, null, leaderId, "");
  }

  public static <T> Outcome<T> unknown(String why) {
    return new Outcome<>(Kind.UNKNOWN, null, RaftConfig.NONE, why);
  }

  public static <T> Outcome<T> timeout() {
    return new Outcome<>(Kind.TIMEOUT, null, RaftConfig.NONE, "");
  }

  public static <T> Outcome<T> refused(String why) {
    return new Outcome<>(Kind.REFUSED, null, RaftConfig.NONE, why);
  }

  public boolean isOk() {
    return kind == Kind.OK;
  }
}
