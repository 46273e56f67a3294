package io.raftkv.sim;

import io.raftkv.sim.kv.RandomKvScenario;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The soak runner ({@code build/dev/sim}): random simulated cluster scenarios with every event
 * checked for Raft's safety properties and every healed period for liveness. A violation prints the
 * command that replays its seed; the exit code is then 1.
 */
@Command(
    name = "sim",
    mixinStandardHelpOptions = true,
    description =
        "Runs random deterministic Raft cluster scenarios and checks safety and liveness.")
public final class SoakMain implements Callable<Integer> {

  @Option(
      names = "--seeds",
      description = "Run this many random scenarios (default ${DEFAULT-VALUE}).",
      defaultValue = "100")
  int count;

  @Option(names = "--seed", description = "Replay exactly this scenario seed.")
  Long seed;

  @Option(
      names = "--base-seed",
      description = "Derive the scenario seeds from this (default: random, printed).")
  Long baseSeed;

  @Option(
      names = "--threads",
      description = "Scenarios run in parallel (default: available processors).")
  Integer threads;

  @Option(
      names = "--kv",
      description =
          "Run KV scenarios: whole nodes (runtime, state machine, KV service) and clients under"
              + " faults; every history checked for linearizability, exactly-once appends and"
              + " replica convergence.")
  boolean kv;

  @Option(
      names = "--trace",
      description = "With --seed: print every action and every node state change.")
  boolean trace;

  private final PrintStream out;

  public SoakMain(PrintStream out) {
    this.out = out;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new SoakMain(System.out)).execute(args));
  }

  @Override
  public Integer call() {
    long started = System.nanoTime(); // wall time, reported only; never a simulation input
    List<ScenarioResult> results;
    if (seed != null) {
      results =
          List.of(
              kv
                  ? new RandomKvScenario(seed, out::println).run()
                  : new RandomScenario(seed, out::println, trace).run());
    } else {
      long base = baseSeed != null ? baseSeed : new java.util.SplittableRandom().nextLong();
      out.println("base seed " + base + " (replay the run with --base-seed " + base + ")");
      int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
      results =
          kv
              ? SoakRunner.run(SoakRunner.seeds(base, count), t, s -> new RandomKvScenario(s).run())
              : SoakRunner.run(SoakRunner.seeds(base, count), t);
    }
    long violations = 0;
    long events = 0;
    long simulated = 0;
    long snapshots = 0;
    for (ScenarioResult r : results) {
      events += r.events();
      snapshots += r.snapshotsInstalled();
      simulated += r.simulatedMillis();
      for (Violation v : r.violations()) {
        violations++;
        out.println(
            "VIOLATION "
                + v.property()
                + " (seed "
                + r.seed()
                + ", "
                + r.nodes()
                + " nodes, at "
                + v.timeMillis()
                + " ms): "
                + v.detail()
                + "\n  replay: "
                + r.replayCommand());
      }
    }
    double wall = (System.nanoTime() - started) / 1e9;
    out.printf(
        "%d simulated events, %.1f simulated seconds, %d snapshots installed, wall time %.1f s%n",
        events, simulated / 1000.0, snapshots, wall);
    out.println("simulated " + results.size() + " seeds: " + violations + " violations");
    return violations == 0 ? 0 : 1;
  }
}
