package io.raftkv.nemesis;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code build/dev/nemesis}: runs the process-level nemesis for a while and checks the history. The
 * last line is {@code nemesis: N ops, F faults, V violations}. Exit codes: 0 no violation and the
 * history proven linearizable; 1 a violation (what it is is printed, the history saved and its file
 * named; a node that exits on its own is one); 2 bad arguments; 3 the run itself failed (e.g. a
 * node would not start, or something outside the run killed a node: no verdict); 4 no violation
 * found but the linearizability check ran out of budget (UNKNOWN, not a pass; the history is saved
 * too).
 */
@Command(
    name = "nemesis",
    mixinStandardHelpOptions = true,
    version = "raftkv nemesis 0.1.0",
    description = {
      "Starts 5 real svr nodes, runs concurrent recording clients, and injects a seeded schedule of"
          + " faults (kill -9 and restart of the leader or a random node, SIGSTOP/SIGCONT,"
          + " partitions: leader isolated, majority/minority, non-transitive ring; a slow"
          + " follower, a slow majority; a follower stopped until the leader compacted past its"
          + " log, kill -9 of a snapshot's sender or receiver mid-transfer; membership changes:"
          + " a node replaced by a new one, the cluster grown by new members up to 7, shrunk"
          + " by removing members down to 3). The nodes"
          + " snapshot and compact their logs often (--snapshot-*), so every fault meets"
          + " snapshots. Then heals everything and checks that the history is linearizable, no"
          + " acknowledged write was lost and every replica converged."
    })
public final class NemesisMain implements Callable<Integer> {

  @Option(
      names = "--minutes",
      defaultValue = "2",
      description = "How long the fault schedule runs (default: ${DEFAULT-VALUE}).")
  double minutes;

  @Option(
      names = "--seed",
      description = "Seed of the schedule and the workload (default: random, printed).")
  Long seed;

  @Option(
      names = "--clients",
      defaultValue = "5",
      description = "Concurrent clients, each with its own KvClient (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--op-timeout-ms",
      defaultValue = "5000",
      description =
          "Each client operation's overall deadline, retries included; shorter gives more"
              + " outcome-unknown writes (default: ${DEFAULT-VALUE}).")
  long opTimeoutMillis;

  @Option(
      names = "--rotate",
      description =
          "Run the fault types in a fixed order instead of a seeded random one (each type once"
              + " per round either way).")
  boolean rotate;

  @Option(
      names = "--faults",
      split = ",",
      paramLabel = "TYPE",
      description =
          "Only these fault types, comma-separated (default: all): kill-leader, kill-random,"
              + " pause-leader, pause-random, isolate-leader, majority-minority, ring,"
              + " slow-follower, slow-majority, stop-follower-past-compaction,"
              + " kill-snapshot-sender, kill-snapshot-receiver, replace-node, grow, shrink.")
  List<String> faults;

  @Option(
      names = "--svr",
      description = "The svr launcher (default: build/dev/svr under raftkv.root).")
  Path svr;

  @Option(
      names = "--history-dir",
      defaultValue = ".",
      description = "Where a history is saved on a violation (default: the current directory).")
  Path historyDir;

  @Option(names = "--keep-data", description = "Keep the nodes' data and logs.")
  boolean keepData;

  @Option(
      names = "--tls",
      description =
          "Run the cluster with TLS, as docs/operations.md sets it up: certificates made at run"
              + " time (a CA; per node a KV certificate for 127.0.0.1 and a peer certificate"
              + " naming raftkv-node-<id>), client certificates required, mutual TLS between"
              + " the nodes; the nemesis's clients and Admin calls present a certificate with"
              + " CN root (svr's default admin user).")
  boolean tls;

  @Option(
      names = "--snapshot-entries",
      defaultValue = "200",
      description =
          "The nodes' --snapshot-entries: small, so that every fault meets snapshots; 0 turns"
              + " compaction off and leaves the snapshot faults out (default: ${DEFAULT-VALUE}).")
  long snapshotEntries;

  @Option(
      names = "--snapshot-catchup-entries",
      defaultValue = "50",
      description = "The nodes' --snapshot-catchup-entries (default: ${DEFAULT-VALUE}).")
  long snapshotCatchupEntries;

  @Option(
      names = "--snapshot-max-bytes-per-sec",
      defaultValue = "1048576",
      description =
          "The nodes' --snapshot-max-bytes-per-sec: slow, so that a transfer lasts long enough"
              + " for the kill-snapshot faults to land in it (default: ${DEFAULT-VALUE}).")
  long snapshotMaxBytesPerSec;

  @Option(
      names = "--snapshot-timeout-ms",
      defaultValue = "30000",
      description = "The nodes' --snapshot-timeout-ms (default: ${DEFAULT-VALUE}).")
  long snapshotTimeoutMillis;

  @Option(
      names = "--ballast-mib",
      defaultValue = "2",
      description =
          "Bulk data written before the clients start (256 KiB values, checked on every replica"
              + " at the end), so that a snapshot spans several 1 MiB chunks and its transfer"
              + " lasts about this many seconds per MiB/s of the rate limit (default:"
              + " ${DEFAULT-VALUE}).")
  double ballastMib;

  private final PrintStream out;

  NemesisMain(PrintStream out) {
    this.out = out;
  }

  public static void main(String[] args) {
    System.exit(execute(System.out, args));
  }

  static int execute(PrintStream out, String... args) {
    return new CommandLine(new NemesisMain(out)).execute(args);
  }

  @Override
  public Integer call() throws Exception {
    if (minutes <= 0 || clients < 1 || opTimeoutMillis < 100) {
      out.println(
          "nemesis: --minutes must be positive, --clients at least 1, --op-timeout-ms at least"
              + " 100");
      return 2;
    }
    if (snapshotEntries < 0
        || snapshotCatchupEntries < 0
        || snapshotMaxBytesPerSec < 0
        || snapshotTimeoutMillis <= 0
        || ballastMib < 0) {
      out.println(
          "nemesis: the --snapshot-* values and --ballast-mib must not be negative (the timeout"
              + " positive)");
      return 2;
    }
    Set<FaultType> only = EnumSet.noneOf(FaultType.class);
    for (String label : faults == null ? List.<String>of() : faults) {
      Optional<FaultType> t =
          Arrays.stream(FaultType.values()).filter(x -> x.label().equals(label.trim())).findFirst();
      if (t.isEmpty()) {
        out.println("nemesis: no fault type '" + label + "' (see --help)");
        return 2;
      }
      only.add(t.get());
    }
    if (snapshotEntries == 0
        && !only.isEmpty()
        && only.stream().allMatch(FaultType::needsCompaction)) {
      out.println("nemesis: the snapshot faults need --snapshot-entries above 0");
      return 2;
    }
    Path root = Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath();
    Path launcher = svr != null ? svr : root.resolve("build/dev/svr");
    long s = seed != null ? seed : new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
    NemesisRunner.Config d =
        NemesisRunner.Config.defaults(
            launcher, s, clients, Duration.ofMillis(Math.round(minutes * 60_000)));
    NemesisRunner.Config config =
        new NemesisRunner.Config(
            d.svr(),
            d.nodes(),
            d.clients(),
            d.seed(),
            d.schedule(),
            0,
            rotate,
            d.holdMin(),
            d.holdMax(),
            d.quietMin(),
            d.quietMax(),
            Duration.ofMillis(opTimeoutMillis),
            d.thinkMillis(),
            d.keyGeneration(),
            Duration.ofMillis(Math.max(300_000, Math.round(minutes * 60_000))),
            historyDir,
            keepData,
            new NemesisRunner.Snapshots(
                snapshotEntries,
                snapshotCatchupEntries,
                snapshotMaxBytesPerSec,
                snapshotTimeoutMillis,
                Math.round(ballastMib * (1 << 20))),
            only,
            tls);
    NemesisRunner.Result r;
    try {
      r = new NemesisRunner(config, out).run();
    } catch (RuntimeException e) {
      out.println("nemesis: the run failed (not a verdict on raftkv): " + e.getMessage());
      e.printStackTrace(out);
      return 3;
    }
    report(out, r);
    if (!r.violations().isEmpty()) {
      out.println("nemesis: VIOLATIONS:");
      for (String v : r.violations()) {
        out.println("  - " + v);
      }
    }
    if (r.historyFile() != null) {
      out.println("nemesis: history saved to " + r.historyFile());
    }
    if (r.undecided()) {
      out.println(
          "nemesis: linearizability UNDECIDED (check budget exhausted; partitions "
              + r.linearizability().undecidedPartitions()
              + "): not a pass");
    }
    if (!r.disturbances().isEmpty()) {
      out.println(
          "nemesis: the run was DISTURBED (no verdict): nodes were killed from outside it:");
      for (String why : r.disturbances()) {
        out.println("  - " + why);
      }
    }
    out.println(r.summary());
    if (!r.violations().isEmpty()) {
      return 1;
    }
    if (!r.disturbances().isEmpty()) {
      return 3;
    }
    return r.passed() ? 0 : 4;
  }

  /** The run's numbers: operations by outcome and the write stalls per fault type. */
  static void report(PrintStream out, NemesisRunner.Result r) {
    out.printf(
        Locale.ROOT,
        "nemesis: %d ops (%d acknowledged, %d outcome unknown, %d failed), %d faults%n",
        r.ops(),
        r.acknowledged(),
        r.unknown(),
        r.failed(),
        r.faults().size());
    out.println("nemesis: write stalls per fault type (longest gap between acknowledged writes):");
    for (Map.Entry<FaultType, NemesisRunner.Stall> e : r.stalls().entrySet()) {
      NemesisRunner.Stall s = e.getValue();
      out.printf(
          Locale.ROOT,
          "  %-30s %3d x  max %5.1f s  mean %5.1f s%n",
          e.getKey().label(),
          s.count(),
          s.maxNanos() / 1e9,
          s.meanNanos() / 1e9);
    }
    int stopped = 0;
    int stoppedCaughtUp = 0;
    int kills = 0;
    int killsInFlight = 0;
    int killsCaughtUp = 0;
    for (NemesisRunner.FaultRecord f : r.faults()) {
      NemesisRunner.SnapshotEvidence e = f.snapshot();
      if (e == null) {
        continue;
      }
      if (e.killedMidTransfer() == null) {
        stopped++;
        stoppedCaughtUp += e.caughtUpBySnapshot() ? 1 : 0;
      } else {
        kills++;
        killsInFlight += e.killedMidTransfer() ? 1 : 0;
        killsCaughtUp += e.caughtUpBySnapshot() ? 1 : 0;
      }
    }
    if (stopped + kills > 0) {
      out.printf(
          Locale.ROOT,
          "nemesis: snapshot faults: %d of %d stopped followers caught up through a snapshot;"
              + " %d of %d kills landed mid-transfer, and %d of their followers then caught up"
              + " through a snapshot%n",
          stoppedCaughtUp,
          stopped,
          killsInFlight,
          kills,
          killsCaughtUp);
    }
    if (r.snapshotStats() != null) {
      out.println("nemesis: snapshot transfers in the server logs: " + r.snapshotStats());
    }
    out.println(
        "nemesis: members at the end: "
            + r.members().size()
            + " voters, ids "
            + r.members().stream().sorted().toList());
  }
}
