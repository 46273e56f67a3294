package io.raftkv.raft;

/** The role a node plays in its current term (§5.1, plus PreVote's pre-candidate, §9.6). */
public enum Role {
  FOLLOWER,
  /** Asking whether it could win an election before disturbing anyone by raising its term. */
  PRE_CANDIDATE,
  CANDIDATE,
  LEADER
}
