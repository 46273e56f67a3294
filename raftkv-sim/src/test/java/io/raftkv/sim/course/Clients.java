package io.raftkv.sim.course;

import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Concurrent clients for the course scenarios, on the simulator's single thread: each client is a
 * small state machine with a next wake-up time, and simulated time advances to the earliest one.
 * This gives the interleavings the labs get from goroutines, reproducibly.
 */
final class Clients {
  /** Escalating polls for a commit, as the labs' churn clients do (10, 20, 50, 100, 200 ms). */
  private static final long[] POLLS = {10, 20, 50, 100, 200};

  private final LabHarness h;
  private final Client[] clients;

  Clients(LabHarness h, int count) {
    this.h = h;
    this.clients = new Client[count];
    for (int i = 0; i < count; i++) {
      clients[i] = new Client(i);
      clients[i].wakeAt = h.cluster.now();
    }
  }

  /** A churn client: offer a value to every server, then poll for its commit a few times. */
  private final class Client {
    final int me;
    final List<ByteString> values = new ArrayList<>();
    long wakeAt;
    ByteString pending;
    long pendingIndex;
    int poll;

    Client(int me) {
      this.me = me;
    }

    void wake() {
      if (pending == null) {
        ByteString x = h.randomCmd();
        long index = 0;
        for (int i = 0; i < h.n; i++) {
          long i1 = h.startCommand(i, x);
          if (i1 > 0) {
            index = i1;
          }
        }
        if (index > 0) {
          pending = x;
          pendingIndex = index;
          poll = 0;
          check();
        } else {
          wakeAt = h.cluster.now() + 79 + me * 17L;
        }
      } else {
        check();
      }
    }

    /** Maybe the leader will commit our value, maybe not; don't wait forever. */
    private void check() {
      LabHarness.Committed c = h.nCommitted(pendingIndex);
      if (c.count() > 0) {
        if (pending.equals(c.command())) {
          values.add(pending);
        }
        pending = null;
        wakeAt = h.cluster.now();
      } else if (poll < POLLS.length) {
        wakeAt = h.cluster.now() + POLLS[poll++];
      } else {
        pending = null;
        wakeAt = h.cluster.now();
      }
    }
  }

  /** Runs the clients and the cluster for {@code ms} simulated milliseconds. */
  void runFor(long ms) {
    long end = h.cluster.now() + ms;
    while (true) {
      Client next = Arrays.stream(clients).min((a, b) -> Long.compare(a.wakeAt, b.wakeAt)).get();
      if (next.wakeAt > end) {
        break;
      }
      if (next.wakeAt > h.cluster.now()) {
        h.sleep(next.wakeAt - h.cluster.now());
      } else {
        h.sleep(1); // let the cluster move between two offers of one client
      }
      next.wake();
    }
    if (end > h.cluster.now()) {
      h.sleep(end - h.cluster.now());
    }
  }

  /** Stops the clients; returns every value a client saw committed. */
  List<ByteString> stop() {
    List<ByteString> all = new ArrayList<>();
    for (Client c : clients) {
      all.addAll(c.values);
    }
    return all;
  }

  /**
   * The labs' concurrent {@code go cfg.one(cmd, expected, true)} calls: offers each command to a
   * leader, waits for its commit on {@code expectedServers}, re-offers commands whose entry was
   * lost, for up to 10 s in all.
   */
  static void oneConcurrently(LabHarness h, List<ByteString> commands, int expectedServers) {
    long t0 = h.cluster.now();
    long[] index = new long[commands.size()];
    long[] offeredAt = new long[commands.size()];
    boolean[] done = new boolean[commands.size()];
    int starts = 0;
    int remaining = commands.size();
    while (remaining > 0) {
      if (h.cluster.now() - t0 > 10_000) {
        fail("one(%s) failed to reach agreement%s", LabHarness.show(commands.get(0)), h.replay());
      }
      for (int k = 0; k < commands.size(); k++) {
        if (done[k]) {
          continue;
        }
        if (index[k] > 0) {
          LabHarness.Committed c = h.nCommitted(index[k]);
          if (c.count() >= expectedServers && commands.get(k).equals(c.command())) {
            done[k] = true;
            remaining--;
            continue;
          }
          if (h.cluster.now() - offeredAt[k] < 2_000) {
            continue;
          }
        }
        index[k] = 0;
        for (int si = 0; si < h.n && index[k] == 0; si++) {
          starts = (starts + 1) % h.n;
          if (h.connected(starts) && h.up(starts)) {
            index[k] = h.startCommand(starts, commands.get(k));
          }
        }
        offeredAt[k] = h.cluster.now();
      }
      h.sleep(20);
    }
  }
}
