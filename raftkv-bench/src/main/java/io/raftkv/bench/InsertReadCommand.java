package io.raftkv.bench;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench insert-read: insert N keys then read them all back and verify every value, first with one
 * client, then with many clients splitting the keys; raftkv and etcd, each on fresh clusters.
 */
@Command(
    name = "insert-read",
    mixinStandardHelpOptions = true,
    description = {
      "Insert --keys keys, then read them all back linearizably and check every value: with one"
          + " client, then with --clients clients splitting the keys. Each pass runs on a fresh"
          + " cluster bench starts (durable: fsync on). Exit 1 if any operation failed or any"
          + " value read was missing or wrong."
    })
final class InsertReadCommand implements Callable<Integer> {
  @Option(
      names = "--keys",
      defaultValue = "10000",
      description = "Keys to insert and read (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--clients",
      defaultValue = "64",
      description = "Clients of the concurrent pass (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--value-size",
      defaultValue = "128",
      description = "Bytes per value (default ${DEFAULT-VALUE}).")
  int valueSize;

  @Option(
      names = "--nodes",
      defaultValue = "3",
      description = "Cluster size (1 to 11; default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(
      names = "--target",
      defaultValue = "both",
      description = "raftkv, etcd or both (default ${DEFAULT-VALUE}).")
  String target;

  @Option(
      names = "--connections",
      defaultValue = "8",
      description =
          "Connections per server shared by the clients, as in bench run (default"
              + " ${DEFAULT-VALUE}).")
  int connections;

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
      paramLabel = "FILE",
      description = "Also write the summary (markdown) to FILE.")
  Path markdown;

  @Option(
      names = {"-q", "--quiet"},
      description = "No progress lines on stderr.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    List<String> systems = systems();
    if (keys < 1 || clients < 1 || valueSize < 1) {
      throw new IllegalArgumentException("--keys, --clients and --value-size must be at least 1");
    }
    if (nodes < 1 || nodes > 11) {
      throw new IllegalArgumentException("--nodes must be between 1 and 11");
    }
    if (systems.contains("etcd")) {
      EtcdTarget.findEtcd(etcd); // fail before running anything
    }
    String head =
        String.format(
            Locale.ROOT,
            "bench insert-read %s, %d cores, java %s, load average %s%n"
                + "%d keys of 16 B, values %d B, %d nodes, passes: 1 client, then %d clients"
                + " (%d connections per server)%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            BenchMain.loadAverage(),
            keys,
            valueSize,
            nodes,
            clients,
            connections);
    System.out.print(head);
    StringBuilder clusters = new StringBuilder();
    List<InsertRead.Phase> phases = new ArrayList<>();
    long salt = System.nanoTime(); // a different value set every run
    for (String system : systems) {
      for (int n : new int[] {1, clients}) {
        try (Target t = start(system)) {
          clusters.append("- ").append(t.describe()).append('\n');
          if (!quiet) {
            System.err.printf("[%s] %s%n", system, t.describe());
          }
          for (InsertRead.Phase p :
              new InsertRead(t, keys, n, valueSize, salt + n, quiet ? null : System.err).run()) {
            phases.add(p);
            System.out.println(p.line());
            printFailures(p);
          }
        }
      }
    }
    String md =
        head
            + "\n"
            + clusters
            + "\nload average at the end "
            + BenchMain.loadAverage()
            + "\n\n"
            + markdown(phases);
    System.out.print(md.substring(head.length()));
    long failures = phases.stream().mapToLong(InsertRead.Phase::failures).sum();
    if (markdown != null) {
      Report.write(markdown, md, md);
    }
    if (out != null) {
      Report.write(out, json(head, phases), json(head, phases));
    }
    if (failures > 0) {
      System.out.printf("%ninsert-read: %d failures (errors, missing or wrong values)%n", failures);
      return 1;
    }
    System.out.printf("%ninsert-read: every value read back was the one written%n");
    return 0;
  }

  private List<String> systems() {
    return switch (target) {
      case "both" -> List.of("raftkv", "etcd");
      case "raftkv", "etcd" -> List.of(target);
      default -> throw new IllegalArgumentException("--target must be raftkv, etcd or both");
    };
  }

  private Target start(String system) {
    if (system.equals("raftkv")) {
      return RaftkvTarget.start(devLauncher(svr, "svr"), nodes, connections, keepData);
    }
    return EtcdTarget.start(EtcdTarget.findEtcd(etcd), nodes, connections, keepData);
  }

  /** The given launcher, or build/dev/NAME under the raftkv root the bench launcher passes. */
  static Path devLauncher(Path given, String name) {
    if (given != null) {
      return given;
    }
    return Path.of(System.getProperty("raftkv.root", "."))
        .toAbsolutePath()
        .normalize()
        .resolve("build/dev/" + name);
  }

  private static void printFailures(InsertRead.Phase p) {
    if (p.failures() == 0) {
      return;
    }
    System.out.printf(
        "  %d failures in %s %d-client %s, for example:%n",
        p.failures(), p.system(), p.clients(), p.phase());
    p.sampleErrors().forEach(e -> System.out.println("    " + e));
  }

  static String markdown(List<InsertRead.Phase> phases) {
    StringBuilder sb =
        new StringBuilder(
            "| system | clients | phase | ops | errors | missing | mismatches | wall s | ops/s"
                + " | p50 ms | p99 ms | max ms |\n"
                + "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (InsertRead.Phase p : phases) {
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %s | %d | %d | %d | %d | %.2f | %.0f | %.2f | %.2f | %.2f |%n",
              p.system(),
              p.clients(),
              p.phase(),
              p.ops(),
              p.errors(),
              p.missing(),
              p.mismatches(),
              p.seconds(),
              p.opsPerSec(),
              p.ms(50),
              p.ms(99),
              p.maxMs()));
    }
    return sb.toString();
  }

  private String json(String head, List<InsertRead.Phase> phases) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"header\": ").append(Report.quote(head)).append(",\n");
    sb.append(
        String.format(
            Locale.ROOT,
            "  \"params\": {\"keys\": %d, \"clients\": %d, \"value_size\": %d, \"nodes\": %d,"
                + " \"connections\": %d},%n",
            keys,
            clients,
            valueSize,
            nodes,
            connections));
    sb.append("  \"results\": [\n");
    for (int i = 0; i < phases.size(); i++) {
      InsertRead.Phase p = phases.get(i);
      sb.append(
          String.format(
              Locale.ROOT,
              "    {\"target\": %s, \"clients\": %d, \"phase\": %s, \"ops\": %d, \"errors\": %d,"
                  + " \"missing\": %d, \"mismatches\": %d, \"seconds\": %.3f, \"ops_per_s\": %.1f,"
                  + " \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"sample_errors\": [",
              Report.quote(p.system()),
              p.clients(),
              Report.quote(p.phase()),
              p.ops(),
              p.errors(),
              p.missing(),
              p.mismatches(),
              p.seconds(),
              p.opsPerSec(),
              p.ms(50),
              p.ms(99),
              p.maxMs()));
      for (int j = 0; j < p.sampleErrors().size(); j++) {
        sb.append(j == 0 ? "" : ", ").append(Report.quote(p.sampleErrors().get(j)));
      }
      sb.append("]}").append(i + 1 < phases.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }
}
