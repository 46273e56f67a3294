package io.raftkv.sim;

import com.google.protobuf.ByteString;
import io.raftkv.node.Compaction;
import io.raftkv.raft.RaftConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * One random fault scenario, entirely determined by its seed: 3, 5 or 7 nodes, random core
 * settings, then a few to tens of simulated seconds of client commands and reads, crashes and
 * restarts (of the leader and of others, with and without a majority left), paused processes,
 * partitions (majority/minority, isolated leader, non-transitive, one-way), unreliable and
 * long-reordering periods, duplicates, leadership transfers and forced campaigns. Some healed
 * periods happen in the middle and one at the end; each is checked for liveness. The safety
 * checkers watch every event.
 *
 * <p>Thread-safety: an instance runs on one thread; different seeds may run in parallel.
 */
public final class RandomScenario {
  private static final long MAX_EVENTS = 5_000_000;
  private final long seed;
  private final Consumer<String> log;
  private final SplittableRandom random;
  private final SimCluster cluster;
  private final SafetyCheckers checkers;
  private final List<Violation> liveness = new ArrayList<>();
  private long commands;
  private long reads;

  /** Random membership changes, in half of the seeds (null in the others). */
  private final MembershipChanges membership;

  /** Spare nodes beside the first configuration, for membership changes to add. */
  static final int SPARES = 3;

  /**
   * @param log receives a line per scenario action and, when {@code trace}, per trace event
   */
  public RandomScenario(long seed, Consumer<String> log, boolean trace) {
    this.seed = seed;
    this.log = log;
    SplittableRandom master = new SplittableRandom(seed);
    this.random = master.split();
    SimConfig config = randomConfig(master.split());
    long clusterSeed = master.nextLong();
    // Drawn after everything else, so that seeds without membership changes run as they always did.
    SplittableRandom membershipRandom = master.split();
    if (membershipRandom.nextInt(2) == 0) {
      config = withSpares(config);
    }
    this.cluster = new SimCluster(config, clusterSeed);
    this.membership =
        config.initialVoters() < config.nodes()
            ? new MembershipChanges(cluster, membershipRandom, log)
            : null;
    this.checkers = SafetyCheckers.attach(cluster);
    // Far above what a healthy scenario needs (tens of thousands per simulated second at most).
    cluster.setEventLimit(MAX_EVENTS);
    if (trace) {
      cluster.addObserver(new TraceRecorder(log));
    }
  }

  public RandomScenario(long seed) {
    this(seed, line -> {}, false);
  }

  public SimCluster cluster() {
    return cluster;
  }

  private static SimConfig randomConfig(SplittableRandom r) {
    int nodes = 3 + 2 * r.nextInt(3);
    int electionMin = 10 + r.nextInt(11);
    int electionMax = electionMin + 5 + r.nextInt(electionMin + 1);
    int heartbeat = 1 + r.nextInt(Math.max(1, electionMin / 4));
    int inflight = r.nextInt(4) == 0 ? 1 + r.nextInt(4) : 256;
    long messageBytes = r.nextInt(4) == 0 ? 64 + r.nextInt(2048) : 1 << 20;
    boolean preVote = r.nextInt(4) != 0;
    boolean checkQuorum = r.nextInt(4) != 0;
    RaftConfig template =
        new RaftConfig(
            0,
            SimConfig.voters(nodes),
            electionMin,
            electionMax,
            heartbeat,
            inflight,
            messageBytes,
            1 << 20,
            preVote,
            checkQuorum);
    return new SimConfig(nodes, 10, template, randomCompaction(r));
  }

  /**
   * The same cluster plus {@link #SPARES} nodes outside its first configuration, with CheckQuorum
   * on: its leader lease is what keeps a removed server that never heard of its removal from
   * deposing leaders with ever higher terms (dissertation §4.2.3; without it Raft has no defence,
   * and the server always runs with it).
   */
  public static SimConfig withSpares(SimConfig c) {
    RaftConfig t = c.raftTemplate();
    return new SimConfig(
        c.nodes() + SPARES,
        c.tickMillis(),
        t.withPreVoteAndCheckQuorum(t.preVote(), true),
        c.compaction(),
        c.nodes());
  }

  /**
   * Log compaction (§7) for a random scenario: off in a third of the seeds, else a snapshot every
   * few entries with a short catch-up tail, so that followers that were down or cut off often need
   * a snapshot, and transfers meet crashes, partitions and lost or duplicated messages.
   */
  public static Compaction randomCompaction(SplittableRandom r) {
    if (r.nextInt(3) == 0) {
      return Compaction.OFF;
    }
    return new Compaction(1 + r.nextInt(20), r.nextInt(3) == 0 ? 0 : r.nextInt(10));
  }

  /** "off", or "every N, keep M". */
  public static String describe(Compaction c) {
    return c.enabled() ? "every " + c.snapshotEntries() + ", keep " + c.catchupEntries() : "off";
  }

  /** Runs the whole scenario. */
  public ScenarioResult run() {
    SimConfig c = cluster.config();
    RaftConfig t = c.raftTemplate();
    log.accept(
        "seed "
            + seed
            + ": "
            + c.nodes()
            + " nodes, election "
            + t.electionTimeoutMinTicks()
            + "-"
            + t.electionTimeoutMaxTicks()
            + " ticks, heartbeat "
            + t.heartbeatTicks()
            + ", inflight "
            + t.maxInflightAppends()
            + ", message bytes "
            + t.maxMessageBytes()
            + ", preVote "
            + t.preVote()
            + ", checkQuorum "
            + t.checkQuorum()
            + ", compaction "
            + describe(c.compaction())
            + (membership != null
                ? ", membership changes (" + c.initialVoters() + " voters, " + SPARES + " spares)"
                : ""));
    long chaosMillis =
        random.nextInt(10) < 7 ? 3_000 + random.nextInt(12_000) : 15_000 + random.nextInt(45_000);
    List<Violation> all = new ArrayList<>();
    try {
      while (cluster.now() < chaosMillis && checkers.violations().isEmpty() && liveness.isEmpty()) {
        step();
        cluster.runFor(1 + random.nextInt(random.nextInt(8) == 0 ? 1_000 : 100));
      }
      healAndCheck("end");
    } catch (EventQueue.BudgetExceeded e) {
      all.add(new Violation("Event budget", e.getMessage(), cluster.now()));
    } catch (RuntimeException e) {
      // The core refusing an input (e.g. truncating a committed entry) is a finding, not a crash.
      StackTraceElement[] where = e.getStackTrace();
      all.add(
          new Violation(
              "Exception", e + (where.length > 0 ? " at " + where[0] : ""), cluster.now()));
    }
    all.addAll(checkers.violations());
    all.addAll(liveness);
    // No disk is wiped here: a node that says it lost data is a false detection.
    cluster.dataLossStops().forEach(stop -> all.add(stop.asUnexpected()));
    return new ScenarioResult(
        seed,
        c.nodes(),
        all,
        cluster.eventsProcessed(),
        cluster.now(),
        false,
        cluster.snapshotsInstalled());
  }

  private void step() {
    int n = cluster.size();
    int roll = random.nextInt(100);
    if (roll < 25) {
      int count = 1 + random.nextInt(8);
      int target = pickTargetPreferringLeader();
      for (int k = 0; k < count; k++) {
        int size = random.nextInt(10) == 0 ? random.nextInt(3000) : random.nextInt(40);
        StringBuilder text = new StringBuilder("c").append(commands++).append(':');
        for (int b = 0; b < size; b++) {
          text.append((char) ('a' + random.nextInt(26)));
        }
        ByteString cmd = ByteString.copyFromUtf8(text.toString());
        cluster.propose(target, cmd);
      }
      act("propose " + count + " to n" + target);
    } else if (roll < 33) {
      int target = pickTargetPreferringLeader();
      int count = 1 + random.nextInt(3);
      for (int k = 0; k < count; k++) {
        long context = cluster.readIndex(target);
        reads++;
        act(
            "readIndex on n"
                + target
                + (context != 0 ? " (context " + context + ")" : " (refused)"));
        cluster.runFor(random.nextInt(3));
      }
    } else if (roll < 39) {
      crash(random.nextInt(n));
    } else if (roll < 43) {
      int leader = cluster.currentLeader();
      if (leader >= 0) {
        crash(leader);
      }
    } else if (roll < 51) {
      List<Integer> down = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (!cluster.isUp(i)) {
          down.add(i);
        }
      }
      if (!down.isEmpty()) {
        int i = down.get(random.nextInt(down.size()));
        cluster.restart(i);
        act("restart n" + i);
      }
    } else if (roll < 61) {
      partition();
    } else if (roll < 67) {
      cluster.heal();
      act("heal links");
    } else if (roll < 71) {
      boolean on = random.nextBoolean();
      cluster.setUnreliable(on);
      act("unreliable " + on);
    } else if (roll < 74) {
      boolean on = random.nextInt(3) == 0;
      cluster.setLongReordering(on);
      act("long reordering " + on);
    } else if (roll < 77) {
      double p = random.nextBoolean() ? 0 : 0.05 + random.nextDouble() * 0.2;
      cluster.setDuplicateProbability(p);
      act("duplicates " + p);
    } else if (roll < 81) {
      int leader = cluster.currentLeader();
      if (leader >= 0) {
        int target = random.nextInt(n);
        boolean ok = cluster.transferLeadership(leader, target);
        act("transfer leadership n" + leader + " -> n" + target + (ok ? "" : " (refused)"));
      }
    } else if (roll < 84) {
      int i = random.nextInt(n);
      cluster.campaign(i);
      act("campaign n" + i);
    } else if (roll < 90) {
      int i = random.nextInt(n);
      if (random.nextBoolean()) {
        cluster.disconnect(i);
        act("disconnect n" + i);
      } else {
        cluster.connect(i);
        act("connect n" + i);
      }
    } else if (roll < 92) {
      healAndCheck("mid-run");
    } else if (roll < 96) {
      // A stopped process (SIGSTOP, a long GC): on resume it handles what waited in one turn and
      // catches up on the ticks it owes.
      int i = random.nextInt(n);
      if (cluster.isPaused(i)) {
        cluster.resume(i);
        act("resume n" + i);
      } else if (cluster.isUp(i)) {
        cluster.pause(i);
        act("pause n" + i);
      }
    } else if (membership != null) {
      membership.step();
    }
    // else: quiet period
  }

  private int pickTargetPreferringLeader() {
    int leader = cluster.currentLeader();
    return leader >= 0 && random.nextInt(5) != 0 ? leader : random.nextInt(cluster.size());
  }

  private void crash(int i) {
    if (!cluster.isUp(i)) {
      return;
    }
    int up = 0;
    for (int k = 0; k < cluster.size(); k++) {
      up += cluster.isUp(k) ? 1 : 0;
    }
    int quorum = cluster.size() / 2 + 1;
    // Keep a majority up most of the time, but not always: a minority must stay safe too.
    if (up - 1 < quorum && random.nextInt(3) != 0) {
      return;
    }
    cluster.crash(i);
    act("crash n" + i);
  }

  private void partition() {
    int n = cluster.size();
    int kind = random.nextInt(5);
    if (kind == 0 || kind == 1) {
      // Majority / minority (kind 1: the leader goes to the minority).
      List<Integer> order = shuffledNodes();
      int leader = cluster.currentLeader();
      if (kind == 1 && leader >= 0) {
        order.remove(Integer.valueOf(leader));
        order.add(0, leader);
      }
      int minority = 1 + random.nextInt(n / 2);
      int[] small = order.subList(0, minority).stream().mapToInt(Integer::intValue).toArray();
      int[] big = order.subList(minority, n).stream().mapToInt(Integer::intValue).toArray();
      cluster.partition(small, big);
      act("partition " + java.util.Arrays.toString(small) + " | " + java.util.Arrays.toString(big));
    } else if (kind == 2) {
      int leader = cluster.currentLeader();
      if (leader >= 0) {
        cluster.disconnect(leader);
        act("isolate leader n" + leader);
      }
    } else if (kind == 3) {
      // Non-transitive: a-b and b-c connected, a-c cut.
      cluster.heal();
      List<Integer> order = shuffledNodes();
      int a = order.get(0);
      int c = order.get(2);
      cluster.cut(a, c);
      act("non-transitive: cut n" + a + " <-> n" + c + " only");
    } else {
      int a = random.nextInt(n);
      int b = random.nextInt(n);
      if (a != b) {
        cluster.cutOneWay(a, b);
        act("cut one way n" + a + " -> n" + b);
      }
    }
  }

  private List<Integer> shuffledNodes() {
    return shuffledNodes(cluster.size(), random);
  }

  /** The node ids 0..n-1 in a random order (Fisher-Yates, drawing from {@code random}). */
  public static List<Integer> shuffledNodes(int n, SplittableRandom random) {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    for (int i = order.size() - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      order.set(i, order.set(j, order.get(i)));
    }
    return order;
  }

  private void healAndCheck(String label) {
    for (int i = 0; i < cluster.size(); i++) {
      cluster.restart(i);
      cluster.resume(i);
    }
    cluster.heal();
    cluster.setUnreliable(false);
    cluster.setLongReordering(false);
    cluster.setDuplicateProbability(0);
    act("heal everything, restart all, reliable network (" + label + ")");
    liveness.addAll(LivenessCheck.afterHeal(cluster, label));
  }

  private void act(String what) {
    log.accept(cluster.now() + " ms: " + what);
  }
}
