package io.raftkv.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench idle: what an idle cluster costs per member, raftkv beside etcd, both running at once on
 * the same machine: CPU (utime + stime over a window after a warm-up, as a share of one core) and
 * resident memory at the end. An idle member still sends or answers heartbeats; on a machine that
 * runs many members (9 or 11 nodes on 2 cores) this fixed cost is what every write shares.
 */
@Command(
    name = "idle",
    mixinStandardHelpOptions = true,
    description = {
      "Start a raftkv and an etcd cluster side by side, write one key to each, wait --warmup, then"
          + " measure every member's CPU over --duration (a share of one core) and its resident"
          + " set at the end. Prints per-member figures, each system's mean and the raftkv/etcd"
          + " ratios."
    })
final class IdleCommand implements Callable<Integer> {
  @Option(
      names = "--nodes",
      defaultValue = "3",
      description = "Size of both clusters (1 to 11; default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(
      names = "--warmup",
      defaultValue = "2m",
      converter = Durations.class,
      description =
          "Wait before measuring (default ${DEFAULT-VALUE}): a JVM compiles the code an idle"
              + " member runs 20 times a second only after minutes.")
  Duration warmup;

  @Option(
      names = "--duration",
      defaultValue = "60s",
      converter = Durations.class,
      description = "Measured window (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(names = "--svr", paramLabel = "PATH", description = "raftkv's node launcher.")
  Path svr;

  @Option(names = "--etcd", paramLabel = "PATH", description = "The etcd binary.")
  Path etcd;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(names = "--out", paramLabel = "FILE.json", description = "Write the results as JSON.")
  Path out;

  @Option(
      names = "--markdown",
      paramLabel = "FILE.md",
      description = "Write the table as markdown.")
  Path markdown;

  /** One member's figures over the window. */
  record Member(String system, int node, double cpuPercent, double rssMib) {}

  @Override
  public Integer call() throws Exception {
    if (nodes < 1 || nodes > 11) {
      throw new IllegalArgumentException("--nodes must be between 1 and 11");
    }
    String head =
        String.format(
            Locale.ROOT,
            "bench idle %s, %d cores, load average %s%n"
                + "%d-node clusters side by side, %s warm-up, %s measured%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            BenchMain.loadAverage(),
            nodes,
            Durations.format(warmup),
            Durations.format(duration));
    System.out.print(head);
    List<Member> members = new ArrayList<>();
    String clusters;
    try (RaftkvTarget raftkv =
            RaftkvTarget.start(InsertReadCommand.devLauncher(svr, "svr"), nodes, 1, keepData);
        EtcdTarget etcdTarget = EtcdTarget.start(EtcdTarget.findEtcd(etcd), nodes, 1, keepData)) {
      clusters = "- " + raftkv.describe() + "\n- " + etcdTarget.describe() + "\n";
      System.out.print(clusters);
      List<Target> targets = List.of(raftkv, etcdTarget);
      byte[] key = "idle-key".getBytes(StandardCharsets.UTF_8);
      for (Target t : targets) {
        try (Target.Session s = t.session(0)) {
          s.put(key, key); // a leader, and the write path run once
        }
      }
      Thread.sleep(warmup.toMillis());
      List<long[]> before = new ArrayList<>();
      for (Target t : targets) {
        before.add(t.serverPids().stream().mapToLong(CpuMeter::treeTicks).toArray());
      }
      long t0 = System.nanoTime();
      Thread.sleep(duration.toMillis());
      double seconds = (System.nanoTime() - t0) / 1e9;
      for (int s = 0; s < targets.size(); s++) {
        Target t = targets.get(s);
        List<Long> pids = t.serverPids();
        for (int i = 0; i < pids.size(); i++) {
          long ticks = CpuMeter.treeTicks(pids.get(i)) - before.get(s)[i];
          double cpu = 100.0 * ticks / CpuMeter.TICKS_PER_SECOND / seconds;
          double rss = RssSampler.treeRssKib(pids.get(i)) / 1024.0;
          members.add(new Member(t.name(), i, cpu, rss));
        }
      }
    }
    String table = table(members);
    System.out.print("\nload average at the end " + BenchMain.loadAverage() + "\n\n" + table);
    if (markdown != null) {
      Report.write(markdown, head + "\n" + clusters + "\n" + table, "");
    }
    if (out != null) {
      Report.write(out, json(head, members), "");
    }
    return 0;
  }

  static double mean(List<Member> members, String system, boolean cpu) {
    return members.stream()
        .filter(m -> m.system().equals(system))
        .mapToDouble(m -> cpu ? m.cpuPercent() : m.rssMib())
        .average()
        .orElse(Double.NaN);
  }

  /** Per member, then each system's mean and the raftkv/etcd ratio of the means. */
  static String table(List<Member> members) {
    StringBuilder sb =
        new StringBuilder(
            "| system | member | CPU % of a core | RSS MiB |\n" + "|---|---:|---:|---:|\n");
    for (Member m : members) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.2f | %.1f |%n",
              m.system(),
              m.node(),
              m.cpuPercent(),
              m.rssMib()));
    }
    for (String system : List.of("raftkv", "etcd")) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | mean | %.2f | %.1f |%n",
              system,
              mean(members, system, true),
              mean(members, system, false)));
    }
    sb.append(
        String.format(
            Locale.ROOT,
            "%nraftkv/etcd: CPU %.2fx, RSS %.2fx (means per member)%n",
            mean(members, "raftkv", true) / mean(members, "etcd", true),
            mean(members, "raftkv", false) / mean(members, "etcd", false)));
    return sb.toString();
  }

  private static String json(String head, List<Member> members) {
    StringBuilder sb = new StringBuilder("{\n  \"header\": ").append(Report.quote(head));
    sb.append(",\n  \"members\": [\n");
    for (int i = 0; i < members.size(); i++) {
      Member m = members.get(i);
      sb.append(
          String.format(
              Locale.ROOT,
              "    {\"system\": \"%s\", \"node\": %d, \"cpu_percent\": %.3f, \"rss_mib\": %.1f}%s%n",
              m.system(),
              m.node(),
              m.cpuPercent(),
              m.rssMib(),
              i + 1 < members.size() ? "," : ""));
    }
    return sb.append("  ]\n}\n").toString();
  }
}
