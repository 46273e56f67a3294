package io.raftkv.raft;

import io.raftkv.proto.raft.ConfState;
import java.util.Map;

/**
 * A snapshot of one node's consensus state, for monitoring, the Status RPC and tests.
 *
 * @param snapshotIndex where the log starts: entries up to here were compacted (§7), 0 if none
 * @param snapshotTerm the term of the entry at {@code snapshotIndex}
 * @param peers on a leader, what it knows of each follower (voters and learners); empty otherwise
 * @param configuration the configuration in effect (the latest in the log, §4.1)
 * @param configurationIndex the index of the entry that set it (0 for the bootstrap one)
 */
public record RaftStatus(
    int id,
    Role role,
    long term,
    int votedFor,
    int leaderId,
    long commitIndex,
    long appliedIndex,
    long lastIndex,
    long lastTerm,
    long stableIndex,
    long snapshotIndex,
    long snapshotTerm,
    int pendingReads,
    Map<Integer, PeerProgress> peers,
    ConfState configuration,
    long configurationIndex) {

  /**
   * A leader's view of one follower (Figure 2: matchIndex, nextIndex).
   *
   * @param pendingSnapshot the index of a snapshot being sent to it (§7), 0 if none
   */
  public record PeerProgress(
      long matchIndex, long nextIndex, boolean replicating, int inflight, long pendingSnapshot) {}
}
