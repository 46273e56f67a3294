package io.raftkv.it;

import io.raftkv.testkit.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import java.util.stream.Collectors;

/**
 * A cluster of real {@code build/dev/svr} processes on loopback, with ports chosen free at run time
 * and data under a temporary directory, driven by {@code build/dev/clt} exactly as a user's script
 * would.
 */
final class LocalCluster implements AutoCloseable {
  /** What one clt run returned. */
  record Result(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + ", stdout '" + out.strip() + "', stderr '" + err.strip() + "'";
    }
  }

  static final Path ROOT = Path.of(System.getProperty("raftkv.root", ".")).toAbsolutePath();
  static final Path SVR = ROOT.resolve("build/dev/svr");
  static final Path CLT = ROOT.resolve("build/dev/clt");

  final int size;
  final int initialMembers;
  final int[] raftPorts;
  final int[] kvsPorts;
  private final Path dir;
  private final Process[] servers;
  private final List<String> extraArgs;
  private IntFunction<List<String>> nodeArgs = i -> List.of();
  private List<String> cltArgs = List.of();

  LocalCluster(int size, Path dir, String... extraArgs) throws IOException {
    this(size, size, dir, extraArgs);
  }

  /**
   * {@code size} nodes, of which the first {@code initialMembers} form the cluster and the others
   * are spares, to be started with {@link #startJoining} and added (chapter 4).
   */
  LocalCluster(int size, int initialMembers, Path dir, String... extraArgs) throws IOException {
    this.size = size;
    this.initialMembers = initialMembers;
    this.dir = dir;
    this.extraArgs = List.of(extraArgs);
    // One call for all ports: two calls could hand out the same port twice.
    int[] ports = FreePorts.pick(2 * size);
    this.raftPorts = Arrays.copyOfRange(ports, 0, size);
    this.kvsPorts = Arrays.copyOfRange(ports, size, 2 * size);
    this.servers = new Process[size];
  }

  /**
   * Arguments that differ per node (its own certificate files), added to each start after the extra
   * arguments.
   */
  LocalCluster nodeArgs(IntFunction<List<String>> args) {
    this.nodeArgs = args;
    return this;
  }

  /** Arguments added to every {@link #clt} and {@link #cltAny} run (the TLS options). */
  LocalCluster cltArgs(String... args) {
    this.cltArgs = List.of(args);
    return this;
  }

  /** The raft ports of the first configuration (every node, unless some are spares). */
  String raftList() {
    return Arrays.stream(raftPorts, 0, initialMembers)
        .mapToObj(Integer::toString)
        .collect(Collectors.joining(","));
  }

  /** Every node's KV address, spares included. */
  String kvsList() {
    return kvsList(size);
  }

  /** The KV addresses of nodes 0..n-1. */
  String kvsList(int n) {
    return Arrays.stream(kvsPorts, 0, n)
        .mapToObj(p -> "127.0.0.1:" + p)
        .collect(Collectors.joining(","));
  }

  /** Starts node {@code i} (as the seed does: {@code svr -r ... -i i -p port [--leader]}). */
  void start(int i, boolean leader) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(SVR.toString());
    cmd.addAll(List.of("-r", raftList(), "-i", Integer.toString(i), "-p", "" + kvsPorts[i]));
    if (leader) {
      cmd.add("--leader");
    }
    cmd.addAll(List.of("--kvs-peers", kvsList(initialMembers)));
    launch(i, cmd);
  }

  /**
   * Starts node {@code i} outside the cluster's configuration, waiting to be added ({@code svr
   * --join}): its -r lists the raft ports of nodes 0..i, its own last. The cluster id must be in
   * the extra arguments.
   */
  void startJoining(int i) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(SVR.toString());
    String raft =
        Arrays.stream(raftPorts, 0, i + 1)
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(","));
    cmd.addAll(List.of("-r", raft, "-i", Integer.toString(i), "-p", "" + kvsPorts[i], "--join"));
    cmd.addAll(List.of("--kvs-peers", kvsList(i + 1)));
    launch(i, cmd);
  }

  private void launch(int i, List<String> cmd) throws IOException {
    cmd.addAll(extraArgs);
    cmd.addAll(nodeArgs.apply(i));
    Files.createDirectories(dir);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("svr-" + i + ".log").toFile()));
    servers[i] = pb.start();
  }

  void startAll(int leaderHint) throws IOException {
    for (int i = 0; i < initialMembers; i++) {
      start(i, i == leaderHint);
    }
    for (int i = 0; i < initialMembers; i++) {
      awaitListening(i);
    }
  }

  /** Waits until node i's KV port accepts connections. */
  void awaitListening(int i) {
    int port = kvsPorts[i];
    await(
        "node " + i + " listening on " + port,
        Duration.ofSeconds(60),
        () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
          } catch (IOException e) {
            return false;
          }
        });
  }

  /** kill -9: the process gets no chance to flush anything. */
  void kill(int i) throws InterruptedException {
    Process p = servers[i];
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
      servers[i] = null;
    }
  }

  /** SIGTERM, and wait for a clean exit. */
  int stop(int i) throws InterruptedException {
    Process p = servers[i];
    p.destroy();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    servers[i] = null;
    return p.exitValue();
  }

  /** Waits for node {@code i}'s process to end by itself and returns its exit code. */
  int awaitExit(int i, Duration limit) throws InterruptedException {
    Process p = servers[i];
    if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("node " + i + " still runs after " + limit + "\n" + logs());
    }
    servers[i] = null;
    return p.exitValue();
  }

  /** Node {@code i}'s data directory (svr's default, under the cluster's directory). */
  Path dataDir(int i) {
    return dir.resolve("data").resolve("node-" + i);
  }

  boolean isRunning(int i) {
    return servers[i] != null && servers[i].isAlive();
  }

  /** Runs {@code clt -p <node i's port> <args>}. */
  Result clt(int i, String... args) {
    List<String> cmd = new ArrayList<>(List.of("-p", Integer.toString(kvsPorts[i])));
    cmd.addAll(List.of(args));
    cmd.addAll(cltArgs);
    return run(cmd);
  }

  /** Runs {@code clt -s <all nodes> <args>}: the client finds the leader itself. */
  Result cltAny(String... args) {
    List<String> cmd = new ArrayList<>(List.of("-s", kvsList()));
    cmd.addAll(List.of(args));
    cmd.addAll(cltArgs);
    return run(cmd);
  }

  static Result run(List<String> args) {
    return run(CLT, Map.of(), args);
  }

  /**
   * Runs the clt launcher at {@code clt} with these arguments, and these environment variables set
   * (a null value removes the variable).
   */
  static Result run(Path clt, Map<String, String> env, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(clt.toString());
    cmd.addAll(args);
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      env.forEach(
          (k, v) -> {
            if (v == null) {
              pb.environment().remove(k);
            } else {
              pb.environment().put(k, v);
            }
          });
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      byte[] err = p.getErrorStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("clt did not finish: " + cmd);
      }
      return new Result(
          p.exitValue(),
          new String(out, StandardCharsets.UTF_8),
          new String(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + cmd + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * Finds the leader as seed test 3.2 does: a GET to each server; the one answering without a
   * not-leader error is the leader. Retries while an election is in progress.
   */
  int findLeader() {
    int[] found = {-1};
    await(
        "a leader",
        Duration.ofSeconds(60),
        () -> {
          for (int i = 0; i < size; i++) {
            if (!isRunning(i)) {
              continue;
            }
            Result r = clt(i, "-o", "GET", "-k", "__probe__");
            if (r.exit() == 0 || r.exit() == 3) {
              found[0] = i;
              return true;
            }
          }
          return false;
        });
    return found[0];
  }

  /** Polls {@code condition} until it holds, failing after {@code limit}. */
  static void await(String what, Duration limit, BooleanSupplier condition) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** Node i's whole log. */
  String log(int i) throws IOException {
    return Files.readString(dir.resolve("svr-" + i + ".log"));
  }

  /** The servers' logs, for failure messages. */
  String logs() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < size; i++) {
      Path log = dir.resolve("svr-" + i + ".log");
      try {
        if (Files.exists(log)) {
          List<String> lines = Files.readAllLines(log);
          sb.append("--- node ").append(i).append('\n');
          lines
              .subList(Math.max(0, lines.size() - 30), lines.size())
              .forEach(l -> sb.append(l).append('\n'));
        }
      } catch (IOException e) {
        sb.append(e).append('\n');
      }
    }
    return sb.toString();
  }

  @Override
  public void close() throws InterruptedException {
    for (int i = 0; i < size; i++) {
      kill(i);
    }
  }
}
