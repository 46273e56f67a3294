package io.raftkv.raft;

/**
 * What a node is right now, not persisted: its role and the leader it knows of.
 *
 * @param leaderId the leader of the current term, or {@link RaftConfig#NONE} when unknown
 */
public record SoftState(Role role, int leaderId) {}
