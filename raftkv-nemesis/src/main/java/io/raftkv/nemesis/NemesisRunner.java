package io.raftkv.nemesis;

import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.proto.admin.MemberRole;
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
import java.util.Collection;
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
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

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
      boolean keepData,
      Snapshots snapshots,
      Set<FaultType> only,
      boolean tls) {

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
          false,
          Snapshots.DEFAULTS,
          Set.of(),
          false);
    }
  }

  /**
   * The nodes' snapshot policy (svr's {@code --snapshot-*} flags), small so that every fault meets
   * snapshots, and the ballast: bulk data written once before the clients start, so that each
   * snapshot spans several of the transfer's ~1 MiB chunks and a transfer, paced by the rate limit,
   * lasts long enough (about {@code ballastBytes / maxBytesPerSec} seconds) for a kill to land in
   * it.
   *
   * @param entries svr's --snapshot-entries (0: no compaction, and no snapshot faults)
   * @param catchupEntries svr's --snapshot-catchup-entries
   * @param maxBytesPerSec svr's --snapshot-max-bytes-per-sec (0: no limit)
   * @param timeoutMillis svr's --snapshot-timeout-ms
   * @param ballastBytes bulk data written before the run (0: none)
   */
  record Snapshots(
      long entries,
      long catchupEntries,
      long maxBytesPerSec,
      long timeoutMillis,
      long ballastBytes) {

    static final Snapshots DEFAULTS = new Snapshots(200, 50, 1 << 20, 30_000, 2L << 20);

    boolean enabled() {
      return entries > 0;
    }

    List<String> flags() {
      return List.of(
          "--snapshot-entries",
          Long.toString(entries),
          "--snapshot-catchup-entries",
          Long.toString(catchupEntries),
          "--snapshot-max-bytes-per-sec",
          Long.toString(maxBytesPerSec),
          "--snapshot-timeout-ms",
          Long.toString(timeoutMillis));
    }

    @Override
    public String toString() {
      if (!enabled()) {
        return "no compaction";
      }
      return String.format(
          Locale.ROOT,
          "snapshot every %d entries keeping %d, transfers at %s/s, %.1f MiB of ballast",
          entries,
          catchupEntries,
          maxBytesPerSec == 0
              ? "unlimited"
              : String.format(Locale.ROOT, "%.1f MiB", maxBytesPerSec / 1048576.0),
          ballastBytes / 1048576.0);
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
      long writeStallNanos,
      SnapshotEvidence snapshot) {}

  /**
   * What a snapshot fault saw: whether its kill landed while the transfer was in flight (null for
   * the stop-follower fault, which kills nothing mid-transfer), and whether the lagging follower
   * then caught up through a snapshot.
   */
  record SnapshotEvidence(Boolean killedMidTransfer, boolean caughtUpBySnapshot) {}

  /** Snapshot transfers over the whole run, counted in the server logs. */
  record SnapshotStats(int sent, int received, int failedSends, int refused) {
    @Override
    public String toString() {
      return sent
          + " sent, "
          + received
          + " received, "
          + failedSends
          + " sends failed, "
          + refused
          + " refused by receivers";
    }
  }

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
      Path historyFile,
      SnapshotStats snapshotStats,
      List<String> disturbances,
      List<Integer> members) {

    /** Whether the linearizability check ran out of budget (not a pass, not a violation). */
    boolean undecided() {
      return linearizability != null
          && linearizability.verdict() == CheckResult.Verdict.UNKNOWN
          && violations.isEmpty();
    }

    boolean passed() {
      return violations.isEmpty()
          && disturbances.isEmpty()
          && linearizability != null
          && linearizability.isOk();
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
  private static final String BALLAST_KEY = "__nemesis_ballast_";
  private static final int BALLAST_VALUE_BYTES = 256 << 10;

  private final Config config;
  private final PrintStream out;
  private final Random random;
  private final MembershipFaults membership;
  private final LongSupplier clock = System::nanoTime;
  private long t0;

  /** The ballast written (key to value), compared on every replica at the end. */
  private Map<String, String> ballast = Map.of();

  /** What the snapshot fault being injected saw (null for the others). */
  private SnapshotEvidence evidence;

  /** Nodes that exited on their own (crashed or stopped themselves): violations. */
  private final List<String> exits = new ArrayList<>();

  /** Nodes killed from outside the run: the run is disturbed, no verdict. */
  private final List<String> disturbances = new ArrayList<>();

  NemesisRunner(Config config, PrintStream out) {
    this.config = config;
    this.out = out;
    this.random = new Random(config.seed());
    this.membership = new MembershipFaults(random, Duration.ofSeconds(60));
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
    say("snapshots: %s", config.snapshots());
    ClusterTls tls = config.tls() ? ClusterTls.create(dir.resolve("certs")) : ClusterTls.PLAINTEXT;
    say("transport: %s", tls);
    Cluster cluster =
        new Cluster(config.svr(), dir, config.nodes(), config.snapshots().flags(), tls);
    boolean keep = config.keepData();
    // On Ctrl-C, no svr process may outlive the run (least of all a SIGSTOPped one).
    Thread hook = new Thread(cluster::close, "nemesis-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      cluster.startAll(Duration.ofSeconds(90));
      awaitWritable(cluster, Duration.ofSeconds(90));
      say("cluster up: %s", String.join(",", cluster.endpoints()));
      ballast = writeBallast(cluster);

      Workload workload =
          new Workload(
              cluster::endpoints,
              tls::channel,
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
      noticeExits(cluster, "at the end of the schedule");

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
    List<FaultType> types = faultTypes(config.snapshots(), config.only());
    long end = clock.getAsLong() + config.schedule().toNanos();
    // A moment of calm first, so that the clients are running when the first fault hits.
    ServerProcesses.sleep(1000);
    int n = 0;
    List<FaultType> bag = new ArrayList<>();
    while (clock.getAsLong() < end && (config.maxFaults() <= 0 || n < config.maxFaults())) {
      if (bag.isEmpty()) {
        // Every type once per round: in order with rotate, else in a seeded random order.
        bag.addAll(types);
        if (!config.rotate()) {
          Collections.shuffle(bag, random);
        }
      }
      FaultType type = MembershipFaults.feasible(bag.remove(0), cluster.size());
      n++;
      long start = clock.getAsLong();
      long hold = between(config.holdMin(), config.holdMax());
      evidence = null;
      String what = inject(cluster, type, hold);
      long healed = clock.getAsLong();
      ServerProcesses.sleep(between(config.quietMin(), config.quietMax()));
      long stop = clock.getAsLong();
      long stall = workload.longestWriteGap(start, stop);
      FaultRecord f = new FaultRecord(n, type, what, start, healed, stop, stall, evidence);
      faults.add(f);
      say(
          "fault %d %s: %s; writes stalled %.1f s; %d ops so far",
          n, type.label(), what, stall / 1e9, workload.opCount());
      noticeExits(cluster, "after fault " + n);
    }
    return faults;
  }

  /**
   * Nodes whose process ended without the nemesis killing it: a crash or a node that stopped itself
   * (a violation), or a SIGTERM/SIGKILL from outside the run (which disturbs it: no verdict). Each
   * is recorded and started again, so the run goes on.
   */
  private void noticeExits(Cluster cluster, String when) {
    for (int i = 0; i < cluster.size(); i++) {
      java.util.OptionalInt code = cluster.exitedOnItsOwn(i);
      if (code.isEmpty()) {
        continue;
      }
      int c = code.getAsInt();
      boolean signal = c == 128 + 9 || c == 128 + 15;
      String tail = ServerProcesses.tail(cluster.log(i));
      String what =
          "node "
              + cluster.id(i)
              + " exited on its own with code "
              + c
              + (signal
                  ? " (SIGKILL or SIGTERM from outside the nemesis)"
                  : " (a crash or a node that stopped itself)")
              + ", noticed "
              + when;
      say("%s; restarting it%s", what, tail);
      (signal ? disturbances : exits).add(what);
      cluster.start(i);
      cluster.awaitListening(i, Duration.ofSeconds(90));
    }
  }

  /**
   * The fault types a run uses: {@code only} (all if empty), the snapshot faults only if the nodes
   * compact their logs.
   */
  static List<FaultType> faultTypes(Snapshots snapshots, Set<FaultType> only) {
    List<FaultType> types = new ArrayList<>();
    for (FaultType t : FaultType.values()) {
      if ((only.isEmpty() || only.contains(t)) && (snapshots.enabled() || !t.needsCompaction())) {
        types.add(t);
      }
    }
    return types;
  }

  private long between(Duration min, Duration max) {
    long lo = min.toMillis();
    long hi = Math.max(lo, max.toMillis());
    return lo + (hi == lo ? 0 : random.nextLong(hi - lo + 1));
  }

  /**
   * Injects one fault, holds it for {@code holdMillis}, heals it; says what it did, naming nodes by
   * member id (as their logs and data directories are named: positions move when members leave).
   */
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
        return "kill -9 node " + cluster.id(victim) + ", restarted after " + hold;
      }
      case PAUSE_LEADER, PAUSE_RANDOM -> {
        boolean leader = type == FaultType.PAUSE_LEADER;
        int victim = leader ? leaderOrRandom(cluster) : random.nextInt(size);
        cluster.pause(victim);
        ServerProcesses.sleep(holdMillis);
        cluster.resume(victim);
        return "SIGSTOP node "
            + cluster.id(victim)
            + (leader ? " (leader)" : "")
            + ", SIGCONT after "
            + hold;
      }
      case ISOLATE_LEADER -> {
        int l = leaderOrRandom(cluster);
        List<Set<Integer>> sides = List.of(Set.of(l), others(size, Set.of(l)));
        partition(cluster, sides);
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader " + cluster.id(l) + " isolated for " + hold;
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
        return "partition "
            + ids(cluster, minority)
            + " | "
            + ids(cluster, majority)
            + " (leader was "
            + (l < 0 ? "unknown" : cluster.id(l))
            + ") for "
            + hold;
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
        return "ring "
            + ids(cluster, ring)
            + " (each node reaches its two neighbours only) for "
            + hold;
      }
      case SLOW_FOLLOWER -> {
        int l = leaderOrRandom(cluster);
        List<Integer> peers = new ArrayList<>(others(size, Set.of(l)));
        int f = peers.get(random.nextInt(peers.size()));
        int delay = 50 + random.nextInt(101);
        cluster.chaos(l, List.of(delay(cluster.id(f), delay)));
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader "
            + cluster.id(l)
            + " -> follower "
            + cluster.id(f)
            + " delayed "
            + delay
            + " ms for "
            + hold;
      }
      case SLOW_MAJORITY -> {
        int l = leaderOrRandom(cluster);
        List<Integer> peers = new ArrayList<>(others(size, Set.of(l)));
        Collections.shuffle(peers, random);
        // A commit needs size/2 followers: with ceil(size/2) links slow, fewer fast ones are left.
        List<Integer> slow = new ArrayList<>(peers.subList(0, (size + 1) / 2));
        int delay = 30 + random.nextInt(71);
        List<PeerFault> faults = new ArrayList<>();
        for (int p : slow) {
          faults.add(delay(cluster.id(p), delay));
        }
        cluster.chaos(l, faults);
        ServerProcesses.sleep(holdMillis);
        cluster.resetChaos();
        return "leader "
            + cluster.id(l)
            + " -> nodes "
            + ids(cluster, new TreeSet<>(slow))
            + " delayed "
            + delay
            + " ms for "
            + hold;
      }
      case STOP_FOLLOWER_PAST_COMPACTION -> {
        return stopFollowerPastCompaction(cluster, holdMillis);
      }
      case KILL_SNAPSHOT_SENDER, KILL_SNAPSHOT_RECEIVER -> {
        return killDuringTransfer(cluster, type == FaultType.KILL_SNAPSHOT_SENDER, holdMillis);
      }
      case REPLACE_NODE -> {
        return membership.replace(cluster, () -> awaitLeader(cluster));
      }
      case GROW -> {
        return membership.grow(cluster);
      }
      case SHRINK -> {
        return membership.shrink(cluster, () -> awaitLeader(cluster));
      }
      default -> throw new IllegalStateException("unknown fault " + type);
    }
  }

  /** The member ids at these positions, in their order. */
  private static List<Integer> ids(Cluster cluster, Collection<Integer> positions) {
    List<Integer> ids = new ArrayList<>();
    for (int p : positions) {
      ids.add(cluster.id(p));
    }
    return ids;
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
    int l = awaitLeader(cluster);
    return l >= 0 ? l : random.nextInt(cluster.size());
  }

  /** The leader's position, waiting up to 5 s for one; -1 if there is none. */
  private int awaitLeader(Cluster cluster) {
    long deadline = clock.getAsLong() + Duration.ofSeconds(5).toNanos();
    while (true) {
      int l = cluster.leader();
      if (l >= 0 || clock.getAsLong() > deadline) {
        return l;
      }
      ServerProcesses.sleep(100);
    }
  }

  // ---------------------------------------------------------------- the snapshot faults

  /**
   * How a snapshot fault takes a follower down. Never SIGSTOP then SIGCONT alone: the appends the
   * leader goes on sending wait in the stopped process's socket (the leader sends what a heartbeat
   * finds missing, and the stream's flow-control window holds a few seconds of writes), so the
   * follower usually resumes with what it needs and no snapshot; killing it loses them.
   */
  private enum Stop {
    /** kill -9; restarted. */
    KILL("kill -9"),
    /** SIGSTOP, kill -9 half-way through the hold (a node that hung, then died); restarted. */
    PAUSE_THEN_KILL("SIGSTOP then kill -9");

    private final String label;

    Stop(String label) {
      this.label = label;
    }
  }

  /** A follower taken down until the leader compacted past its log. */
  private record Lag(
      int follower,
      Stop stop,
      long behind,
      long target,
      int leader,
      long leaderApplied,
      long held) {

    boolean compactedPast() {
      return leaderApplied >= target;
    }

    String describe(Cluster cluster) {
      return String.format(
          Locale.ROOT,
          "follower %d stopped (%s) at index %d for %.1f s, %s",
          cluster.id(follower),
          stop.label,
          behind,
          held / 1e9,
          compactedPast()
              ? "until leader "
                  + cluster.id(leader)
                  + " applied "
                  + leaderApplied
                  + " (compacted past it)"
              : "but the leader did not compact past it (applied "
                  + leaderApplied
                  + " < "
                  + target
                  + ")");
    }
  }

  /** A snapshot a node logged that it received, {@code after} nanoseconds after some event. */
  private record Received(long index, long bytes, int from, long after) {
    String describe(String event) {
      return String.format(
          Locale.ROOT,
          "caught up through snapshot %d (%d bytes) from node %d, %.1f s after %s",
          index,
          bytes,
          from,
          after / 1e9,
          event);
    }
  }

  /** How a follower caught up: through a snapshot, or from the log ({@code snapshot} null). */
  private record CatchUp(Received snapshot, long mark, long after) {
    String describe(String event) {
      if (snapshot != null) {
        return snapshot.describe(event);
      }
      return String.format(
          Locale.ROOT,
          "caught up from the log WITHOUT a snapshot (applied %d), %.1f s after %s",
          mark,
          after / 1e9,
          event);
    }
  }

  /** A transfer caught in flight: the receiver's part file. */
  private record InFlight(String file, long index, long bytes) {}

  private static final Pattern RECEIVED =
      Pattern.compile("received snapshot (\\d+) \\((\\d+) bytes\\) from node (\\d+)");
  private static final Pattern SENT =
      Pattern.compile("sent snapshot (\\d+) \\((\\d+) bytes\\) to node (\\d+)");
  private static final Pattern SEND_FAILED =
      Pattern.compile("snapshot (\\d+) to node (\\d+) failed: (.*)");
  private static final Pattern REFUSED = Pattern.compile("refused a snapshot: (.*)");
  private static final Pattern PART = Pattern.compile("incoming-(\\d+)-(\\d+)\\.part");

  /** How long a follower may take to show a snapshot once back. */
  private static final Duration CATCH_UP_LIMIT = Duration.ofSeconds(45);

  /** How long past the hold a follower stays down waiting for the leader to compact past it. */
  private static final Duration LAG_LIMIT = Duration.ofSeconds(30);

  /** How long the far end of a cut transfer has to log it. */
  private static final Duration CUT_LIMIT = Duration.ofSeconds(5);

  private String stopFollowerPastCompaction(Cluster cluster, long holdMillis) {
    Lag lag = lagFollower(cluster, holdMillis);
    int f = lag.follower();
    long offset = cluster.logSize(f);
    long mark = leaderCommit(cluster);
    long back = clock.getAsLong();
    bringBack(cluster, f);
    Optional<CatchUp> c = awaitCatchUp(cluster, f, offset, -1, back, CATCH_UP_LIMIT, mark);
    evidence = new SnapshotEvidence(null, c.isPresent() && c.get().snapshot() != null);
    String event = "the restart";
    return lag.describe(cluster)
        + "; "
        + c.map(x -> x.describe(event))
            .orElse("NO SNAPSHOT received within " + CATCH_UP_LIMIT.toSeconds() + " s");
  }

  /**
   * Lags a follower past the leader's compaction, brings it back, and kill -9s the leader (the
   * sender) or the follower (the receiver) as soon as the follower's part file shows the snapshot
   * arriving; restarts the victim after the hold and waits for the follower's next snapshot.
   */
  private String killDuringTransfer(Cluster cluster, boolean sender, long holdMillis) {
    Lag lag = lagFollower(cluster, holdMillis);
    int f = lag.follower();
    long[] offsets = new long[cluster.size()];
    for (int i = 0; i < cluster.size(); i++) {
      offsets[i] = cluster.logSize(i);
    }
    long sinceMillis = System.currentTimeMillis();
    long back = clock.getAsLong();
    bringBack(cluster, f);
    StringBuilder what = new StringBuilder(lag.describe(cluster));
    Optional<InFlight> flight = awaitTransfer(cluster, f, offsets[f], sinceMillis, CATCH_UP_LIMIT);
    int victim = f;
    if (sender) {
      int l = cluster.leader();
      victim = l >= 0 ? l : lag.leader();
    }
    cluster.kill(victim);
    long killed = clock.getAsLong();
    boolean hit = false;
    long cutIndex = -1;
    if (flight.isEmpty()) {
      // No transfer seen (it ended first, or never came): the fault is a plain kill.
      Optional<Received> r = received(cluster, f, offsets[f], -1, back);
      what.append(
          r.map(x -> "; " + x.describe("coming back") + " before a transfer was seen")
              .orElse("; no transfer seen within " + CATCH_UP_LIMIT.toSeconds() + " s"));
      what.append("; kill -9 node ").append(cluster.id(victim));
    } else {
      InFlight x = flight.get();
      cutIndex = x.index();
      what.append(
          String.format(
              Locale.ROOT,
              "; kill -9 node %d (%s) %.1f s after the follower came back, with %d bytes of"
                  + " snapshot %d in the follower's %s",
              cluster.id(victim),
              sender ? "the leader, sending" : "the follower, receiving",
              (killed - back) / 1e9,
              x.bytes(),
              x.index(),
              x.file()));
      String cut =
          sender
              ? awaitLogLine(cluster, f, offsets[f], REFUSED, m -> true)
                  .map(
                      m ->
                          "follower " + cluster.id(f) + " refused the broken stream: " + m.group(1))
                  .orElse("follower " + cluster.id(f) + " logged no refusal")
              : awaitSendFailure(cluster, offsets, f, x.index());
      boolean arrived =
          !matches(cluster.logSince(f, offsets[f]), RECEIVED, m -> parse(m, 1) == x.index())
              .isEmpty();
      hit = !arrived;
      what.append(arrived ? " (too late: it had arrived)" : "; " + cut);
    }
    ServerProcesses.sleep(holdMillis);
    long offset = sender ? offsets[f] : cluster.logSize(f);
    long restart = clock.getAsLong();
    cluster.start(victim);
    cluster.awaitListening(victim, Duration.ofSeconds(90));
    what.append(
        String.format(
            Locale.ROOT, "; node %d restarted after %.1f s", cluster.id(victim), holdMillis / 1e3));
    // The follower's next snapshot (after a sender's kill it may come from a new leader during
    // the hold already).
    Optional<CatchUp> r =
        awaitCatchUp(
            cluster,
            f,
            offset,
            hit ? cutIndex : -1,
            sender ? killed : restart,
            CATCH_UP_LIMIT,
            leaderCommit(cluster));
    String event = sender ? "the kill" : "the restart";
    what.append("; follower ")
        .append(cluster.id(f))
        .append(' ')
        .append(
            r.map(x -> x.describe(event))
                .orElse("got NO SNAPSHOT within " + CATCH_UP_LIMIT.toSeconds() + " s"));
    List<String> leftovers = partFiles(cluster, f);
    if (!leftovers.isEmpty()) {
      what.append("; left in its snapshots/: ").append(String.join(", ", leftovers));
    }
    evidence = new SnapshotEvidence(hit, r.isPresent() && r.get().snapshot() != null);
    return what.toString();
  }

  /**
   * Stops a follower of the current leader and keeps it down for the hold and until the leader has
   * applied enough entries to have compacted its log past the follower's last one (its snapshot
   * interval plus the entries it keeps, with a margin), for at most {@link #LAG_LIMIT} more; leaves
   * it down.
   */
  private Lag lagFollower(Cluster cluster, long holdMillis) {
    Snapshots sn = config.snapshots();
    int l = leaderOrRandom(cluster);
    List<Integer> peers = new ArrayList<>(others(cluster.size(), Set.of(l)));
    int f = peers.get(random.nextInt(peers.size()));
    Stop stop = Stop.values()[random.nextInt(Stop.values().length)];
    // Its last index (or the leader's, if larger or it does not answer): after that the leader
    // must drop entries it has not got.
    long behind = Math.max(lastIndex(cluster, f), lastIndex(cluster, l));
    // The leader's log starts after its last snapshot less the catch-up entries, and a snapshot is
    // taken every snapshot interval (give or take a batch of applied entries): past this, the log
    // no longer holds what the follower needs.
    long margin = sn.entries() + sn.catchupEntries() + Math.max(20, sn.entries() / 2);
    long target = behind + margin;
    long t = clock.getAsLong();
    if (stop == Stop.KILL) {
      cluster.kill(f);
    } else {
      cluster.pause(f);
    }
    long hold = Duration.ofMillis(holdMillis).toNanos();
    long deadline = t + hold + LAG_LIMIT.toNanos();
    long applied = 0;
    int leader = l;
    while (true) {
      long elapsed = clock.getAsLong() - t;
      if (stop == Stop.PAUSE_THEN_KILL && cluster.isPaused(f) && elapsed >= hold / 2) {
        cluster.kill(f);
      }
      int now = cluster.leader();
      Optional<StatusResponse> s =
          now < 0 ? Optional.empty() : cluster.status(now, Duration.ofMillis(700));
      if (s.isPresent()) {
        leader = now;
        applied = s.get().getAppliedIndex();
      }
      if ((elapsed >= hold && applied >= target) || clock.getAsLong() > deadline) {
        break;
      }
      ServerProcesses.sleep(200);
    }
    if (stop == Stop.PAUSE_THEN_KILL && cluster.isPaused(f)) {
      cluster.kill(f);
    }
    return new Lag(f, stop, behind, target, leader, applied, clock.getAsLong() - t);
  }

  private static long lastIndex(Cluster cluster, int i) {
    return cluster.status(i, Duration.ofSeconds(1)).map(StatusResponse::getLastIndex).orElse(0L);
  }

  /** SIGCONT a paused node, restarts a dead one. */
  private static void bringBack(Cluster cluster, int i) {
    if (cluster.isPaused(i)) {
      cluster.resume(i);
    } else if (!cluster.isRunning(i)) {
      cluster.start(i);
      cluster.awaitListening(i, Duration.ofSeconds(90));
    }
  }

  /**
   * Waits for node i to catch up: to log a snapshot received after {@code offset} in its log (other
   * than snapshot {@code except}), or to apply {@code mark} without one (from the leader's log).
   * Empty if neither happened within the limit, or the node died.
   */
  private Optional<CatchUp> awaitCatchUp(
      Cluster cluster, int i, long offset, long except, long start, Duration limit, long mark) {
    long deadline = clock.getAsLong() + limit.toNanos();
    long appliedAt = 0;
    while (true) {
      Optional<Received> r = received(cluster, i, offset, except, start);
      if (r.isPresent()) {
        return Optional.of(new CatchUp(r.get(), 0, r.get().after()));
      }
      if (appliedAt != 0 && clock.getAsLong() - appliedAt > 500_000_000L) {
        // Applied the mark and still no snapshot in its log (the line comes once it is staged,
        // before the install: half a second is plenty): it caught up from the log.
        return Optional.of(new CatchUp(null, mark, appliedAt - start));
      }
      if (appliedAt == 0
          && mark > 0
          && cluster
                  .status(i, Duration.ofMillis(500))
                  .map(StatusResponse::getAppliedIndex)
                  .orElse(0L)
              >= mark) {
        appliedAt = clock.getAsLong();
      }
      if (clock.getAsLong() > deadline || !cluster.isRunning(i)) {
        return Optional.empty();
      }
      ServerProcesses.sleep(100);
    }
  }

  /** The first snapshot node i logged as received after {@code offset}, but {@code except}. */
  private Optional<Received> received(
      Cluster cluster, int i, long offset, long except, long start) {
    for (Matcher m : matches(cluster.logSince(i, offset), RECEIVED, x -> parse(x, 1) != except)) {
      return Optional.of(
          new Received(parse(m, 1), parse(m, 2), (int) parse(m, 3), clock.getAsLong() - start));
    }
    return Optional.empty();
  }

  /** The leader's commit index (0 if none answers): what a returning follower must reach. */
  private static long leaderCommit(Cluster cluster) {
    int l = cluster.leader();
    return l < 0
        ? 0
        : cluster.status(l, Duration.ofSeconds(1)).map(StatusResponse::getCommitIndex).orElse(0L);
  }

  /**
   * Waits for a snapshot to be arriving at node i: a part file in its snapshots directory written
   * since {@code sinceMillis}. Empty if a snapshot was received first (in its log after {@code
   * offset}), or none came within the limit.
   */
  private Optional<InFlight> awaitTransfer(
      Cluster cluster, int i, long offset, long sinceMillis, Duration limit) {
    Path dir = cluster.dataDir(i).resolve("snapshots");
    long deadline = clock.getAsLong() + limit.toNanos();
    while (clock.getAsLong() < deadline && cluster.isRunning(i)) {
      try (Stream<Path> files = Files.exists(dir) ? Files.list(dir) : Stream.empty()) {
        for (Path p : (Iterable<Path>) files::iterator) {
          Matcher m = PART.matcher(p.getFileName().toString());
          if (m.matches()) {
            long size = Files.size(p);
            if (size > 0 && Files.getLastModifiedTime(p).toMillis() >= sinceMillis) {
              return Optional.of(new InFlight(p.getFileName().toString(), parse(m, 1), size));
            }
          }
        }
      } catch (IOException | UncheckedIOException e) {
        // the file went (renamed when complete) while we looked: look again
      }
      if (!matches(cluster.logSince(i, offset), RECEIVED, m -> true).isEmpty()) {
        return Optional.empty();
      }
      ServerProcesses.sleep(10);
    }
    return Optional.empty();
  }

  /** After the receiver's kill: the sender's line saying the transfer failed. */
  private String awaitSendFailure(Cluster cluster, long[] offsets, int f, long index) {
    long deadline = clock.getAsLong() + CUT_LIMIT.toNanos();
    while (true) {
      for (int i = 0; i < cluster.size(); i++) {
        if (i == f) {
          continue;
        }
        for (Matcher m :
            matches(
                cluster.logSince(i, offsets[i]),
                SEND_FAILED,
                // The server logs name nodes by id, not position.
                x -> parse(x, 1) == index && parse(x, 2) == cluster.id(f))) {
          return "sender "
              + cluster.id(i)
              + " logged: snapshot "
              + index
              + " to node "
              + cluster.id(f)
              + " failed: "
              + m.group(3);
        }
      }
      if (clock.getAsLong() > deadline) {
        return "no sender logged the failure within " + CUT_LIMIT.toSeconds() + " s";
      }
      ServerProcesses.sleep(100);
    }
  }

  /** Waits for node i to log a line after {@code offset} that matches; empty after the limit. */
  private Optional<Matcher> awaitLogLine(
      Cluster cluster, int i, long offset, Pattern p, Predicate<Matcher> which) {
    long deadline = clock.getAsLong() + CUT_LIMIT.toNanos();
    while (true) {
      List<Matcher> found = matches(cluster.logSince(i, offset), p, which);
      if (!found.isEmpty()) {
        return Optional.of(found.get(0));
      }
      if (clock.getAsLong() > deadline || !cluster.isRunning(i)) {
        return Optional.empty();
      }
      ServerProcesses.sleep(100);
    }
  }

  private static List<Matcher> matches(List<String> lines, Pattern p, Predicate<Matcher> which) {
    List<Matcher> found = new ArrayList<>();
    for (String line : lines) {
      Matcher m = p.matcher(line);
      if (m.find() && which.test(m)) {
        found.add(m);
      }
    }
    return found;
  }

  private static long parse(Matcher m, int group) {
    return Long.parseLong(m.group(group));
  }

  /** The part files in node i's snapshots directory (transfers cut short leave them). */
  private static List<String> partFiles(Cluster cluster, int i) {
    Path dir = cluster.dataDir(i).resolve("snapshots");
    List<String> parts = new ArrayList<>();
    if (!Files.exists(dir)) {
      return parts;
    }
    try (Stream<Path> files = Files.list(dir)) {
      files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".part") || n.endsWith(".snap"))
          .sorted()
          .forEach(parts::add);
    } catch (IOException | UncheckedIOException e) {
      // not worth failing the run over
    }
    return parts;
  }

  /** The snapshot transfers of the whole run, from every node's log. */
  private static SnapshotStats snapshotStats(Cluster cluster) {
    int sent = 0;
    int received = 0;
    int failed = 0;
    int refused = 0;
    // Every node's, the ones replaced or removed during the run too.
    for (Path log : cluster.allLogs()) {
      List<String> lines = Cluster.linesSince(log, 0);
      sent += matches(lines, SENT, m -> true).size();
      received += matches(lines, RECEIVED, m -> true).size();
      failed += matches(lines, SEND_FAILED, m -> true).size();
      refused += matches(lines, REFUSED, m -> true).size();
    }
    return new SnapshotStats(sent, received, failed, refused);
  }

  /**
   * Writes the ballast: {@code ballastBytes} of bulk data in 256 KiB values, so that snapshots span
   * several chunks; the values are compared on every replica at the end.
   */
  private Map<String, String> writeBallast(Cluster cluster) {
    long bytes = config.snapshots().ballastBytes();
    if (bytes <= 0) {
      return Map.of();
    }
    Map<String, String> written = new TreeMap<>();
    Random r = new Random(config.seed() ^ 0x5eed_ba11_a57L);
    long t = clock.getAsLong();
    try (KvClient c = client(cluster, Duration.ofSeconds(30))) {
      for (int i = 0; (long) i * BALLAST_VALUE_BYTES < bytes; i++) {
        int n = (int) Math.min(BALLAST_VALUE_BYTES, bytes - (long) i * BALLAST_VALUE_BYTES);
        char[] v = new char[n];
        for (int k = 0; k < n; k++) {
          v[k] = (char) ('a' + r.nextInt(26));
        }
        String key = BALLAST_KEY + i;
        String value = new String(v);
        c.put(key, value);
        written.put(key, value);
      }
    } catch (KvException e) {
      throw new IllegalStateException("cannot write the ballast: " + e, e);
    }
    say(
        "ballast: %d keys, %d bytes, written in %.1f s",
        written.size(), bytes, (clock.getAsLong() - t) / 1e9);
    return written;
  }

  /** A client of the current members, over the cluster's transport (plaintext or TLS). */
  private static KvClient client(Cluster cluster, Duration timeout) {
    return KvClient.builder(cluster.endpoints())
        .channelFactory(cluster.tls()::channel)
        .timeout(timeout)
        .build();
  }

  // ---------------------------------------------------------------- after the schedule

  /** Waits until a write goes through (a leader is elected and has committed in its term). */
  private void awaitWritable(Cluster cluster, Duration limit) {
    long deadline = clock.getAsLong() + limit.toNanos();
    Exception last = null;
    try (KvClient c = client(cluster, Duration.ofSeconds(5))) {
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
    violations.addAll(membership(cluster));
    violations.addAll(exits);

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
    return new Result(
        ops.size(),
        acked,
        unknown,
        failed,
        faults,
        stalls,
        lin,
        violations,
        history,
        snapshotStats(cluster),
        List.copyOf(disturbances),
        cluster.ids());
  }

  /**
   * The configuration the leader holds is the one the nemesis believes it made: the same voters, no
   * learner left over, not joint. Else the replicas compared were not all the members (or included
   * a removed one), and a member the nemesis stopped may still count toward the majority.
   */
  private List<String> membership(Cluster cluster) {
    List<Integer> expected = new ArrayList<>(cluster.ids());
    Collections.sort(expected);
    Optional<Map<Integer, MemberRole>> view = cluster.members(Duration.ofSeconds(30));
    if (view.isEmpty()) {
      return List.of("no leader listed the members within 30 s");
    }
    if (!view.get().keySet().equals(new TreeSet<>(expected))
        || !view.get().values().stream().allMatch(r -> r == MemberRole.VOTER)) {
      return List.of(
          "the leader lists the members "
              + view.get()
              + ", the nemesis made the voters "
              + expected);
    }
    say("members: voters %s, as the nemesis made them", expected);
    return List.of();
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
          Map<String, String> expected = new TreeMap<>(finals);
          expected.putAll(ballast);
          List<String> diff = compareReplicas(cluster, expected);
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
    try (KvClient c = client(cluster, Duration.ofSeconds(5))) {
      for (int i = 0; i < cluster.size(); i++) {
        String node = cluster.endpoint(i);
        for (Map.Entry<String, String> e : finals.entrySet()) {
          Optional<byte[]> v;
          try {
            v = c.directGet(node, e.getKey().getBytes(StandardCharsets.UTF_8));
          } catch (KvException ex) {
            diff.add(
                "node "
                    + cluster.id(i)
                    + ": DIRECT_GET "
                    + e.getKey()
                    + " failed: "
                    + ex.getMessage());
            continue;
          }
          String got = v.map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
          if (!java.util.Objects.equals(got, e.getValue())) {
            diff.add(
                "node "
                    + cluster.id(i)
                    + " diverged on "
                    + e.getKey()
                    + ": "
                    + (got == null ? "(absent)" : "\"" + abbreviate(got) + "\"")
                    + " but the cluster says "
                    + (e.getValue() == null ? "(absent)" : "\"" + abbreviate(e.getValue()) + "\""));
          }
        }
      }
    }
    return diff;
  }

  /** A value short enough for a message (the ballast's are 256 KiB). */
  private static String abbreviate(String v) {
    return v.length() <= 200 ? v : v.substring(0, 100) + "...(" + v.length() + " chars)";
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
