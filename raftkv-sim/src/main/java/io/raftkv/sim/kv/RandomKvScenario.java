package io.raftkv.sim.kv;

import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvModel;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import io.raftkv.raft.RaftConfig;
import io.raftkv.sim.MembershipChanges;
import io.raftkv.sim.RandomScenario;
import io.raftkv.sim.ScenarioResult;
import io.raftkv.sim.SimCluster;
import io.raftkv.sim.SimConfig;
import io.raftkv.sim.Violation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * One random KV scenario, entirely determined by its seed: a simulated raftkv cluster (3, 5 or 7
 * nodes running the server's runtime, state machine and KV service, with random timings and
 * start-up policy) and 2-8 clients (KvClient's retry policy) running a random workload, under
 * random faults: crashes and restarts that lose unsynced writes, partitions of every shape, lossy,
 * duplicating and reordering links, and paused processes. Then everything heals, and the run is
 * checked:
 *
 * <ul>
 *   <li>the simulator's Raft safety checkers, at every event;
 *   <li>linearizability of the history of the shared keys (PUT, APPEND, DELETE, GET);
 *   <li>exactly-once appends: on the append-only keys, every acknowledged append is in the final
 *       value once, an unacknowledged one at most once, and appends that returned before another
 *       was called come before it (real-time order);
 *   <li>liveness after healing: the clients' operations complete;
 *   <li>replica convergence: every node applies the same log and holds the same values.
 * </ul>
 *
 * <p>Thread-safety: an instance runs on one thread; different seeds may run in parallel.
 */
public final class RandomKvScenario {
  private static final long MAX_EVENTS = 20_000_000;

  /**
   * Shared keys. Enough that one key's history stays checkable: every write whose outcome is
   * unknown may take effect anywhere after its call or never, and the checker's search grows with
   * their number per key.
   */
  private static final int SHARED_KEYS = 8;

  private static final int APPEND_KEYS = 2;

  private final long seed;
  private final Consumer<String> log;
  private final SplittableRandom random;
  private final SimKvCluster kv;
  private final SimCluster cluster;
  private final List<SimKvClient> clients = new ArrayList<>();
  private final List<Violation> found = new ArrayList<>();
  private boolean stopped;

  /** Random membership changes, in half of the seeds (null in the others). */
  private final MembershipChanges membership;

  public RandomKvScenario(long seed, Consumer<String> log) {
    this.seed = seed;
    this.log = log;
    SplittableRandom master = new SplittableRandom(seed);
    this.random = master.split();
    SimKvCluster.Settings settings = randomSettings(master.split());
    long clusterSeed = master.nextLong();
    // Drawn after everything else, so that seeds without membership changes run as they always did.
    SplittableRandom membershipRandom = master.split();
    if (membershipRandom.nextInt(2) == 0) {
      settings =
          new SimKvCluster.Settings(
              RandomScenario.withSpares(settings.config()),
              settings.clientPolicy(),
              settings.requestTimeoutMillis(),
              settings.leaderHint(),
              settings.startupGraceMillis());
    }
    this.kv = new SimKvCluster(settings, clusterSeed);
    this.cluster = kv.cluster();
    this.membership =
        settings.config().initialVoters() < settings.config().nodes()
            ? new MembershipChanges(cluster, membershipRandom, log)
            : null;
    cluster.setEventLimit(MAX_EVENTS);
  }

  public RandomKvScenario(long seed) {
    this(seed, line -> {});
  }

  /** For tests: the cluster (e.g. to break it deliberately before {@link #run()}). */
  public SimKvCluster cluster() {
    return kv;
  }

  private static SimKvCluster.Settings randomSettings(SplittableRandom r) {
    int nodes = r.nextInt(5) == 0 ? 7 : 3 + 2 * r.nextInt(2);
    long tick = 5 + r.nextInt(6);
    int electionMin = 10 + r.nextInt(21);
    int electionMax = electionMin + 5 + r.nextInt(electionMin + 1);
    int heartbeat = 1 + r.nextInt(Math.max(1, electionMin / 4));
    List<Integer> voters = new ArrayList<>();
    for (int i = 0; i < nodes; i++) {
      voters.add(i);
    }
    RaftConfig template =
        new RaftConfig(
            0,
            voters,
            electionMin,
            electionMax,
            heartbeat,
            r.nextInt(4) == 0 ? 1 + r.nextInt(4) : 256,
            r.nextInt(4) == 0 ? 256 + r.nextInt(4096) : 1 << 20,
            1 << 20,
            r.nextInt(5) != 0,
            r.nextInt(5) != 0);
    long electionMaxMs = electionMax * tick;
    RetryPolicy clients =
        new RetryPolicy(
            // A client deadline of tens of election timeouts (KvClient's default is 10 s against
            // 150-300 ms elections): writes mostly end with an answer, a few with none.
            Duration.ofMillis(electionMaxMs * (20 + r.nextInt(40))).toNanos(),
            Duration.ofMillis(electionMaxMs / 2 + r.nextInt((int) electionMaxMs * 2)).toNanos(),
            Duration.ofMillis(1 + r.nextInt(20)).toNanos(),
            Duration.ofMillis(50 + r.nextInt(300)).toNanos());
    long requestTimeout = electionMaxMs / 2 + r.nextInt((int) electionMaxMs * 3);
    // The start-up policy svr has: a --leader node (campaigns until a leader is known) and a grace
    // period for the others, or neither.
    int hint = r.nextInt(3) == 0 ? r.nextInt(nodes) : -1;
    long grace = r.nextInt(3) == 0 ? r.nextLong(electionMaxMs * 3) : 0;
    return new SimKvCluster.Settings(
        new SimConfig(nodes, tick, template, RandomScenario.randomCompaction(r)),
        clients,
        requestTimeout,
        hint,
        grace);
  }

  // ---------------------------------------------------------------- the workload

  /** One client's random operations: shared keys get every kind, append keys only appends. */
  private final class Workload implements SimKvClient.Driver {
    private int appends;

    @Override
    public KvInput next(SimKvClient c) {
      if (stopped) {
        return null;
      }
      int roll = random.nextInt(100);
      if (roll < 20) {
        String token = c.id() + "." + appends++ + ";";
        return KvInput.append("a" + random.nextInt(APPEND_KEYS), token);
      }
      String key = "k" + random.nextInt(SHARED_KEYS);
      String value = c.id() + "." + random.nextInt(1000);
      if (roll < 55) {
        return KvInput.get(key);
      } else if (roll < 75) {
        return KvInput.put(key, value);
      } else if (roll < 92) {
        return KvInput.append(key, value);
      }
      return KvInput.delete(key);
    }

    @Override
    public void done(SimKvClient c, KvInput op, KvOutput out) {}
  }

  // ---------------------------------------------------------------- the run

  /** Runs the whole scenario and every check. */
  public ScenarioResult run() {
    SimKvCluster.Settings s = kv.settings();
    RaftConfig t = s.config().raftTemplate();
    int n = cluster.size();
    log.accept(
        "kv seed "
            + seed
            + ": "
            + n
            + " nodes, tick "
            + s.config().tickMillis()
            + " ms, election "
            + t.electionTimeoutMinTicks()
            + "-"
            + t.electionTimeoutMaxTicks()
            + " ticks, heartbeat "
            + t.heartbeatTicks()
            + ", preVote "
            + t.preVote()
            + ", checkQuorum "
            + t.checkQuorum()
            + ", request timeout "
            + s.requestTimeoutMillis()
            + " ms, leader hint "
            + s.leaderHint()
            + ", grace "
            + s.startupGraceMillis()
            + " ms, compaction "
            + RandomScenario.describe(s.config().compaction())
            + (membership != null
                ? ", membership changes ("
                    + s.config().initialVoters()
                    + " voters, "
                    + (n - s.config().initialVoters())
                    + " spares)"
                : ""));
    int clientCount = 2 + random.nextInt(7);
    for (int i = 0; i < clientCount; i++) {
      SimKvClient c = kv.makeClient();
      c.setDriver(new Workload());
      clients.add(c);
      c.kick();
    }
    long chaosMillis = 2_000 + random.nextInt(8_000);
    try {
      while (cluster.now() < chaosMillis && kv.violations().isEmpty()) {
        step();
        cluster.runFor(1 + random.nextInt(random.nextInt(8) == 0 ? 1_000 : 150));
      }
      heal();
      finish();
    } catch (AssertionError | RuntimeException e) {
      // A refused input (e.g. the core truncating a committed entry) is a finding, not a crash.
      StackTraceElement[] where = e.getStackTrace();
      found.add(
          new Violation(
              "Exception", e + (where.length > 0 ? " at " + where[0] : ""), cluster.now()));
    }
    List<Violation> all = new ArrayList<>(kv.violations());
    all.addAll(found);
    // No disk is wiped here: a node that says it lost data is a false detection.
    cluster.dataLossStops().forEach(stop -> all.add(stop.asUnexpected()));
    return new ScenarioResult(
        seed, n, all, cluster.eventsProcessed(), cluster.now(), true, cluster.snapshotsInstalled());
  }

  private void step() {
    int n = cluster.size();
    int roll = random.nextInt(100);
    if (roll < 10) {
      int i = random.nextInt(n);
      if (upCount() - 1 >= n / 2 + 1 || random.nextInt(3) == 0) {
        cluster.crash(i);
        act("crash n" + i);
      }
    } else if (roll < 20) {
      for (int i = 0; i < n; i++) {
        if (!cluster.isUp(i) && random.nextBoolean()) {
          cluster.restart(i);
          act("restart n" + i);
        }
      }
    } else if (roll < 32) {
      int[] order = shuffled(n);
      int minority = 1 + random.nextInt(n / 2);
      int[] small = java.util.Arrays.copyOfRange(order, 0, minority);
      int[] big = java.util.Arrays.copyOfRange(order, minority, n);
      cluster.partition(small, big);
      act("partition " + java.util.Arrays.toString(small) + " | " + java.util.Arrays.toString(big));
    } else if (roll < 38) {
      int leader = cluster.currentLeader();
      if (leader >= 0) {
        cluster.disconnect(leader);
        act("isolate leader n" + leader);
      }
    } else if (roll < 42) {
      int[] order = shuffled(n);
      cluster.heal();
      cluster.cut(order[0], order[2]);
      act("non-transitive: cut n" + order[0] + " <-> n" + order[2] + " only");
    } else if (roll < 52) {
      cluster.heal();
      act("heal links");
    } else if (roll < 58) {
      boolean on = random.nextBoolean();
      kv.setUnreliable(on);
      act("unreliable " + on);
    } else if (roll < 61) {
      boolean on = random.nextInt(3) == 0;
      cluster.setLongReordering(on);
      act("long reordering " + on);
    } else if (roll < 64) {
      double p = random.nextBoolean() ? 0 : 0.05 + random.nextDouble() * 0.2;
      cluster.setDuplicateProbability(p);
      act("duplicates " + p);
    } else if (roll < 72) {
      int i = random.nextInt(n);
      if (cluster.isPaused(i)) {
        cluster.resume(i);
        act("resume n" + i);
      } else if (cluster.isUp(i)) {
        cluster.pause(i);
        act("pause n" + i);
      }
    } else if (roll < 75) {
      int leader = cluster.currentLeader();
      if (leader >= 0) {
        int target = random.nextInt(n);
        boolean ok = cluster.transferLeadership(leader, target);
        act("transfer leadership n" + leader + " -> n" + target + (ok ? "" : " (refused)"));
      }
    } else if (roll >= 95 && membership != null) {
      membership.step();
    }
    // else: quiet period
  }

  private void heal() {
    for (int i = 0; i < cluster.size(); i++) {
      cluster.restart(i);
      cluster.resume(i);
    }
    cluster.heal();
    kv.setUnreliable(false);
    cluster.setLongReordering(false);
    cluster.setDuplicateProbability(0);
    act("heal everything, restart and resume all, reliable network");
  }

  /** Stops the workload, waits for it to drain, then checks the run. */
  private void finish() {
    long settle = 30 * kv.settings().config().maxElectionMillis() + 5_000;
    kv.runUntil(() -> cluster.currentLeader() >= 0, settle);
    stopped = true;
    // Every client's last operation must end now that the cluster is healthy (with an answer, or
    // after its deadline with an unknown outcome).
    long drain = kv.settings().clientPolicy().timeoutNanos() / 1_000_000 + settle;
    if (!kv.runUntil(() -> clients.stream().allMatch(SimKvClient::idle), drain)) {
      found.add(
          new Violation(
              "Liveness",
              "clients still busy " + drain + " ms after healing" + kv.replay(),
              cluster.now()));
      return;
    }
    SimKvClient reader = kv.makeClient();
    List<String> finals = new ArrayList<>();
    for (int k = 0; k < APPEND_KEYS; k++) {
      KvOutput out = finalRead(reader, "a" + k, settle + drain);
      if (out == null) {
        return;
      }
      finals.add(out.status() == KvOutput.Status.VALUE ? out.value() : "");
    }
    for (int k = 0; k < SHARED_KEYS; k++) {
      if (finalRead(reader, "k" + k, settle + drain) == null) {
        return;
      }
    }
    History<KvInput, KvOutput> history = kv.recorder().history();
    long unknown = history.operations().stream().filter(o -> !o.outcomeKnown()).count();
    log.accept(
        cluster.now()
            + " ms: "
            + history.size()
            + " operations ("
            + unknown
            + " without an answer), "
            + kv.retries()
            + " retries; checking");
    checkLinearizable(history);
    for (int k = 0; k < APPEND_KEYS; k++) {
      checkAppends("a" + k, finals.get(k), history.operations());
    }
    checkConvergence(settle);
  }

  /**
   * A GET of {@code key} on the healed cluster, tried again (a client's deadline may be shorter
   * than an election after healing) until it answers or {@code maxMs} pass: then a liveness
   * violation, and null.
   */
  private KvOutput finalRead(SimKvClient reader, String key, long maxMs) {
    long end = cluster.now() + maxMs;
    while (cluster.now() < end) {
      int before = reader.completed();
      reader.start(KvInput.get(key));
      kv.runUntil(() -> reader.completed() > before, end - cluster.now());
      if (reader.completed() > before && reader.lastOutput() != null) {
        return reader.lastOutput();
      }
      if (reader.completed() == before) {
        break;
      }
    }
    found.add(
        new Violation(
            "Liveness",
            "GET " + key + " got no answer within " + maxMs + " ms after healing" + kv.replay(),
            cluster.now()));
    return null;
  }

  private void checkLinearizable(History<KvInput, KvOutput> history) {
    List<Operation<KvInput, KvOutput>> shared = new ArrayList<>();
    for (Operation<KvInput, KvOutput> op : history.operations()) {
      if (op.input().key().startsWith("k")) {
        shared.add(op);
      }
    }
    History<KvInput, KvOutput> h = new History<>(shared);
    CheckResult r =
        LinearizabilityChecker.withBudget(Duration.ofSeconds(30)).check(new KvModel(), h);
    if (r.verdict() == CheckResult.Verdict.UNKNOWN) {
      // The budget is wall time: on a loaded machine, give the search more before calling the
      // verdict inconclusive (which counts as a violation: UNKNOWN is never a pass).
      r = LinearizabilityChecker.withBudget(Duration.ofSeconds(300)).check(new KvModel(), h);
    }
    if (r.verdict() != CheckResult.Verdict.OK) {
      found.add(
          new Violation(
              "Linearizability",
              r + " (" + shared.size() + " operations on the shared keys)",
              cluster.now()));
    }
  }

  /**
   * Exactly-once and real-time order of the appends to {@code key}, decided from the final value
   * (nothing else reads the key): each acknowledged token once, each unknown one at most once, no
   * token never sent, and an append that returned before another was called comes first.
   */
  private void checkAppends(String key, String value, List<Operation<KvInput, KvOutput>> ops) {
    List<Operation<KvInput, KvOutput>> appends = new ArrayList<>();
    for (Operation<KvInput, KvOutput> op : ops) {
      if (op.input() instanceof KvInput.Append a && a.key().equals(key)) {
        appends.add(op);
      }
    }
    int tokensInValue = value.isEmpty() ? 0 : value.split(";", -1).length - 1;
    int seen = 0;
    for (Operation<KvInput, KvOutput> op : appends) {
      String token = ((KvInput.Append) op.input()).value();
      int first = value.indexOf(token);
      int last = value.lastIndexOf(token);
      if (first >= 0) {
        seen++;
      }
      if (first != last) {
        found.add(
            new Violation("Exactly-once", key + ": " + token + " applied twice", cluster.now()));
      } else if (first < 0 && op.outcomeKnown()) {
        found.add(
            new Violation(
                "Lost write", key + ": acknowledged " + token + " is missing", cluster.now()));
      }
      for (Operation<KvInput, KvOutput> other : appends) {
        if (op.outcomeKnown() && other.callTime() > op.returnTime() && first >= 0) {
          int otherAt = value.indexOf(((KvInput.Append) other.input()).value());
          if (otherAt >= 0 && otherAt < first) {
            found.add(
                new Violation(
                    "Linearizability",
                    key + ": " + other.input() + " precedes " + op.input() + ", called after it",
                    cluster.now()));
          }
        }
      }
    }
    if (seen != tokensInValue) {
      found.add(
          new Violation(
              "Exactly-once",
              key + " holds " + tokensInValue + " appends but only " + seen + " were sent",
              cluster.now()));
    }
  }

  /**
   * Every member of the final configuration reaches the same applied index and holds the same value
   * for every key (spares and removed nodes are not members: chapter 4).
   */
  private void checkConvergence(long settle) {
    List<Integer> members = new ArrayList<>();
    boolean converged =
        kv.runUntil(
            () -> {
              members.clear();
              members.addAll(cluster.members());
              long applied = kv.machine(members.get(0)).appliedIndex();
              for (int i : members) {
                if (!cluster.isUp(i)
                    || kv.machine(i).appliedIndex() != applied
                    || cluster.raft(i).commitIndex() != applied) {
                  return false;
                }
              }
              return applied > 0;
            },
            settle);
    if (!converged) {
      StringBuilder sb = new StringBuilder("replicas did not converge:");
      for (int i : members) {
        sb.append(" n").append(i).append(" applied ").append(kv.machine(i).appliedIndex());
      }
      found.add(new Violation("Convergence", sb.toString(), cluster.now()));
      return;
    }
    List<String> keys = new ArrayList<>();
    for (int k = 0; k < SHARED_KEYS; k++) {
      keys.add("k" + k);
    }
    for (int k = 0; k < APPEND_KEYS; k++) {
      keys.add("a" + k);
    }
    int ref = members.get(0);
    for (String key : keys) {
      Optional<String> first = value(ref, key);
      for (int i : members) {
        Optional<String> v = value(i, key);
        if (!v.equals(first)) {
          found.add(
              new Violation(
                  "Convergence",
                  "key " + key + ": n" + ref + " holds " + first + ", n" + i + " holds " + v,
                  cluster.now()));
        }
      }
    }
    for (int i : members) {
      if (kv.machine(i).sessionCount() != kv.machine(ref).sessionCount()) {
        found.add(
            new Violation(
                "Convergence",
                "n"
                    + ref
                    + " keeps "
                    + kv.machine(ref).sessionCount()
                    + " sessions, n"
                    + i
                    + " keeps "
                    + kv.machine(i).sessionCount(),
                cluster.now()));
      }
    }
  }

  private Optional<String> value(int node, String key) {
    return kv.machine(node)
        .get(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .map(b -> new String(b, java.nio.charset.StandardCharsets.UTF_8));
  }

  private int upCount() {
    int up = 0;
    for (int i = 0; i < cluster.size(); i++) {
      up += cluster.isUp(i) && !cluster.isPaused(i) ? 1 : 0;
    }
    return up;
  }

  private int[] shuffled(int n) {
    return RandomScenario.shuffledNodes(n, random).stream().mapToInt(Integer::intValue).toArray();
  }

  private void act(String what) {
    log.accept(cluster.now() + " ms: " + what);
  }
}
