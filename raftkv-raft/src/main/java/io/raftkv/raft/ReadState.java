package io.raftkv.raft;

/**
 * A read that became safe (ReadIndex, §8): once the state machine has applied {@code index}, a read
 * for the caller's {@code context} returns linearizable data.
 */
public record ReadState(long context, long index) {}
