package io.raftkv.bench;

import io.raftkv.client.KvClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * bench oneshot: the wall time of one GET as a fresh process, `clt` beside `etcdctl get`, as a
 * script calling either once per operation would see it (process start, JVM or Go runtime start,
 * connection, leader discovery, one linearizable read, exit).
 */
@Command(
    name = "oneshot",
    mixinStandardHelpOptions = true,
    description = {
      "Start a raftkv and an etcd cluster, PUT one key in each, then time --runs one-shot GETs"
          + " per tool, alternating: clt -s <all nodes>, clt -p <leader port>, etcdctl"
          + " --endpoints=<all members> get, and clt -p once more per --variant. Prints"
          + " min/median/p90/max wall times and the ratios of the medians. Exit 1 if any run"
          + " failed (exit code not 0 or value not printed)."
    })
final class OneShotCommand implements Callable<Integer> {
  private static final String KEY = "oneshot-key";
  private static final long RUN_LIMIT_SECONDS = 60;

  @Option(
      names = "--runs",
      defaultValue = "21",
      description = "Timed runs per tool (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(
      names = "--warmup-runs",
      defaultValue = "1",
      description =
          "Untimed runs per tool first: clt's first run after a build records its class-data"
              + " archive, a one-time cost (default ${DEFAULT-VALUE}).")
  int warmupRuns;

  @Option(
      names = "--nodes",
      defaultValue = "3",
      description = "Size of both clusters (1 to 11; default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(
      names = "--clt",
      paramLabel = "PATH",
      description = "raftkv's client launcher (default: <raftkv root>/build/dev/clt).")
  Path clt;

  @Option(
      names = "--etcdctl",
      paramLabel = "PATH",
      description = "etcdctl (default: etcdctl on PATH).")
  Path etcdctl;

  @Option(names = "--svr", paramLabel = "PATH", description = "raftkv's node launcher.")
  Path svr;

  @Option(names = "--etcd", paramLabel = "PATH", description = "The etcd binary.")
  Path etcd;

  @Option(names = "--keep-data", description = "Keep the clusters' data directories and logs.")
  boolean keepData;

  @Option(names = "--out", paramLabel = "FILE.json", description = "Write the results as JSON.")
  Path out;

  @Option(
      names = "--variant",
      paramLabel = "NAME:VAR=VALUE[,VAR=VALUE...]",
      description =
          "Also time clt -p as 'clt -p NAME' with these environment variables; repeatable. E.g."
              + " 'jdk17-appcds:RAFTKV_CLT_JAVA=java' or 'jdk17-nocds:RAFTKV_CLT_JAVA=java,"
              + "RAFTKV_CLT_CDS=0' (see build/dev/clt's header for its variables).")
  List<String> variants = new ArrayList<>();

  /** One tool's command line and what its runs measured. */
  static final class Tool {
    final String name;
    final List<String> command;
    final Map<String, String> env;
    final List<Long> nanos = new ArrayList<>();
    final List<String> failures = new ArrayList<>();

    Tool(String name, List<String> command, Map<String, String> env) {
      this.name = name;
      this.command = new ArrayList<>(command);
      this.env = env;
    }
  }

  @Override
  public Integer call() throws Exception {
    if (runs < 1 || warmupRuns < 0) {
      throw new IllegalArgumentException("--runs must be at least 1, --warmup-runs at least 0");
    }
    if (nodes < 1 || nodes > 11) {
      throw new IllegalArgumentException("--nodes must be between 1 and 11");
    }
    Path cltPath = InsertReadCommand.devLauncher(clt, "clt");
    if (!Files.isExecutable(cltPath)) {
      throw new IllegalStateException(cltPath + " not found: build raftkv first, or pass --clt");
    }
    Path etcdctlPath = etcdctl != null ? etcdctl : Processes.onPath("etcdctl");
    if (etcdctlPath == null || !Files.isExecutable(etcdctlPath)) {
      throw new IllegalStateException(
          "etcdctl not found: install it (Debian: apt-get install etcd-client) or pass --etcdctl");
    }
    Path etcdPath = EtcdTarget.findEtcd(etcd);
    String value = "oneshot-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    String head =
        String.format(
            Locale.ROOT,
            "bench oneshot %s, %d cores, java %s, load average %s%n"
                + "%d-node clusters, %d timed runs per tool after %d untimed, alternating%n",
            Instant.now(),
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            BenchMain.loadAverage(),
            nodes,
            runs,
            warmupRuns);
    System.out.print(head);
    List<Tool> tools;
    StringBuilder clusters = new StringBuilder();
    int leaderChanges = 0;
    // Both clusters run at once (idle apart from the one GET in flight), so the tools can
    // alternate run by run and drifts in the shared machine's load hit them alike.
    try (RaftkvTarget raftkv =
            RaftkvTarget.start(InsertReadCommand.devLauncher(svr, "svr"), nodes, 1, keepData);
        EtcdTarget etcdTarget = EtcdTarget.start(etcdPath, nodes, 1, keepData)) {
      clusters.append("- ").append(raftkv.describe()).append('\n');
      clusters.append("- ").append(etcdTarget.describe()).append('\n');
      String leader = putAndFindLeader(raftkv.endpoints(), value);
      try (Target.Session s = etcdTarget.session(0)) {
        s.put(KEY.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
      }
      String leaderPort = leader.substring(leader.lastIndexOf(':') + 1);
      tools =
          new ArrayList<>(
              List.of(
                  new Tool(
                      "clt -s",
                      List.of(
                          cltPath.toString(),
                          "-s",
                          String.join(",", raftkv.endpoints()),
                          "-o",
                          "GET",
                          "-k",
                          KEY),
                      Map.of()),
                  new Tool(
                      "clt -p",
                      List.of(cltPath.toString(), "-p", leaderPort, "-o", "GET", "-k", KEY),
                      Map.of()),
                  new Tool(
                      "etcdctl",
                      List.of(
                          etcdctlPath.toString(),
                          "--endpoints=" + String.join(",", etcdTarget.endpoints()),
                          "get",
                          KEY),
                      Map.of("ETCDCTL_API", "3"))));
      for (String spec : variants) {
        tools.add(
            variant(spec, List.of(cltPath.toString(), "-p", leaderPort, "-o", "GET", "-k", KEY)));
      }
      for (Tool t : tools) {
        System.out.println(t.name + ": " + envPrefix(t) + String.join(" ", t.command));
      }
      for (int i = 0; i < warmupRuns; i++) {
        for (Tool t : tools) {
          String failure = runOnce(t, value).failure();
          if (failure != null) {
            t.failures.add("warm-up: " + failure);
          }
        }
      }
      for (int i = 0; i < runs; i++) {
        // clt -p asks one server, which answers NOT_LEADER once another node has won an election
        // (a loaded machine delays heartbeats): each round asks the current leader.
        String port = leaderPort(raftkv.endpoints());
        if (!port.equals(leaderPort)) {
          leaderPort = port;
          leaderChanges++;
          for (Tool t : tools) {
            if (t.command.get(1).equals("-p")) {
              t.command.set(2, port);
            }
          }
        }
        // Alternate the order too, so neither tool always follows the other.
        List<Tool> order = new ArrayList<>(tools);
        if (i % 2 == 1) {
          java.util.Collections.reverse(order);
        }
        for (Tool t : order) {
          Result r = runOnce(t, value);
          if (r.failure() == null) {
            t.nanos.add(r.nanos());
          } else {
            t.failures.add(r.failure());
          }
        }
      }
    }
    String table = table(tools);
    System.out.print(
        "\n"
            + clusters
            + "\nleader changes during the timed runs: "
            + leaderChanges
            + "\nload average at the end "
            + BenchMain.loadAverage());
    System.out.print("\n\n" + table);
    int failures = 0;
    for (Tool t : tools) {
      failures += t.failures.size();
      for (String f : t.failures.subList(0, Math.min(10, t.failures.size()))) {
        System.out.println(t.name + " failed: " + f);
      }
    }
    if (out != null) {
      String json = json(head, value, tools);
      Report.write(out, json, json);
    }
    return failures > 0 ? 1 : 0;
  }

  /**
   * A {@code --variant}: "NAME:VAR=VALUE[,VAR=VALUE...]" as a tool named "clt -p NAME" that runs
   * {@code command} with those environment variables.
   */
  static Tool variant(String spec, List<String> command) {
    int colon = spec.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "--variant " + spec + ": want NAME:VAR=VALUE[,VAR=VALUE...]");
    }
    Map<String, String> env = new LinkedHashMap<>();
    for (String assignment : spec.substring(colon + 1).split(",", -1)) {
      int eq = assignment.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(
            "--variant " + spec + ": '" + assignment + "' is not VAR=VALUE");
      }
      env.put(assignment.substring(0, eq), assignment.substring(eq + 1));
    }
    return new Tool("clt -p " + spec.substring(0, colon), command, env);
  }

  private static double ms(double nanos) {
    return nanos / 1e6;
  }

  /** The current leader's KV port, from a GET through KvClient. */
  private static String leaderPort(List<String> endpoints) throws Exception {
    try (KvClient c = KvClient.builder(endpoints).timeout(Duration.ofSeconds(10)).build()) {
      c.get(KEY);
      String leader = c.leader();
      if (leader == null) {
        throw new IllegalStateException("raftkv: no leader known after a GET");
      }
      return leader.substring(leader.lastIndexOf(':') + 1);
    }
  }

  /** PUTs the key through KvClient and returns the leader that took it ("host:port"). */
  private static String putAndFindLeader(List<String> endpoints, String value) throws Exception {
    try (KvClient c = KvClient.builder(endpoints).timeout(Duration.ofSeconds(10)).build()) {
      c.put(KEY, value);
      if (c.leader() == null) {
        throw new IllegalStateException("raftkv: no leader known after a PUT");
      }
      return c.leader();
    }
  }

  /** "VAR=VALUE " for each variable a tool's runs set (none for etcdctl's ETCDCTL_API). */
  private static String envPrefix(Tool t) {
    StringBuilder sb = new StringBuilder();
    t.env.forEach(
        (k, v) -> {
          if (!k.startsWith("ETCDCTL_")) {
            sb.append(k).append('=').append(v).append(' ');
          }
        });
    return sb.toString();
  }

  /** A run's wall time, or why it does not count. */
  record Result(long nanos, String failure) {}

  private static Result runOnce(Tool t, String value) throws IOException, InterruptedException {
    // Output goes to a file, not a pipe we would have to drain: then waitFor can have a limit.
    Path log = Files.createTempFile("bench-oneshot-", ".out");
    try {
      ProcessBuilder pb =
          new ProcessBuilder(t.command).redirectErrorStream(true).redirectOutput(log.toFile());
      // An ETCDCTL_* variable of ours (endpoints, TLS...) would change what etcdctl does.
      pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL_"));
      pb.environment().putAll(t.env);
      long t0 = System.nanoTime();
      Process p = pb.start();
      if (!p.waitFor(RUN_LIMIT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        return new Result(0, "still running after " + RUN_LIMIT_SECONDS + " s: killed");
      }
      long nanos = System.nanoTime() - t0;
      return new Result(nanos, check(p.exitValue(), Files.readString(log), value));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /**
   * Null when the run succeeded: exit code 0 and the value alone on one of its output lines (clt
   * prints the value; etcdctl the key, then the value). Otherwise what was wrong.
   */
  static String check(int exit, String output, String value) {
    if (exit != 0) {
      return "exit code " + exit + ": " + output.strip();
    }
    if (output.lines().noneMatch(l -> l.strip().equals(value))) {
      return "exit 0 but the value " + value + " is not in the output: " + output.strip();
    }
    return null;
  }

  /** min / median / p90 / max per tool (ms), then the medians' ratios against etcdctl. */
  static String table(List<Tool> tools) {
    StringBuilder sb =
        new StringBuilder(
            "| tool | runs ok | failed | min ms | median ms | p90 ms | max ms |\n"
                + "|---|---:|---:|---:|---:|---:|---:|\n");
    Map<String, Double> medians = new LinkedHashMap<>();
    for (Tool t : tools) {
      if (t.nanos.isEmpty()) {
        sb.append(String.format("| %s | 0 | %d | | | | |%n", t.name, t.failures.size()));
        continue;
      }
      double median = Percentiles.median(t.nanos);
      medians.put(t.name, median);
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %d | %.1f | %.1f | %.1f | %.1f |%n",
              t.name,
              t.nanos.size(),
              t.failures.size(),
              ms(Percentiles.min(t.nanos)),
              ms(median),
              ms(Percentiles.percentile(t.nanos, 90)),
              ms(Percentiles.max(t.nanos))));
    }
    Double etcd = medians.get("etcdctl");
    if (etcd != null) {
      sb.append('\n');
      for (Map.Entry<String, Double> e : medians.entrySet()) {
        if (!e.getKey().equals("etcdctl")) {
          sb.append(
              String.format(
                  Locale.ROOT,
                  "median %s / median etcdctl = %.2f%n",
                  e.getKey(),
                  e.getValue() / etcd));
        }
      }
    }
    return sb.toString();
  }

  private static String json(String head, String value, List<Tool> tools) {
    StringBuilder sb = new StringBuilder("{\n");
    sb.append("  \"header\": ").append(Report.quote(head)).append(",\n");
    sb.append("  \"key\": ").append(Report.quote(KEY)).append(", \"value\": ");
    sb.append(Report.quote(value)).append(",\n  \"tools\": [\n");
    Double etcd = null;
    for (Tool t : tools) {
      if (t.name.equals("etcdctl") && !t.nanos.isEmpty()) {
        etcd = Percentiles.median(t.nanos);
      }
    }
    for (int i = 0; i < tools.size(); i++) {
      Tool t = tools.get(i);
      sb.append("    {\"tool\": ").append(Report.quote(t.name));
      sb.append(", \"command\": ").append(Report.quote(envPrefix(t) + String.join(" ", t.command)));
      sb.append(", \"ok\": ").append(t.nanos.size());
      sb.append(", \"failed\": ").append(t.failures.size());
      if (!t.nanos.isEmpty()) {
        double median = Percentiles.median(t.nanos);
        sb.append(
            String.format(
                Locale.ROOT,
                ", \"min_ms\": %.3f, \"median_ms\": %.3f, \"p90_ms\": %.3f, \"max_ms\": %.3f",
                ms(Percentiles.min(t.nanos)),
                ms(median),
                ms(Percentiles.percentile(t.nanos, 90)),
                ms(Percentiles.max(t.nanos))));
        if (etcd != null) {
          sb.append(String.format(Locale.ROOT, ", \"median_vs_etcdctl\": %.3f", median / etcd));
        }
      }
      sb.append(", \"runs_ms\": [");
      for (int j = 0; j < t.nanos.size(); j++) {
        sb.append(j == 0 ? "" : ", ")
            .append(String.format(Locale.ROOT, "%.3f", ms(t.nanos.get(j))));
      }
      sb.append("], \"failures\": [");
      for (int j = 0; j < t.failures.size(); j++) {
        sb.append(j == 0 ? "" : ", ").append(Report.quote(t.failures.get(j)));
      }
      sb.append("]}").append(i + 1 < tools.size() ? ",\n" : "\n");
    }
    return sb.append("  ]\n}\n").toString();
  }
}
