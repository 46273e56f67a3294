package io.raftkv.sim;

import io.raftkv.node.SnapshotImage;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.List;

/**
 * A simulated node's snapshot (§7): the application's image of its state machine ({@link
 * SimApp#capture}) and, for the checkers only, every entry it holds the effect of, so that a
 * snapshot that does not match what the cluster applied is caught like a wrong entry would be.
 *
 * @param entries the entries applied up to {@code meta.index}, from index 1
 * @param appImage what {@link SimApp#capture} returned (null for the core alone)
 */
public record SimSnapshot(SnapshotMeta meta, List<Entry> entries, Object appImage)
    implements SnapshotImage {
  public SimSnapshot {
    entries = List.copyOf(entries);
    if (entries.size() != meta.getIndex()) {
      throw new IllegalArgumentException(
          "a snapshot at index " + meta.getIndex() + " holds " + entries.size() + " entries");
    }
  }
}
