package io.raftkv.sim;

import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.SnapshotMeta;
import io.raftkv.raft.LogReader;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.ReadyProcessor;
import java.util.ArrayList;
import java.util.List;

/**
 * A node's simulated disk: the hard state, the log (starting after the index it was compacted to,
 * §7) and the state machine's last snapshot. Writes made with {@code sync} become durable at once,
 * together with every unsynced write before them; writes made without it (log compactions included)
 * sit in a volatile buffer that a crash throws away, so the simulator catches a core that relies on
 * data it never asked to be synced. A snapshot is saved durably at once (as the server fsyncs and
 * renames it).
 *
 * <p>Thread-safety: none; owned by the simulation thread.
 */
public final class SimStorage implements ReadyProcessor.LogStorage, LogReader {

  /** Told of every write, durable or not, as the node sees it. */
  interface Listener {
    void persisted(HardState hardState, List<Entry> entries);

    /** The log was compacted to {@code start} (§7). */
    default void compacted(SnapshotMeta start) {}
  }

  /** One write: a hard state and entries, or a compaction to {@code start}. */
  private record Write(HardState hardState, List<Entry> entries, SnapshotMeta start) {}

  /** A log that may start after a compaction point: its entries follow {@code start}. */
  private static final class LogImage {
    SnapshotMeta start = SnapshotMeta.getDefaultInstance();
    final ArrayList<Entry> entries = new ArrayList<>();

    LogImage copy() {
      LogImage c = new LogImage();
      c.start = start;
      c.entries.addAll(entries);
      return c;
    }

    long last() {
      return start.getIndex() + entries.size();
    }

    long termAt(long index) {
      if (index == start.getIndex()) {
        return start.getTerm();
      }
      if (index < start.getIndex() || index > last()) {
        return -1;
      }
      return entries.get((int) (index - start.getIndex() - 1)).getTerm();
    }

    void apply(Write w) {
      if (w.start() != null) {
        compact(w.start());
        return;
      }
      if (!w.entries().isEmpty()) {
        long first = w.entries().get(0).getIndex();
        entries.subList((int) (first - start.getIndex() - 1), entries.size()).clear();
        entries.addAll(w.entries());
      }
    }

    /** Figure 13: keep what follows a matching entry at the new start, else drop everything. */
    void compact(SnapshotMeta to) {
      if (to.getIndex() < start.getIndex()) {
        return;
      }
      if (termAt(to.getIndex()) == to.getTerm()) {
        entries.subList(0, (int) (to.getIndex() - start.getIndex())).clear();
      } else {
        entries.clear();
      }
      start = to;
    }
  }

  private HardState hardState = HardState.getDefaultInstance();

  /** The durable log. */
  private LogImage log = new LogImage();

  /** The log as the node sees it: the durable one with the unsynced writes applied. */
  private LogImage view = new LogImage();

  private SimSnapshot snapshot;
  private final List<Write> unsynced = new ArrayList<>();
  private Listener listener = (hs, entries) -> {};

  void setListener(Listener listener) {
    this.listener = listener;
  }

  @Override
  public void persist(HardState hs, List<Entry> entries, boolean sync) {
    if (!entries.isEmpty()) {
      long first = entries.get(0).getIndex();
      if (first <= view.start.getIndex() || first > view.last() + 1) {
        throw new IllegalStateException(
            "entries from "
                + first
                + " do not attach to the log "
                + (view.start.getIndex() + 1)
                + ".."
                + view.last());
      }
    }
    write(new Write(hs, List.copyOf(entries), null));
    if (sync) {
      sync();
    }
    listener.persisted(hs, entries);
  }

  /**
   * Figure 13's rule for the log (see {@link ReadyProcessor.LogStorage#compact}); not durable until
   * the next synced write.
   */
  @Override
  public void compact(SnapshotMeta to) {
    write(new Write(null, List.of(), to));
    listener.compacted(to);
  }

  private void write(Write w) {
    unsynced.add(w);
    view.apply(w);
  }

  /** Saves the state machine's snapshot durably (the write and its rename are fsynced). */
  void saveSnapshot(SimSnapshot s) {
    sync(); // a real disk orders the snapshot after the writes before it
    snapshot = s;
  }

  private void sync() {
    for (Write w : unsynced) {
      if (w.hardState() != null) {
        hardState = w.hardState();
      }
      log.apply(w);
    }
    unsynced.clear();
  }

  /** The entries after {@code index} in the log as the node sees it. */
  List<Entry> viewAfter(long index) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : view.entries) {
      if (e.getIndex() > index) {
        out.add(e);
      }
    }
    return out;
  }

  /**
   * The power goes out: unsynced writes are lost.
   *
   * @return how many writes were lost
   */
  int crash() {
    int lost = unsynced.size();
    unsynced.clear();
    view = log.copy();
    return lost;
  }

  /**
   * What a restarted node finds: the durable log and hard state, and the state machine's snapshot.
   * A crash between installing a snapshot and compacting the log to it leaves a log that does not
   * continue the snapshot: the log is reconciled with it by Figure 13's rule first, as the server
   * does.
   */
  PersistentState restore() {
    long applied = 0;
    if (snapshot != null) {
      applied = snapshot.meta().getIndex();
      if (log.termAt(applied) != snapshot.meta().getTerm()) {
        log.compact(snapshot.meta());
        view = log.copy();
      }
    }
    HardState hs = hardState;
    if (hs.getCommit() < applied) {
      hs = hs.toBuilder().setCommit(applied).build();
    }
    // The simulated state machine restarts from its snapshot: the configuration it records as of
    // its applied index is the snapshot's (dissertation §4.1; none without a snapshot, when the
    // whole
    // log is loaded).
    return new PersistentState(
        hs,
        log.entries,
        applied,
        log.start.getIndex(),
        log.start.getTerm(),
        log.start,
        snapshot == null ? ConfState.getDefaultInstance() : snapshot.meta().getConfState());
  }

  /** The state machine's durable snapshot, or null. */
  SimSnapshot snapshot() {
    return snapshot;
  }

  public HardState durableHardState() {
    return hardState;
  }

  /**
   * Reads back entries the core released from memory. It only asks for durable ones (applied
   * entries were synced before they could be counted), never compacted ones, so they come from the
   * durable log; asking for anything else is a core bug and fails the run.
   */
  @Override
  public List<Entry> read(long from, long to) {
    long first = log.start.getIndex() + 1;
    if (from < first || to > log.last() || from > to) {
      throw new IllegalStateException(
          "read of entries "
              + from
              + ".."
              + to
              + " outside the durable log "
              + first
              + ".."
              + log.last());
    }
    return List.copyOf(log.entries.subList((int) (from - first), (int) (to - first + 1)));
  }

  /**
   * The durable log from index 1 as the checkers see it: the entries a snapshot holds the effect
   * of, then the log after them.
   */
  public List<Entry> durableLog() {
    List<Entry> whole = new ArrayList<>();
    long covered = 0;
    if (snapshot != null) {
      // The snapshot reaches at least the log's start: compaction follows a saved snapshot.
      whole.addAll(snapshot.entries());
      covered = snapshot.meta().getIndex();
      if (log.termAt(covered) != snapshot.meta().getTerm()) {
        // A crash between installing the snapshot and compacting the log to it, when the log did
        // not hold the snapshot's last entry: the entries after it belong to another history, and
        // a restart drops them (Figure 13, rule 7; see restore()).
        return whole;
      }
    }
    for (Entry e : log.entries) {
      if (e.getIndex() > covered) {
        whole.add(e);
      }
    }
    return whole;
  }

  /** Where the durable log starts (what it was compacted to). */
  public SnapshotMeta logStart() {
    return log.start;
  }

  /**
   * The serialized size of the durable log after its start: what compaction bounds (the course's
   * persisted Raft state size, less the few bytes of the hard state).
   */
  public long retainedLogBytes() {
    long bytes = 0;
    for (Entry e : log.entries) {
      bytes += e.getSerializedSize();
    }
    return bytes;
  }
}
