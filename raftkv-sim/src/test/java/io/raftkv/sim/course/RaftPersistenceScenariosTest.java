package io.raftkv.sim.course;

import static io.raftkv.sim.course.LabHarness.ELECTION_TIMEOUT_MS;
import static io.raftkv.sim.course.LabHarness.cmd;
import static io.raftkv.sim.course.RaftElectionScenariosTest.seed;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The course's persistence scenarios (2C) on the simulator: crashes keep only what a node made
 * durable; Figure 8, unreliable networks and churn.
 */
class RaftPersistenceScenariosTest {

  /** Persist1 (3): restart all, then the leader, then a follower; lagging servers catch up. */
  @Test
  void persist1() {
    try (LabHarness h = new LabHarness(3, false, seed(21))) {
      h.one(cmd(11), 3, true);

      // Crash and re-start all.
      for (int i = 0; i < 3; i++) {
        h.start(i);
      }
      for (int i = 0; i < 3; i++) {
        h.disconnect(i);
        h.connect(i);
      }
      h.one(cmd(12), 3, true);

      int leader1 = h.checkOneLeader();
      h.disconnect(leader1);
      h.start(leader1);
      h.connect(leader1);
      h.one(cmd(13), 3, true);

      int leader2 = h.checkOneLeader();
      h.disconnect(leader2);
      long index14 = h.one(cmd(14), 2, true);
      h.start(leader2);
      h.connect(leader2);
      h.waitCommitted(index14, 3, -1); // wait for leader2 to join before killing i3

      int i3 = (h.checkOneLeader() + 1) % 3;
      h.disconnect(i3);
      h.one(cmd(15), 2, true);
      h.start(i3);
      h.connect(i3);

      h.one(cmd(16), 3, true);
    }
  }

  /**
   * Persist2 (5): five rounds of committing on all, then on three; cutting everyone off; restarting
   * the two stale servers and, a second later, the up-to-date one: those three commit.
   */
  @Test
  void persist2() {
    try (LabHarness h = new LabHarness(5, false, seed(22))) {
      int index = 1;
      for (int iters = 0; iters < 5; iters++) {
        h.one(cmd(10 + index), 5, true);
        index++;

        int leader1 = h.checkOneLeader();
        h.disconnect((leader1 + 1) % 5);
        h.disconnect((leader1 + 2) % 5);

        h.one(cmd(10 + index), 3, true);
        index++;

        h.disconnect(leader1);
        h.disconnect((leader1 + 3) % 5);
        h.disconnect((leader1 + 4) % 5);

        h.start((leader1 + 1) % 5);
        h.start((leader1 + 2) % 5);
        h.connect((leader1 + 1) % 5);
        h.connect((leader1 + 2) % 5);

        h.sleep(ELECTION_TIMEOUT_MS);

        h.start((leader1 + 3) % 5);
        h.connect((leader1 + 3) % 5);

        h.one(cmd(10 + index), 3, true);
        index++;

        h.connect((leader1 + 4) % 5);
        h.connect(leader1);
      }
      h.one(cmd(1000), 5, true);
    }
  }

  /**
   * Persist3 (3): a follower cut off, a commit on two, leader and the other follower crash; the old
   * leader restarts with the stale follower and they commit; then all three agree.
   */
  @Test
  void persist3() {
    try (LabHarness h = new LabHarness(3, false, seed(23))) {
      h.one(cmd(101), 3, true);

      int leader = h.checkOneLeader();
      h.disconnect((leader + 2) % 3);

      h.one(cmd(102), 2, true);

      h.crash(leader);
      h.crash((leader + 1) % 3);

      h.connect((leader + 2) % 3);

      h.start(leader);
      h.connect(leader);

      h.one(cmd(103), 2, true);

      h.start((leader + 1) % 3);
      h.connect((leader + 1) % 3);

      h.one(cmd(104), 3, true);
    }
  }

  /**
   * Figure8 (5, reliable): 1,000 rounds of offering a command to every live server, waiting a
   * little (sometimes long), and crashing the leader; keeping three up. At the end all restart and
   * agree. Old-term entries must never be committed by counting replicas (§5.4.2).
   */
  @Test
  void figure8() {
    try (LabHarness h = new LabHarness(5, false, seed(24))) {
      h.one(h.randomCmd(), 1, true);

      int nup = 5;
      for (int iters = 0; iters < 1000; iters++) {
        int leader = -1;
        for (int i = 0; i < 5; i++) {
          if (h.up(i) && h.startCommand(i, h.randomCmd()) > 0) {
            leader = i;
          }
        }
        if (h.random.nextInt(1000) < 100) {
          h.sleep(h.random.nextLong(ELECTION_TIMEOUT_MS / 2));
        } else {
          h.sleep(h.random.nextLong(13));
        }
        if (leader != -1) {
          h.crash(leader);
          nup--;
        }
        if (nup < 3) {
          int s = h.random.nextInt(5);
          if (!h.up(s)) {
            h.start(s);
            h.connect(s);
            nup++;
          }
        }
      }
      for (int i = 0; i < 5; i++) {
        if (!h.up(i)) {
          h.start(i);
          h.connect(i);
        }
      }
      h.one(h.randomCmd(), 5, true);
    }
  }

  /** UnreliableAgree (5, unreliable): 49 rounds of 5 concurrent commands, then all agree. */
  @Test
  void unreliableAgree() {
    try (LabHarness h = new LabHarness(5, true, seed(25))) {
      for (int iters = 1; iters < 50; iters++) {
        List<ByteString> batch = new ArrayList<>();
        for (int j = 0; j < 4; j++) {
          batch.add(cmd(100L * iters + j));
        }
        batch.add(cmd(iters));
        Clients.oneConcurrently(h, batch, 1);
      }
      h.setUnreliable(false);
      h.one(cmd(100), 5, true);
    }
  }

  /**
   * Figure8Unreliable (5): Figure 8 on the unreliable network, with long reordering of replies from
   * round 200; the leader is cut off (not crashed) half the time.
   */
  @Test
  void figure8Unreliable() {
    try (LabHarness h = new LabHarness(5, true, seed(26))) {
      h.one(cmd(h.random.nextInt(10000)), 1, true);

      int nup = 5;
      for (int iters = 0; iters < 1000; iters++) {
        if (iters == 200) {
          // As the course's network does: replies (not requests) held back 200 ms + up to ~2 s.
          h.cluster.network().setLongReorderingRepliesOnly(true);
          h.cluster.setLongReordering(true);
        }
        int leader = -1;
        for (int i = 0; i < 5; i++) {
          if (h.startCommand(i, cmd(h.random.nextInt(10000))) > 0 && h.connected(i)) {
            leader = i;
          }
        }
        if (h.random.nextInt(1000) < 100) {
          h.sleep(h.random.nextLong(ELECTION_TIMEOUT_MS / 2));
        } else {
          h.sleep(h.random.nextLong(13));
        }
        if (leader != -1 && h.random.nextInt(1000) < ELECTION_TIMEOUT_MS / 2) {
          h.disconnect(leader);
          nup--;
        }
        if (nup < 3) {
          int s = h.random.nextInt(5);
          if (!h.connected(s)) {
            h.connect(s);
            nup++;
          }
        }
      }
      for (int i = 0; i < 5; i++) {
        if (!h.connected(i)) {
          h.connect(i);
        }
      }
      h.one(cmd(h.random.nextInt(10000)), 5, true);
    }
  }

  /** ReliableChurn (5): clients keep submitting while servers are cut off, crash and restart. */
  @Test
  void reliableChurn() {
    churn(false, seed(27));
  }

  /** UnreliableChurn (5): the same on the unreliable network. */
  @Test
  void unreliableChurn() {
    churn(true, seed(28));
  }

  /**
   * Three clients submit to every server and record what they saw committed; 20 rounds 0.7 s apart:
   * 20 % cut one off, 50 % restart and reconnect one, 20 % crash one. Then heal: every index is
   * committed on all 5 and every value a client saw committed is in the final log.
   */
  private static void churn(boolean unreliable, long seed) {
    try (LabHarness h = new LabHarness(5, unreliable, seed)) {
      Clients clients = new Clients(h, 3);
      for (int iters = 0; iters < 20; iters++) {
        if (h.random.nextInt(1000) < 200) {
          h.disconnect(h.random.nextInt(5));
        }
        if (h.random.nextInt(1000) < 500) {
          int i = h.random.nextInt(5);
          if (!h.up(i)) {
            h.start(i);
          }
          h.connect(i);
        }
        if (h.random.nextInt(1000) < 200) {
          int i = h.random.nextInt(5);
          if (h.up(i)) {
            h.crash(i);
          }
        }
        // Make crash/restart infrequent enough that Raft can usually get an entry in before the
        // next change.
        clients.runFor(ELECTION_TIMEOUT_MS * 7 / 10);
      }
      clients.runFor(ELECTION_TIMEOUT_MS);
      h.setUnreliable(false);
      for (int i = 0; i < 5; i++) {
        if (!h.up(i)) {
          h.start(i);
        }
        h.connect(i);
      }
      List<ByteString> seen = clients.stop();

      long lastIndex = h.one(h.randomCmd(), 5, true);
      List<ByteString> really = new ArrayList<>();
      for (long index = 1; index <= lastIndex; index++) {
        really.add(h.waitCommitted(index, 5, -1));
      }
      for (ByteString v : seen) {
        assertThat(really)
            .as("didn't find a value a client saw committed" + h.replay())
            .contains(v);
      }
      assertThat(seen).as("clients saw nothing committed" + h.replay()).isNotEmpty();
    }
  }
}
