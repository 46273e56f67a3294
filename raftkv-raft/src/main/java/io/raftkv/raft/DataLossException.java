package io.raftkv.raft;

/**
 * This node lost data it had promised to keep: its leader knows it acknowledged (durably) entries
 * up to a committed index that its log no longer reaches. That happens when its data directory was
 * deleted, replaced by an older copy, or truncated, and it restarted with the same identity.
 *
 * <p>Such a node is outside Raft's model: it forgot the votes it cast (it could vote twice in one
 * term, §5.2) and the entries it acknowledged (an entry committed with its help could end up held
 * by a minority, breaking Leader Completeness, §5.4). It must not rejoin as itself; it has to be
 * replaced as a new member. {@link Raft#step} throws this instead of answering, so the driver stops
 * the node; its message is one line for the operator.
 *
 * <p>etcd's raft does the same: a heartbeat carries {@code min(match, committed)} and a follower
 * whose log is shorter panics with "tocommit(%d) is out of range [lastIndex(%d)]. Was the raft log
 * corrupted, truncated, or lost?" (raftLog.commitTo).
 */
public final class DataLossException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final long ackedCommit;
  private final long lastIndex;

  DataLossException(int node, int leader, long term, long ackedCommit, long lastIndex) {
    super(
        "node "
            + node
            + " lost its data: leader "
            + leader
            + " (term "
            + term
            + ") knows it acknowledged committed entries up to index "
            + ackedCommit
            + " but its log ends at index "
            + lastIndex
            + " (tocommit("
            + ackedCommit
            + ") is out of range [lastIndex("
            + lastIndex
            + ")]: was the raft log corrupted, truncated, or lost?);"
            + " it must not rejoin as itself: stop it and replace it as a new member"
            + " (clt member replace)");
    this.ackedCommit = ackedCommit;
    this.lastIndex = lastIndex;
  }

  /** The committed index the leader knows this node held. */
  public long ackedCommit() {
    return ackedCommit;
  }

  /** Where this node's log ends. */
  public long lastIndex() {
    return lastIndex;
  }
}
