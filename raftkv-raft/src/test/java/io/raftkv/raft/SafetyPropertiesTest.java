package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Figure 3 of the paper ("Raft guarantees that each of these properties is true at all times"):
 * Election Safety, Log Matching, Leader Completeness and State Machine Safety, plus the
 * linearizability of ReadIndex (§8), checked after every step of seeded random schedules that lose,
 * reorder and duplicate messages, partition the cluster and restart nodes from what they persisted.
 * At the end the network heals and the cluster must converge (liveness).
 */
class SafetyPropertiesTest {

  private static final UnaryOperator<RaftConfig> PAPER = c -> c;
  private static final UnaryOperator<RaftConfig> FULL =
      c -> c.withPreVoteAndCheckQuorum(true, true).withReplicationLimits(4, 64);

  static Stream<Arguments> schedules() {
    return LongStream.rangeClosed(1, 24)
        .mapToObj(seed -> Arguments.of(seed, 3 + (int) (seed % 3), seed % 2 == 0));
  }

  /** The paper's settings and PreVote + CheckQuorum with a small pipeline, on 3 to 5 nodes. */
  @ParameterizedTest(name = "seed {0}, {1} nodes, PreVote+CheckQuorum {2}")
  @MethodSource("schedules")
  void figure3PropertiesHoldUnderRandomFaults(long seed, int n, boolean full) {
    Run run = new Run(seed, n, full ? FULL : PAPER);
    run.run(10_000);
    assertThat(run.leaders).as("the schedule forced several elections").hasSizeGreaterThan(3);
  }

  /**
   * Random settings: heartbeat, timeouts, pipeline depth (down to one append), message size (down
   * to one entry), PreVote and CheckQuorum each on or off, 1 to 5 nodes. Timeout ranges are at
   * least 3 ticks wide: with all nodes ticking in lockstep, a range of one value gives every node
   * the same timeout and split votes forever, as §5.2 predicts without randomization.
   */
  static Stream<Arguments> variants() {
    // -Draftkv.safety.variants=5000 explores further (about 10 ms a schedule).
    return LongStream.rangeClosed(1, Long.getLong("raftkv.safety.variants", 40))
        .mapToObj(
            seed -> {
              SplittableRandom r = new SplittableRandom(seed * 31);
              int hb = 1 + r.nextInt(3);
              int min = hb + 1 + r.nextInt(10);
              int max = min + 3 + r.nextInt(10);
              int inflight = new int[] {1, 2, 256}[r.nextInt(3)];
              long bytes = new long[] {1, 64, 1 << 20}[r.nextInt(3)];
              boolean preVote = r.nextBoolean();
              boolean checkQuorum = r.nextBoolean();
              int n = 1 + r.nextInt(5);
              UnaryOperator<RaftConfig> tweak =
                  c ->
                      c.withHeartbeat(hb)
                          .withElectionTimeout(min, max)
                          .withReplicationLimits(inflight, bytes)
                          .withPreVoteAndCheckQuorum(preVote, checkQuorum);
              String name =
                  String.format(
                      "%d nodes, heartbeat %d, timeout [%d,%d), inflight %d, bytes %d, PreVote %b,"
                          + " CheckQuorum %b",
                      n, hb, min, max, inflight, bytes, preVote, checkQuorum);
              return Arguments.of(seed, n, Named.of(name, tweak));
            });
  }

  @ParameterizedTest(name = "seed {0}: {2}")
  @MethodSource("variants")
  void figure3PropertiesHoldWithRandomSettings(long seed, int n, UnaryOperator<RaftConfig> tweak) {
    new Run(seed, n, tweak).run(10_000);
  }

  private static final class Run {
    final SplittableRandom rnd;
    final TestNetwork net;

    /** term -> the one leader of that term (Election Safety). */
    final Map<Long, Integer> leaders = new TreeMap<>();

    /** index -> the entry applied at it by anyone (State Machine Safety). */
    final Map<Long, Entry> applied = new TreeMap<>();

    /** read context -> highest index committed anywhere when the read was asked. */
    final Map<Long, Long> readFloor = new TreeMap<>();

    final Map<Integer, Integer> appliedSeen = new TreeMap<>();
    final Map<Integer, Integer> readsSeen = new TreeMap<>();
    long nextContext = 1;
    int proposals;
    int readsReleased;

    Run(long seed, int n, UnaryOperator<RaftConfig> tweak) {
      rnd = new SplittableRandom(seed);
      net = TestNetwork.create(n, seed, tweak);
    }

    void run(int steps) {
      for (int step = 0; step < steps; step++) {
        act();
        net.flush();
        check(step);
      }
      // Liveness: once the network heals, a leader emerges and every node catches up.
      net.heal();
      net.inFlight.clear();
      int ticks = 0;
      while (true) {
        net.tickAll();
        check(-1);
        Integer leader = net.leader();
        if (leader != null && ticks > 30) {
          long commit = net.raft(leader).commitIndex();
          if (net.raft(leader).lastIndex() == commit
              && net.ids().stream().allMatch(id -> net.raft(id).commitIndex() == commit)) {
            break;
          }
        }
        assertThat(++ticks).as("the healed cluster converges: %s", describe()).isLessThan(500);
      }
      Integer leader = net.leader();
      for (int id : net.ids()) {
        assertThat(net.node(id).storage.entries).isEqualTo(net.node(leader).storage.entries);
      }
      assertThat(applied.size()).as("some commands were committed").isGreaterThan(proposals / 10);
    }

    String describe() {
      StringBuilder b = new StringBuilder();
      for (int id : net.ids()) {
        b.append("\n  ").append(net.raft(id).status());
      }
      return b.toString();
    }

    void act() {
      List<Integer> ids = net.ids();
      int id = ids.get(rnd.nextInt(ids.size()));
      int r = rnd.nextInt(100);
      if (r < 30) {
        net.raft(id).tick();
      } else if (r < 65) {
        // Deliver a random in-flight message: reordering.
        if (!net.inFlight.isEmpty()) {
          RaftMessage m = net.inFlight.remove(rnd.nextInt(net.inFlight.size()));
          if (!net.dropped(m)) {
            net.deliver(m);
          }
        }
      } else if (r < 70) {
        if (!net.inFlight.isEmpty()) {
          net.inFlight.remove(rnd.nextInt(net.inFlight.size())); // loss
        }
      } else if (r < 72) {
        if (!net.inFlight.isEmpty()) {
          net.inFlight.add(net.inFlight.get(rnd.nextInt(net.inFlight.size()))); // duplicate
        }
      } else if (r < 85) {
        if (net.raft(id).propose(TestNetwork.data("c" + proposals)) > 0) {
          proposals++;
        }
      } else if (r < 90) {
        long ctx = nextContext++;
        long floor = ids.stream().mapToLong(i -> net.raft(i).commitIndex()).max().orElse(0);
        if (net.raft(id).readIndex(ctx)) {
          readFloor.put(ctx, floor);
        }
      } else if (r < 92) {
        net.heal();
        if (rnd.nextBoolean() && ids.size() > 1) {
          List<Integer> minority = new ArrayList<>();
          List<Integer> rest = new ArrayList<>(ids);
          int size = 1 + rnd.nextInt(ids.size() / 2);
          for (int i = 0; i < size; i++) {
            minority.add(rest.remove(rnd.nextInt(rest.size())));
          }
          net.partition(minority, rest);
        }
      } else if (r < 93) {
        // The state machine survives the crash with a random prefix of what it applied.
        long kept = rnd.nextLong(net.node(id).storage.hardState.getCommit() + 1);
        kept = Math.min(kept, net.node(id).applied.size());
        net.restart(id, kept);
        appliedSeen.put(id, (int) kept);
        readsSeen.put(id, 0);
      } else if (r < 94) {
        net.raft(id).campaign();
      } else if (r < 95) {
        net.raft(id).transferLeadership(ids.get(rnd.nextInt(ids.size())));
      } else {
        for (int i : ids) {
          net.raft(i).tick();
        }
      }
    }

    void check(int step) {
      for (int id : net.ids()) {
        Raft raft = net.raft(id);
        String where = "step " + step + ", node " + id;
        // Election Safety: at most one leader can be elected in a given term.
        if (raft.role() == Role.LEADER) {
          Integer prior = leaders.putIfAbsent(raft.term(), id);
          if (prior == null) {
            // Leader Completeness: a new leader holds every entry committed in earlier terms.
            List<Entry> log = net.node(id).storage.entries;
            for (Entry e : applied.values()) {
              assertThat(e.getIndex()).as(where).isLessThanOrEqualTo(log.size());
              assertThat(log.get((int) e.getIndex() - 1)).as(where).isEqualTo(e);
            }
          } else {
            assertThat(prior).as("one leader in term %d (%s)", raft.term(), where).isEqualTo(id);
          }
        }
        // State Machine Safety: no two nodes apply different entries at one index.
        List<Entry> mine = net.node(id).applied;
        int seen = appliedSeen.getOrDefault(id, 0);
        for (int i = seen; i < mine.size(); i++) {
          Entry e = mine.get(i);
          assertThat(e.getIndex()).as(where).isEqualTo(i + 1L);
          Entry other = applied.putIfAbsent(e.getIndex(), e);
          if (other != null) {
            assertThat(e).as(where).isEqualTo(other);
          }
        }
        appliedSeen.put(id, mine.size());
        // ReadIndex (§8): a read's index covers everything committed before the read was asked.
        List<ReadState> reads = net.node(id).readStates;
        int readsDone = readsSeen.getOrDefault(id, 0);
        for (int i = readsDone; i < reads.size(); i++) {
          ReadState rs = reads.get(i);
          assertThat(rs.index())
              .as("read %d at %s", rs.context(), where)
              .isGreaterThanOrEqualTo(readFloor.get(rs.context()));
        }
        readsReleased += reads.size() - readsDone;
        readsSeen.put(id, reads.size());
      }
      if (step % 50 == 0) {
        checkLogMatching(step);
      }
    }

    /** Log Matching: same index and term implies identical logs up to that index. */
    void checkLogMatching(int step) {
      List<Integer> ids = net.ids();
      for (int a : ids) {
        for (int b : ids) {
          if (a >= b) {
            continue;
          }
          List<Entry> la = net.node(a).storage.entries;
          List<Entry> lb = net.node(b).storage.entries;
          int common = Math.min(la.size(), lb.size());
          for (int i = common - 1; i >= 0; i--) {
            if (la.get(i).getTerm() == lb.get(i).getTerm()) {
              assertThat(la.subList(0, i + 1))
                  .as("logs of %d and %d at step %d", a, b, step)
                  .isEqualTo(lb.subList(0, i + 1));
              break;
            }
          }
        }
      }
    }
  }
}
