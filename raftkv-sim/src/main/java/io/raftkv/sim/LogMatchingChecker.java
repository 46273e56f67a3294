package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Log Matching (§5.3, Figure 3): if two logs contain an entry with the same index and term, the
 * logs are identical in all entries up through that index. Every entry written anywhere registers
 * its (index, term) with the hash of the prefix it ends; a later write of the same (index, term)
 * with a different prefix hash is a violation. Cost: O(entries written), not O(log).
 */
public final class LogMatchingChecker extends SafetyChecker {
  private record Key(long index, long term) {}

  private record Seen(long prefixHash, int node) {}

  private final LogHashes[] logs;
  private final Map<Key, Seen> prefixes = new HashMap<>();

  public LogMatchingChecker(int nodes) {
    super("Log Matching");
    logs = new LogHashes[nodes];
    for (int i = 0; i < nodes; i++) {
      logs[i] = new LogHashes();
    }
  }

  @Override
  public void entriesPersisted(long time, int node, List<Entry> entries) {
    LogHashes log = logs[node];
    if (!log.replaceFrom(entries)) {
      violation(
          time,
          "node "
              + node
              + " wrote entries from index "
              + entries.get(0).getIndex()
              + " after its last index "
              + log.lastIndex()
              + ", leaving a gap");
      return;
    }
    for (Entry e : entries) {
      check(time, node, e.getIndex());
    }
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    logs[node].reset(log);
    for (Entry e : log) {
      check(time, node, e.getIndex());
    }
  }

  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    restarted(time, node, log, null);
  }

  private void check(long time, int node, long index) {
    LogHashes log = logs[node];
    Key key = new Key(index, log.term(index));
    Seen seen = prefixes.putIfAbsent(key, new Seen(log.hash(index), node));
    if (seen != null && seen.prefixHash() != log.hash(index)) {
      violation(
          time,
          "node "
              + node
              + " and node "
              + seen.node()
              + " both hold an entry of term "
              + key.term()
              + " at index "
              + index
              + " but their logs differ up to it");
    }
  }
}
