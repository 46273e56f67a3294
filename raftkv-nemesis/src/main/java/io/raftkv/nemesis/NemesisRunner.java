package io.raftkv.nemesis;

import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.testkit.ServerProcesses;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * The process-level nemesis: starts {@code nodes} real svr processes, runs concurrent recording
 * clients against them while a seeded schedule injects one fault at a time (kill -9 and restart,
 * SIGSTOP and SIGCONT, partitions and slow links through Chaos), then heals everything and checks
 * that the history is linearizable, that no acknowledged write was lost (or applied twice), and
 * that every replica converged to the same state.
 */
final class NemesisRunner {

  /** How a run goes. */
  record Config(
      Path svr,
      int nodes,
      int clients,
      long seed,
      Duration schedule,
      int maxFaults,
      boolean rotate,
      Duration holdMin,
      Duration holdMax,
      Duration quietMin,
      Duration quietMax,
      Duration opTimeout,
      long thinkMillis,
      Duration keyGeneration,
      Duration checkBudget,
      Path historyDir,
      boolean keepData) {

    /** The defaults of {@code build/dev/nemesis}: random faults for {@code schedule}. */
    static Config defaults(Path svr, long seed, int clients, Duration schedule) {
      return new Config(
          svr,
          5,
          clients,
          seed,
          schedule,
          0,
          false,
          Duration.ofSeconds(2),
          Duration.ofSeconds(6),
          Duration.ofSeconds(1),
          Duration.ofSeconds(4),
          Duration.ofSeconds(5),
          5,
          Duration.ofSeconds(5),
          Duration.ofMinutes(5),
          Path.of("."),
          false);
    }
  }

  /** One fault as it ran. */
  record FaultRecord(
      int number,
      FaultType type,
      String description,
      long start,
      long healed,
      long end,
      long writeStallNanos) {}

  /** Per fault type: how many ran and the longest and mean write stalls. */
  record Stall(int count, long maxNanos, long totalNanos) {
    Stall add(long nanos) {
      return new Stall(count + 1, Math.max(maxNanos, nanos), totalNanos + nanos);
    }

    long meanNanos() {
      return count == 0 ? 0 : totalNanos / count;
    }
  }

  /** What a run found. */
  record Result(
      int ops,
      int acknowledged,
      int unknown,
      int failed,
      List<FaultRecord> faults,
      Map<FaultType, Stall> stalls,
      CheckResult linearizability,
      List<String> violations,
      Path historyFile) {

    /** Whether the linearizability check ran out of budget (not a pass, not a violation). */
    boolean undecided() {
      return linearizability != null
          && linearizability.verdict() == CheckResult.Verdict.UNKNOWN
          && violations.isEmpty();
    }

    boolean passed() {
      return violations.isEmpty() && linearizability != null && linearizability.isOk();
    }

    /** The last line: {@code nemesis: N ops, F faults, V violations}. */
    String summary() {
      return "nemesis: "
          + ops
          + " ops, "
          + faults.size()
          + " faults, "
          + violations.size()
          + " violations";
    }
  }

  private static final String PROBE_KEY = "__nemesis_probe__";

  private final Config config;
  private final PrintStream out;
  private final Random random;
  private final LongSupplier clock = System::nanoTime;
  private long t0;

  NemesisRunner(Config config, PrintStream out) {
    this.config = config;
    this.out = out;
    this.random = new Random(config.seed());
  }

  Result run() throws IOException {
    Path dir = Files.createTempDirectory("raftkv-nemesis-");
    t0 = clock.getAsLong();
    say(
        "seed %d, %d nodes, %d clients, schedule %d s (%s), data in %s",
        config.seed(),
        config.nodes(),
        config.clients(),
        config.schedule().toSeconds(),
        config.rotate()
            ? "every fault type in turn"
            : "fault types in random order, each once per round",
        dir);
    Cluster cluster = new Cluster(config.svr(), dir, config.nodes());
    boolean keep = config.keepData();
    // On Ctrl-C, no svr process may outlive the run (least of all a SIGSTOPped one).
    Thread hook = new Thread(cluster::close, "nemesis-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      cluster.startAll(Duration.ofSeconds(90));
      awaitWritable(cluster, Duration.ofSeconds(90));
      say("cluster up: %s", String.join(",", cluster.endpoints()));

      Workload workload =
          new Workload(
              cluster.endpoints(),
              config.clients(),
              config.seed(),
              clock,
              8,
              config.keyGeneration(),
              config.thinkMillis(),
              config.opTimeout());
      workload.start();
      List<FaultRecord> faults = schedule(cluster, workload);
      workload.stop();
      say("schedule done: %d faults, %d ops; healing", faults.size(), workload.opCount());

      cluster.healAll(Duration.ofSeconds(90));
      awaitWritable(cluster, Duration.ofSeconds(90));
      Result r = check(cluster, workload, faults);
      if (!r.passed()) {
        keep = true;
      }
      return r;
    } catch (RuntimeException | Error e) {
      keep = true;
      throw e;
    } finally {
      cluster.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // already shutting down: the hook runs (closing twice is harmless)
      }
      if (keep) {
        say("data and server logs kept in %s", dir);
      } else {
        cluster.deleteData();
      }
    }
  }

  // ---------------------------------------------------------------- the schedule

  private List<FaultRecord> schedule(Cluster cluster, Workload workload) {
    List<FaultRecord> faults = new ArrayList<>();
    FaultType[] types = FaultType.values();
    long end = clock.getAsLong() + config.schedule().toNanos();
    // A moment of calm first, so that the clients are running when the first fault hits.
    ServerProcesses.sleep(1000);
    int n = 0;
    List<FaultType> bag = new ArrayList<>();
    while (clock.getAsLong() < end && (config.maxFaults() <= 0 || n < config.maxFaults())) {
      if (bag.isEmpty()) {
        // Every type once per round: in order with rotate, else in a seeded random order.
        bag.addAll(List.of(types));
        if (!config.rotate()) {
          Collections.shuffle(bag, random);
        }
      }
      FaultType type = bag.remove(0);
      n++;
      long start = clock.getAsLong();
      long hold = between(config.holdMin(), config.holdMax());
      String what = inject(cluster, type, hold);
      long healed = clock.getAsLong();
      ServerProcesses.sleep(between(config.quietMin(), config.quietMax()));
      long stop = clock.getAsLong();
      long stall = workload.longestWriteGap(start, stop);
      FaultRecord f = new FaultRecord(n, type, what, start, healed, stop, stall);
      faults.add(f);
      say(
          "fault %d %s: %s; writes stalled %.1f s; %d ops so far",
          n, type.label(), what, stall / 1e9, workload.opCount());
    }
    return faults;
  }

  private long between(Duration min, Duration max) {
    long lo = min.toMillis();
    long hi = Math.max(lo, max.toMillis());
    return lo + (hi == lo ? 0 : random.nextLong(hi - lo + 1));
  }

  /** Injects one fault, holds it for {@code holdMillis}, heals it; says what it did. */
  private String inject(Cluster cluster, FaultType type, long holdMillis) {
    int size = cluster.size();
    String hold = String.format(Locale.ROOT, "%.1f s", holdMillis / 1e3);
    switch (type) {
      case KILL_LEADER, KILL_RANDOM -> {
        int victim = type == FaultType.KILL_LEADER ? leaderOrRandom(cluster) : random.nextInt(size);
        cluster.kill(victim);
        ServerProcesses.sleep(holdMillis);
        cluster.start(victim);
        cluster.awaitListening(victim, Duration.ofSeconds(90));
        return "kill -9 node " + victim + ", restarted after " + hold;
      }
      case PAUSE_LEADER, PAUSE_RANDOM -> {
        boolean leader = type == FaultType.PAUSE_LEADER;
        int victim = leader ? leaderOrRandom(cluster) : random.nextInt(size);
        cluster.pause(victim);
        ServerProcesses.sleep(holdMillis);
        cluster.resume(victim);
        return "SIGSTOP node " + victim + (leader ? " (leader)" : "") + ", SIGCONT after " + hold;
      }
      case ISOLATE_LEADER -> {
        int l = leaderOrRandom(cluster);
        List<Set<Integer>> sides = List.of(Set.of(l), others(size, Set.of(l)));
        partition(cluster, sides);
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader " + l + " isolated for " + hold;
      }
      case MAJORITY_MINORITY -> {
        List<Integer> order = shuffled(size);
        int l = cluster.leader();
        if (l >= 0 && random.nextBoolean()) {
          // Half the time the leader is in the minority.
          order.remove(Integer.valueOf(l));
          order.add(0, l);
        }
        Set<Integer> minority = new TreeSet<>(order.subList(0, (size - 1) / 2));
        Set<Integer> majority = others(size, minority);
        partition(cluster, List.of(minority, majority));
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "partition " + minority + " | " + majority + " (leader was " + l + ") for " + hold;
      }
      case RING -> {
        List<Integer> ring = shuffled(size);
        for (int p = 0; p < size; p++) {
          int node = ring.get(p);
          Set<Integer> neighbours =
              Set.of(ring.get((p + 1) % size), ring.get((p + size - 1) % size));
          Set<Integer> cut = new TreeSet<>();
          for (int o = 0; o < size; o++) {
            if (o != node && !neighbours.contains(o)) {
              cut.add(o);
            }
          }
          cluster.cut(node, cut);
        }
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "ring " + ring + " (each node reaches its two neighbours only) for " + hold;
      }
      case SLOW_FOLLOWER -> {
        int l = leaderOrRandom(cluster);
        List<Integer> peers = new ArrayList<>(others(size, Set.of(l)));
        int f = peers.get(random.nextInt(peers.size()));
        int delay = 50 + random.nextInt(101);
        cluster.chaos(l, List.of(delay(f, delay)));
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader " + l + " -> follower " + f + " delayed " + delay + " ms for " + hold;
      }
      case SLOW_MAJORITY -> {
        int l = leaderOrRandom(cluster);
        List<Integer> peers = new ArrayList<>(others(size, Set.of(l)));
        Collections.shuffle(peers, random);
        List<Integer> slow = new ArrayList<>(peers.subList(0, Math.min(3, peers.size())));
        Collections.sort(slow);
        int delay = 30 + random.nextInt(71);
        List<PeerFault> faults = new ArrayList<>();
        for (int p : slow) {
          faults.add(delay(p, delay));
        }
        cluster.chaos(l, faults);
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader " + l + " -> nodes " + slow + " delayed " + delay + " ms for " + hold;
      }
      default -> throw new IllegalStateException("unknown fault " + type);
    }
  }

  private static PeerFault delay(int peer, int millis) {
    return PeerFault.newBuilder().setPeerId(peer).setDelayMs(millis).build();
  }

  /** Applies a partition on every node: each cuts the nodes not on its side. */
  private static void partition(Cluster cluster, List<Set<Integer>> sides) {
    for (Set<Integer> side : sides) {
      Set<Integer> away = others(cluster.size(), side);
      for (int node : side) {
        cluster.cut(node, away);
      }
    }
  }

  private static Set<Integer> others(int size, Set<Integer> these) {
    Set<Integer> rest = new TreeSet<>();
    for (int i = 0; i < size; i++) {
      if (!these.contains(i)) {
        rest.add(i);
      }
    }
    return rest;
  }

  private List<Integer> shuffled(int size) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      l.add(i);
    }
    Collections.shuffle(l, random);
    return l;
  }

  /** The leader, waiting a little for one; a random node if there is none. */
  private int leaderOrRandom(Cluster cluster) {
    long deadline = clock.getAsLong() + Duration.ofSeconds(5).toNanos();
    while (true) {
      int l = cluster.leader();
      if (l >= 0) {
        return l;
      }
      if (clock.getAsLong() > deadline) {
        return random.nextInt(cluster.size());
      }
      ServerProcesses.sleep(100);
    }
  }

  // ---------------------------------------------------------------- after the schedule

  /** Waits until a write goes through (a leader is elected and has committed in its term). */
  private void awaitWritable(Cluster cluster, Duration limit) {
    long deadline = clock.getAsLong() + limit.toNanos();
    Exception last = null;
    try (KvClient c =
        KvClient.builder(cluster.endpoints()).timeout(Duration.ofSeconds(5)).build()) {
      while (clock.getAsLong() < deadline) {
        try {
          c.put(PROBE_KEY, "1");
          return;
        } catch (KvException e) {
          last = e;
          ServerProcesses.sleep(200);
        }
      }
    }
    throw new IllegalStateException(
        "no write succeeded within "
            + limit.toSeconds()
            + " s: "
            + last
            + ServerProcesses.tail(cluster.log(0)));
  }

  private Result check(Cluster cluster, Workload workload, List<FaultRecord> faults)
      throws IOException {
    List<String> violations = new ArrayList<>();
    Set<String> keys = new TreeSet<>();
    for (Op op : workload.ops()) {
      keys.add(op.input().key());
    }

    // Final values, read linearizably (and recorded in the history as a last client's reads).
    Map<String, String> finals = new TreeMap<>();
    int reader = config.clients();
    try (KvClient c = workload.newClient(0)) {
      for (String key : keys) {
        Op read = null;
        for (int attempt = 0; attempt < 20; attempt++) {
          read = workload.execute(c, reader, KvInput.get(key));
          if (read.outcome() == Op.Outcome.OK) {
            break;
          }
          ServerProcesses.sleep(250);
        }
        if (read.outcome() != Op.Outcome.OK) {
          throw new IllegalStateException("cannot read " + key + " after healing: " + read.error());
        }
        workload.record(read);
        KvOutput o = read.output();
        finals.put(key, o.status() == KvOutput.Status.VALUE ? o.value() : null);
      }
    }
    List<Op> ops = workload.ops();
    say("final values read for %d keys; checking %d ops", keys.size(), ops.size());

    // Convergence: every replica applies the same log and ends with the same values.
    violations.addAll(convergence(cluster, finals));

    violations.addAll(Checks.lostWrites(ops, finals));
    violations.addAll(Checks.duplicates(ops, finals));

    CheckResult lin = Checks.linearizability(ops, config.checkBudget());
    say("linearizability: %s", lin.verdict() == CheckResult.Verdict.ILLEGAL ? "ILLEGAL" : lin);
    if (lin.verdict() == CheckResult.Verdict.ILLEGAL) {
      violations.add(0, "history not linearizable: " + lin);
    }

    Map<FaultType, Stall> stalls = new EnumMap<>(FaultType.class);
    for (FaultRecord f : faults) {
      stalls.merge(
          f.type(),
          new Stall(1, f.writeStallNanos(), f.writeStallNanos()),
          (a, b) -> a.add(b.maxNanos()));
    }
    int acked = 0;
    int unknown = 0;
    int failed = 0;
    for (Op op : ops) {
      switch (op.outcome()) {
        case OK -> acked++;
        case UNKNOWN -> unknown++;
        case FAILED -> failed++;
      }
    }
    Path history = null;
    if (!violations.isEmpty() || !lin.isOk()) {
      history = saveHistory(ops, faults, violations, lin);
    }
    return new Result(ops.size(), acked, unknown, failed, faults, stalls, lin, violations, history);
  }

  private List<String> convergence(Cluster cluster, Map<String, String> finals) {
    long deadline = clock.getAsLong() + Duration.ofSeconds(60).toNanos();
    String why = "";
    while (true) {
      List<StatusResponse> statuses = new ArrayList<>();
      for (int i = 0; i < cluster.size(); i++) {
        cluster.status(i, Duration.ofSeconds(2)).ifPresent(statuses::add);
      }
      if (statuses.size() == cluster.size()) {
        long commit = statuses.get(0).getCommitIndex();
        boolean same = true;
        for (StatusResponse s : statuses) {
          same &= s.getCommitIndex() == commit && s.getAppliedIndex() == commit;
        }
        if (same && commit > 0) {
          List<String> diff = compareReplicas(cluster, finals);
          if (diff.isEmpty()) {
            say(
                "converged: all %d replicas applied index %d, all keys equal",
                statuses.size(), commit);
            return List.of();
          }
          why = String.join("\n", diff);
        } else {
          StringBuilder sb = new StringBuilder("replicas at (commit, applied):");
          for (StatusResponse s : statuses) {
            sb.append(" node ")
                .append(s.getId())
                .append(" (")
                .append(s.getCommitIndex())
                .append(", ")
                .append(s.getAppliedIndex())
                .append(")");
          }
          why = sb.toString();
        }
      } else {
        why = "only " + statuses.size() + " of " + cluster.size() + " nodes answer Status";
      }
      if (clock.getAsLong() > deadline) {
        return List.of("replicas did not converge within 60 s: " + why);
      }
      ServerProcesses.sleep(500);
    }
  }

  /** DIRECT_GET of every key on every node, compared with the final (linearizable) values. */
  private static List<String> compareReplicas(Cluster cluster, Map<String, String> finals) {
    List<String> diff = new ArrayList<>();
    try (KvClient c =
        KvClient.builder(cluster.endpoints()).timeout(Duration.ofSeconds(5)).build()) {
      for (int i = 0; i < cluster.size(); i++) {
        String node = cluster.endpoint(i);
        for (Map.Entry<String, String> e : finals.entrySet()) {
          Optional<byte[]> v;
          try {
            v = c.directGet(node, e.getKey().getBytes(StandardCharsets.UTF_8));
          } catch (KvException ex) {
            diff.add("node " + i + ": DIRECT_GET " + e.getKey() + " failed: " + ex.getMessage());
            continue;
          }
          String got = v.map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
          if (!java.util.Objects.equals(got, e.getValue())) {
            diff.add(
                "node "
                    + i
                    + " diverged on "
                    + e.getKey()
                    + ": "
                    + (got == null ? "(absent)" : "\"" + got + "\"")
                    + " but the cluster says "
                    + (e.getValue() == null ? "(absent)" : "\"" + e.getValue() + "\""));
          }
        }
      }
    }
    return diff;
  }

  private Path saveHistory(
      List<Op> ops, List<FaultRecord> faults, List<String> violations, CheckResult lin)
      throws IOException {
    Files.createDirectories(config.historyDir());
    Path file =
        config
            .historyDir()
            .resolve(
                "nemesis-history-seed"
                    + config.seed()
                    + "-"
                    + System.currentTimeMillis()
                    + ".jsonl")
            .toAbsolutePath();
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write(
          "{\"seed\":"
              + config.seed()
              + ",\"linearizability\":"
              + Op.quote(lin.toString())
              + "}\n");
      for (String v : violations) {
        w.write("{\"violation\":" + Op.quote(v) + "}\n");
      }
      for (FaultRecord f : faults) {
        w.write(
            "{\"fault\":"
                + f.number()
                + ",\"type\":\""
                + f.type().label()
                + "\",\"what\":"
                + Op.quote(f.description())
                + ",\"start\":"
                + f.start()
                + ",\"healed\":"
                + f.healed()
                + ",\"end\":"
                + f.end()
                + "}\n");
      }
      for (Op op : ops) {
        w.write(op.toJson());
        w.write('\n');
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    return file;
  }

  private void say(String format, Object... args) {
    double t = (clock.getAsLong() - t0) / 1e9;
    out.printf(Locale.ROOT, "nemesis [%6.1fs] %s%n", t, String.format(Locale.ROOT, format, args));
    out.flush();
  }
}
