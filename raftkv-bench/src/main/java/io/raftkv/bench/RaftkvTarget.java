package io.raftkv.bench;

import io.grpc.ManagedChannel;
import io.raftkv.client.ClientTls;
import io.raftkv.client.KvClient;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.ServerProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * raftkv through {@link KvClient}: one KvClient per simulated client (a KvClient has one write
 * outstanding at a time), their gRPC channels drawn round-robin from a pool of {@code connections}
 * channels per server. GET is KvClient's linearizable read (ReadIndex through the leader). The
 * load's Runner uses KvClient's asynchronous calls, so its clients need no thread each.
 *
 * <p>With TLS (a cluster bench starts with {@code tls}), every node requires a client certificate
 * on its KV port and mutual TLS between members, and bench's clients present theirs: see {@link
 * ClusterCertificates}.
 */
final class RaftkvTarget implements Target {
  private final List<String> endpoints;
  private final int connections;
  private final int nodes;
  private final String description;
  private final List<Process> processes;
  // Each started node's command line, so that a killed node can be restarted as it was.
  private final List<List<String>> commands = new ArrayList<>();
  private final Path dataDir;
  private final boolean keepData;
  private final ClientTls tls;
  private final ConcurrentHashMap<String, ManagedChannel[]> channels = new ConcurrentHashMap<>();

  private RaftkvTarget(
      List<String> endpoints,
      int connections,
      int nodes,
      String description,
      List<Process> processes,
      Path dataDir,
      boolean keepData,
      ClientTls tls) {
    this.endpoints = endpoints;
    this.connections = connections;
    this.nodes = nodes;
    this.description = description;
    this.processes = processes;
    this.dataDir = dataDir;
    this.keepData = keepData;
    this.tls = tls;
  }

  /** An existing cluster at these "host:port" KV addresses. */
  static RaftkvTarget existing(List<String> endpoints, int connections) {
    RaftkvTarget t =
        new RaftkvTarget(
            List.copyOf(endpoints),
            connections,
            -1,
            "raftkv at " + String.join(",", endpoints),
            List.of(),
            null,
            true,
            ClientTls.PLAINTEXT);
    t.awaitLeader(Duration.ofSeconds(30));
    return t;
  }

  /**
   * Starts {@code nodes} svr processes on free loopback ports with fresh data directories and the
   * server's default settings (fsync on), and waits until a write goes through.
   */
  static RaftkvTarget start(Path svr, int nodes, int connections, boolean keepData) {
    return start(svr, nodes, connections, keepData, List.of());
  }

  /** As {@link #start(Path, int, int, boolean)}, with {@code extraArgs} added to every svr. */
  static RaftkvTarget start(
      Path svr, int nodes, int connections, boolean keepData, List<String> extraArgs) {
    return start(svr, nodes, connections, keepData, extraArgs, false);
  }

  /**
   * As {@link #start(Path, int, int, boolean, List)}; with {@code tls}, the nodes and bench's
   * clients use certificates made in the cluster's directory ({@link ClusterCertificates}).
   */
  static RaftkvTarget start(
      Path svr, int nodes, int connections, boolean keepData, List<String> extraArgs, boolean tls) {
    if (!Files.isExecutable(svr)) {
      throw new IllegalStateException(
          svr + " not found or not executable: build raftkv first (mvn package), or pass --svr");
    }
    Path dir;
    try {
      dir = Files.createTempDirectory("raftkv-bench-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int[] ports = FreePorts.pick(2 * nodes);
    int[] raft = Arrays.copyOfRange(ports, 0, nodes);
    int[] kvs = Arrays.copyOfRange(ports, nodes, 2 * nodes);
    String raftList =
        Arrays.stream(raft).mapToObj(Integer::toString).collect(Collectors.joining(","));
    List<String> endpoints = Arrays.stream(kvs).mapToObj(p -> "127.0.0.1:" + p).toList();
    ClusterCertificates certs =
        tls ? ClusterCertificates.create(dir.resolve("certs"), nodes) : null;
    List<Process> procs = new ArrayList<>();
    RaftkvTarget t =
        new RaftkvTarget(
            endpoints,
            connections,
            nodes,
            "raftkv, "
                + nodes
                + " nodes started by bench (build/dev/svr, defaults: fsync on"
                + (extraArgs.isEmpty() ? "" : "; " + String.join(" ", extraArgs))
                + (tls ? "; TLS, client certificates required, peer mTLS" : "")
                + "), data in "
                + dir,
            procs,
            dir,
            keepData,
            tls ? certs.clientTls() : ClientTls.PLAINTEXT);
    try {
      for (int i = 0; i < nodes; i++) {
        List<String> cmd = new ArrayList<>();
        Collections.addAll(
            cmd,
            svr.toString(),
            "-r",
            raftList,
            "-i",
            Integer.toString(i),
            "-p",
            Integer.toString(kvs[i]),
            "--kvs-peers",
            String.join(",", endpoints),
            "--data-dir",
            dir.resolve("node-" + i).toString());
        if (certs != null) {
          cmd.addAll(certs.svrArgs(i));
        }
        cmd.addAll(extraArgs);
        t.commands.add(List.copyOf(cmd));
        procs.add(t.launch(i));
      }
      for (int i = 0; i < nodes; i++) {
        ServerProcesses.awaitListening(
            "raftkv node " + i,
            procs.get(i),
            kvs[i],
            Duration.ofSeconds(60),
            dir.resolve("node-" + i + ".log"));
      }
      t.awaitLeader(Duration.ofSeconds(60));
      return t;
    } catch (IOException e) {
      t.close();
      throw new UncheckedIOException("cannot start " + svr, e);
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  /** Starts node i's process; its log is appended to, so a restart keeps the earlier lines. */
  private Process launch(int i) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(commands.get(i)).directory(dataDir.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(
        ProcessBuilder.Redirect.appendTo(dataDir.resolve("node-" + i + ".log").toFile()));
    return pb.start();
  }

  /** The KV ("host:port") address of every node, in node-id order. */
  List<String> endpoints() {
    return endpoints;
  }

  /**
   * kill -9 of node i (SIGKILL: no shutdown hook runs), for failover experiments; returns at once,
   * see {@link #awaitExit}. Only for a cluster bench started.
   */
  void kill(int i) {
    processes.get(i).destroyForcibly();
  }

  /** SIGTERM to node i (a clean stop), then waits until it has gone; SIGKILL after 10 s. */
  void stop(int i) throws InterruptedException {
    Process p = processes.get(i);
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      awaitExit(i, Duration.ofSeconds(10));
    }
  }

  /** Node i's data directory, or null for an existing cluster. */
  Path nodeDir(int i) {
    return dataDir == null ? null : dataDir.resolve("node-" + i);
  }

  /** Node i's log (its stdout and stderr), or null for an existing cluster. */
  Path logFile(int i) {
    return dataDir == null ? null : dataDir.resolve("node-" + i + ".log");
  }

  /** Waits until node i's process has gone. */
  void awaitExit(int i, Duration limit) throws InterruptedException {
    if (!processes.get(i).waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException("raftkv node " + i + " still alive after kill");
    }
  }

  /** Starts node i again with its earlier command line (same ports and data directory). */
  void restart(int i, Duration limit) throws IOException {
    if (processes.get(i).isAlive()) {
      throw new IllegalStateException("raftkv node " + i + " is still running");
    }
    processes.set(i, launch(i));
    String ep = endpoints.get(i);
    ServerProcesses.awaitListening(
        "raftkv node " + i,
        processes.get(i),
        Integer.parseInt(ep.substring(ep.lastIndexOf(':') + 1)),
        limit,
        dataDir.resolve("node-" + i + ".log"));
  }

  /** Waits until a PUT succeeds (a leader is elected and the log is writable). */
  private void awaitLeader(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    Exception last = null;
    try (KvClient c =
        KvClient.builder(endpoints)
            .timeout(Duration.ofSeconds(5))
            .channelFactory(tls::channel)
            .build()) {
      while (System.nanoTime() < deadline) {
        try {
          c.put(
              "__bench_probe__".getBytes(StandardCharsets.US_ASCII),
              "1".getBytes(StandardCharsets.US_ASCII));
          return;
        } catch (Exception e) {
          last = e;
          ServerProcesses.sleep(100);
        }
      }
    }
    throw new IllegalStateException(
        "raftkv at "
            + endpoints
            + ": no write succeeded within "
            + limit.toSeconds()
            + " s: "
            + last
            + (dataDir != null ? ServerProcesses.tail(dataDir.resolve("node-0.log")) : ""));
  }

  private ManagedChannel channel(String address, int index) {
    ManagedChannel[] pool = channels.computeIfAbsent(address, a -> new ManagedChannel[connections]);
    synchronized (pool) {
      int slot = index % connections;
      if (pool[slot] == null) {
        // Responses are handled on the transport's reader thread: the load's callbacks never
        // block (they record and start the next call). gRPC's default, a cached thread pool, grew
        // to 500-670 threads at 1,024 clients on 2 busy cores, and cost 3-4x the bench CPU per
        // operation.
        pool[slot] = tls.builder(address).directExecutor().build();
      }
      return pool[slot];
    }
  }

  @Override
  public String name() {
    // The label of its figures: a TLS run merges apart from a plaintext one.
    return tls.enabled() ? "raftkv+tls" : "raftkv";
  }

  /** How bench's clients reach the KV ports (plaintext, or TLS with bench's certificate). */
  ClientTls tls() {
    return tls;
  }

  @Override
  public String describe() {
    return description;
  }

  @Override
  public int nodes() {
    return nodes;
  }

  @Override
  public List<Long> serverPids() {
    return processes.stream().map(Process::pid).toList();
  }

  @Override
  public Session session(int index) {
    KvClient client =
        KvClient.builder(endpoints).channelFactory(address -> channel(address, index)).build();
    return new Session() {
      @Override
      public java.util.Optional<byte[]> read(byte[] key) throws Exception {
        return client.get(key);
      }

      @Override
      public void put(byte[] key, byte[] value) throws Exception {
        client.put(key, value);
      }

      @Override
      public void append(byte[] key, byte[] value) throws Exception {
        client.append(key, value);
      }

      @Override
      public CompletableFuture<?> getAsync(byte[] key) {
        return client.getAsync(key);
      }

      @Override
      public CompletableFuture<?> putAsync(byte[] key, byte[] value) {
        return client.putAsync(key, value);
      }

      @Override
      public CompletableFuture<?> appendAsync(byte[] key, byte[] value) {
        return client.appendAsync(key, value);
      }

      @Override
      public void close() {
        // The channels are shared: closed with the target (KvClient.close would close them).
      }
    };
  }

  @Override
  public void close() {
    for (ManagedChannel[] pool : channels.values()) {
      for (ManagedChannel ch : pool) {
        if (ch != null) {
          ch.shutdownNow();
        }
      }
    }
    for (ManagedChannel[] pool : channels.values()) {
      for (ManagedChannel ch : pool) {
        if (ch != null) {
          try {
            ch.awaitTermination(2, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    }
    ServerProcesses.stopAll(processes);
    if (!keepData) {
      ServerProcesses.deleteTree(dataDir);
    }
  }
}
