package io.raftkv.sim;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.raft.LogReader;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.ReadyProcessor;
import java.util.ArrayList;
import java.util.List;

/**
 * A node's simulated disk. Writes made with {@code sync} become durable at once, together with
 * every unsynced write before them; writes made without it sit in a volatile buffer that a crash
 * throws away, so the simulator catches a core that relies on data it never asked to be synced.
 *
 * <p>Thread-safety: none; owned by the simulation thread.
 */
public final class SimStorage implements ReadyProcessor.LogStorage, LogReader {

  /** Told of every write, durable or not, as the node sees it. */
  interface Listener {
    void persisted(HardState hardState, List<Entry> entries);
  }

  private record Write(HardState hardState, List<Entry> entries) {}

  private HardState hardState = HardState.getDefaultInstance();
  private final ArrayList<Entry> log = new ArrayList<>();
  private final List<Write> unsynced = new ArrayList<>();
  private Listener listener = (hs, entries) -> {};

  void setListener(Listener listener) {
    this.listener = listener;
  }

  @Override
  public void persist(HardState hs, List<Entry> entries, boolean sync) {
    if (!entries.isEmpty()) {
      long first = entries.get(0).getIndex();
      long known = log.size();
      for (Write w : unsynced) {
        if (!w.entries().isEmpty()) {
          known = w.entries().get(w.entries().size() - 1).getIndex();
        }
      }
      if (first < 1 || first > known + 1) {
        throw new IllegalStateException(
            "entries from " + first + " would leave a gap after index " + known);
      }
    }
    unsynced.add(new Write(hs, List.copyOf(entries)));
    if (sync) {
      for (Write w : unsynced) {
        apply(w);
      }
      unsynced.clear();
    }
    listener.persisted(hs, entries);
  }

  private void apply(Write w) {
    if (w.hardState() != null) {
      hardState = w.hardState();
    }
    if (!w.entries().isEmpty()) {
      int first = (int) w.entries().get(0).getIndex();
      log.subList(first - 1, log.size()).clear();
      log.addAll(w.entries());
    }
  }

  /**
   * The power goes out: unsynced writes are lost.
   *
   * @return how many writes were lost
   */
  int crash() {
    int lost = unsynced.size();
    unsynced.clear();
    return lost;
  }

  /** What a restarted node finds: the durable state, with a state machine to rebuild from 1. */
  PersistentState restore() {
    return new PersistentState(hardState, log, 0);
  }

  public HardState durableHardState() {
    return hardState;
  }

  /**
   * Reads back entries the core released from memory. It only asks for durable ones (applied
   * entries were synced before they could be counted), so they come from the durable log; asking
   * for anything else is a core bug and fails the run.
   */
  @Override
  public List<Entry> read(long from, long to) {
    if (from < 1 || to > log.size() || from > to) {
      throw new IllegalStateException(
          "read of entries " + from + ".." + to + " beyond the durable log of " + log.size());
    }
    return List.copyOf(log.subList((int) from - 1, (int) to));
  }

  /** The durable log (a copy). */
  public List<Entry> durableLog() {
    return List.copyOf(log);
  }
}
