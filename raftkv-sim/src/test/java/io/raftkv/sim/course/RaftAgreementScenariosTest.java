package io.raftkv.sim.course;

import static io.raftkv.sim.course.LabHarness.ELECTION_TIMEOUT_MS;
import static io.raftkv.sim.course.LabHarness.cmd;
import static io.raftkv.sim.course.RaftElectionScenariosTest.seed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The course's log-agreement scenarios (2B) on the simulator, with their faults and budgets. */
class RaftAgreementScenariosTest {

  /**
   * The index after the current leader's no-op, once that no-op is committed everywhere: where the
   * first command of a quiet cluster lands (the labs' index 1).
   */
  private static long firstCommandIndex(LabHarness h) {
    int leader = h.checkOneLeader();
    long noop = h.lastIndex(leader);
    h.waitCommitted(noop, h.n, -1);
    return noop + 1;
  }

  /** BasicAgree (3): commands land at consecutive indexes; nothing commits before it is offered. */
  @Test
  void basicAgree() {
    try (LabHarness h = new LabHarness(3, false, seed(11))) {
      long base = firstCommandIndex(h);
      for (long k = 0; k < 3; k++) {
        long index = base + k;
        assertThat(h.nCommitted(index).count())
            .as("some have committed before Start()" + h.replay())
            .isZero();
        long xindex = h.one(cmd(index * 100), 3, false);
        assertThat(xindex).as("got index" + h.replay()).isEqualTo(index);
      }
    }
  }

  /** RPCBytes (3): ten 5,000-byte commands; each entry goes to each peer about once. */
  @Test
  void rpcBytes() {
    try (LabHarness h = new LabHarness(3, false, seed(12))) {
      long index = h.one(cmd(99), 3, false);
      long bytes0 = h.cluster.totalBytes();
      long sent = 0;
      for (int k = 0; k < 10; k++) {
        byte[] payload = new byte[5000];
        for (int b = 0; b < payload.length; b++) {
          payload[b] = (byte) ('a' + h.random.nextInt(26));
        }
        ByteString command = ByteString.copyFrom(payload);
        long xindex = h.one(command, 3, false);
        assertThat(xindex).as("got index" + h.replay()).isEqualTo(index + 1 + k);
        sent += payload.length;
      }
      long got = h.cluster.totalBytes() - bytes0;
      long expected = 3 * sent;
      assertThat(got).as("too many RPC bytes" + h.replay()).isLessThanOrEqualTo(expected + 50_000);
    }
  }

  /** FailAgree (3): a disconnected follower does not stop commits; after it returns all agree. */
  @Test
  void failAgree() {
    try (LabHarness h = new LabHarness(3, false, seed(13))) {
      h.one(cmd(101), 3, false);
      int leader = h.checkOneLeader();
      h.disconnect((leader + 1) % 3);

      h.one(cmd(102), 2, false);
      h.one(cmd(103), 2, false);
      h.sleep(ELECTION_TIMEOUT_MS);
      h.one(cmd(104), 2, false);
      h.one(cmd(105), 2, false);

      h.connect((leader + 1) % 3);
      h.one(cmd(106), 3, true);
      h.sleep(ELECTION_TIMEOUT_MS);
      h.one(cmd(107), 3, true);
    }
  }

  /**
   * FailNoAgree (5): with 3 of 5 followers cut off the leader accepts a command but nothing
   * commits; after healing the next command lands right after it (or after a new leader's no-op)
   * and commits on all.
   */
  @Test
  void failNoAgree() {
    try (LabHarness h = new LabHarness(5, false, seed(14))) {
      long first = h.one(cmd(10), 5, false);

      int leader = h.checkOneLeader();
      h.disconnect((leader + 1) % 5);
      h.disconnect((leader + 2) % 5);
      h.disconnect((leader + 3) % 5);

      long index = h.startCommand(leader, cmd(20));
      assertThat(index).as("leader rejected Start()" + h.replay()).isEqualTo(first + 1);

      h.sleep(2 * ELECTION_TIMEOUT_MS);
      assertThat(h.nCommitted(index).count())
          .as("committed without a majority" + h.replay())
          .isZero();

      h.connect((leader + 1) % 5);
      h.connect((leader + 2) % 5);
      h.connect((leader + 3) % 5);

      // The disconnected majority may have had their own leader and no-op (one index more).
      int leader2 = h.checkOneLeader();
      long index2 = h.startCommand(leader2, cmd(30));
      if (index2 == 0) {
        leader2 = h.checkOneLeader();
        index2 = h.startCommand(leader2, cmd(30));
      }
      assertThat(index2).as("unexpected index" + h.replay()).isBetween(index, index + 2);

      h.one(cmd(1000), 5, true);
    }
  }

  /** ConcurrentStarts (3): five commands offered at once in one term all commit. */
  @Test
  void concurrentStarts() {
    try (LabHarness h = new LabHarness(3, false, seed(15))) {
      boolean success = false;
      loop:
      for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) {
          h.sleep(3000); // give the solution some time to settle
        }
        int leader = h.checkOneLeader();
        long term = h.term(leader);
        if (h.startCommand(leader, cmd(1)) == 0) {
          continue; // leader moved on really quickly
        }
        List<Long> indexes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
          long index = h.startCommand(leader, cmd(100 + i));
          if (index == 0 || h.term(leader) != term) {
            continue loop;
          }
          indexes.add(index);
        }
        for (int j = 0; j < 3; j++) {
          if (h.term(j) != term) {
            continue loop; // term changed: can't expect low RPC counts
          }
        }
        List<ByteString> cmds = new ArrayList<>();
        for (long index : indexes) {
          ByteString c = h.waitCommitted(index, 3, term);
          if (c == null) {
            continue loop;
          }
          cmds.add(c);
        }
        for (int i = 0; i < 5; i++) {
          assertThat(cmds).as("cmd %d missing%s", 100 + i, h.replay()).contains(cmd(100 + i));
        }
        success = true;
        break;
      }
      assertThat(success).as("term changed too often" + h.replay()).isTrue();
    }
  }

  /**
   * Rejoin (3): an isolated leader takes 3 uncommitted entries; the new leader commits others; when
   * the old one returns its tail is overwritten and all agree.
   */
  @Test
  void rejoin() {
    try (LabHarness h = new LabHarness(3, false, seed(16))) {
      h.one(cmd(101), 3, true);

      int leader1 = h.checkOneLeader();
      h.disconnect(leader1);
      h.startCommand(leader1, cmd(102));
      h.startCommand(leader1, cmd(103));
      h.startCommand(leader1, cmd(104));

      // The new leader commits, also for index 2.
      h.one(cmd(103), 2, true);

      int leader2 = h.checkOneLeader();
      h.disconnect(leader2);

      h.connect(leader1);
      h.one(cmd(104), 2, true);

      h.connect(leader2);
      h.one(cmd(105), 3, true);
    }
  }

  /**
   * Backup (5): 50 uncommitted entries on an isolated pair, 50 committed elsewhere, another 50
   * uncommitted on a new isolated pair; the original pair plus one must then commit 50 more: the
   * leader has to skip back over conflicting entries quickly.
   */
  @Test
  void backup() {
    try (LabHarness h = new LabHarness(5, false, seed(17))) {
      h.one(h.randomCmd(), 5, true);

      // Put the leader and one follower in a partition.
      int leader1 = h.checkOneLeader();
      h.disconnect((leader1 + 2) % 5);
      h.disconnect((leader1 + 3) % 5);
      h.disconnect((leader1 + 4) % 5);

      // Lots of commands that won't commit.
      for (int i = 0; i < 50; i++) {
        h.startCommand(leader1, h.randomCmd());
      }
      h.sleep(ELECTION_TIMEOUT_MS / 2);

      h.disconnect(leader1);
      h.disconnect((leader1 + 1) % 5);

      // Allow the other partition to recover.
      h.connect((leader1 + 2) % 5);
      h.connect((leader1 + 3) % 5);
      h.connect((leader1 + 4) % 5);

      // Lots of successful commands to the new group.
      for (int i = 0; i < 50; i++) {
        h.one(h.randomCmd(), 3, true);
      }

      // Now another partitioned leader and one follower.
      int leader2 = h.checkOneLeader();
      int other = (leader1 + 2) % 5;
      if (leader2 == other) {
        other = (leader2 + 1) % 5;
      }
      h.disconnect(other);

      // Lots more commands that won't commit.
      for (int i = 0; i < 50; i++) {
        h.startCommand(leader2, h.randomCmd());
      }
      h.sleep(ELECTION_TIMEOUT_MS / 2);

      // Bring the original leader back to life.
      for (int i = 0; i < 5; i++) {
        h.disconnect(i);
      }
      h.connect(leader1);
      h.connect((leader1 + 1) % 5);
      h.connect(other);

      // Lots of successful commands to the new group.
      for (int i = 0; i < 50; i++) {
        h.one(h.randomCmd(), 3, true);
      }

      // Now everyone.
      for (int i = 0; i < 5; i++) {
        h.connect(i);
      }
      h.one(h.randomCmd(), 5, true);
    }
  }

  /**
   * Count (3): an election takes 1–30 RPCs; 11 commands in a stable term take at most (10+1+3)×3;
   * an idle second at most 3×20.
   */
  @Test
  void count() {
    try (LabHarness h = new LabHarness(3, false, seed(18))) {
      h.checkOneLeader();
      long total1 = h.rpcTotal();
      assertThat(total1).as("RPCs to elect the initial leader" + h.replay()).isBetween(1L, 30L);

      boolean success = false;
      long total2 = 0;
      loop:
      for (int attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) {
          h.sleep(3000);
        }
        int leader = h.checkOneLeader();
        total1 = h.rpcTotal();
        int iters = 10;
        long term = h.term(leader);
        long starti = h.startCommand(leader, cmd(1));
        if (starti == 0) {
          continue;
        }
        List<ByteString> cmds = new ArrayList<>();
        for (int i = 1; i < iters + 2; i++) {
          ByteString x = h.randomCmd();
          cmds.add(x);
          long index1 = h.startCommand(leader, x);
          if (h.term(leader) != term || index1 == 0) {
            continue loop;
          }
          if (index1 != starti + i) {
            fail("Start() failed: index %d, expected %d%s", index1, starti + i, h.replay());
          }
        }
        for (int i = 1; i < iters + 1; i++) {
          ByteString c = h.waitCommitted(starti + i, 3, term);
          if (c == null) {
            continue loop;
          }
          assertThat(c)
              .as("wrong value committed for index " + (starti + i))
              .isEqualTo(cmds.get(i - 1));
        }
        total2 = h.rpcTotal();
        for (int j = 0; j < 3; j++) {
          if (h.term(j) != term) {
            continue loop;
          }
        }
        assertThat(total2 - total1)
            .as("too many RPCs for %d entries%s", iters, h.replay())
            .isLessThanOrEqualTo((iters + 1 + 3) * 3L);
        success = true;
        break;
      }
      assertThat(success).as("term changed too often" + h.replay()).isTrue();

      h.sleep(ELECTION_TIMEOUT_MS);
      long total3 = h.rpcTotal();
      assertThat(total3 - total2)
          .as("too many RPCs for 1 second of idleness" + h.replay())
          .isLessThanOrEqualTo(3 * 20L);
    }
  }
}
