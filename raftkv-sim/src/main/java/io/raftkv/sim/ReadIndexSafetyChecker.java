package io.raftkv.sim;

/**
 * ReadIndex safety (§8): a read must see every write that completed before it began, so the index a
 * read is served at must be at least the highest commit index any node had when the read was
 * requested.
 */
public final class ReadIndexSafetyChecker extends SafetyChecker {

  public ReadIndexSafetyChecker() {
    super("ReadIndex Safety");
  }

  @Override
  public void readStateEmitted(
      long time, int node, long context, long index, long maxCommitAtRequest) {
    if (index < maxCommitAtRequest) {
      violation(
          time,
          "node "
              + node
              + " served read "
              + context
              + " at index "
              + index
              + " but index "
              + maxCommitAtRequest
              + " was already committed when it was requested");
    }
  }
}
