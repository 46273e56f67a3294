package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.netty.handler.ssl.SslContext;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.ServerProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * etcd through jetcd, driven with the same workload: {@code connections} jetcd clients (each one
 * gRPC connection, multiplexed), shared round-robin by the simulated clients. The load's Runner
 * uses jetcd's futures directly, as it uses raftkv's asynchronous KvClient calls.
 *
 * <ul>
 *   <li>GET: a Range request with serializable=false, i.e. linearizable (etcd's ReadIndex); set
 *       explicitly rather than relying on jetcd's default (which is also false).
 *   <li>PUT: a Put (etcd fsyncs its WAL before acknowledging: default durability).
 *   <li>APPEND: etcd has no append; it is a linearizable GET then a Txn that writes the longer
 *       value if the key's mod revision is unchanged (or it still does not exist), retried on
 *       conflict. Two round trips where raftkv needs one.
 * </ul>
 *
 * <p>With TLS (a cluster bench starts with {@code tls}), the members run etcd's TLS flags on https
 * client and peer URLs, client certificates required both ways, as raftkv does ({@link
 * ClusterCertificates}); the jetcd clients present bench's certificate.
 */
final class EtcdTarget implements Target {
  static final GetOption LINEARIZABLE = GetOption.builder().withSerializable(false).build();
  private static final long OP_TIMEOUT_SECONDS = 10;

  private final List<String> endpoints;
  private final int nodes;
  private final String description;
  private final List<Process> processes;
  private final Path dataDir;
  private final boolean keepData;
  private final Client[] clients;
  // Null for plaintext.
  private final SslContext ssl;
  // Each started member's command line, so that a stopped member can be started again as it was.
  private final List<List<String>> commands = new ArrayList<>();

  private EtcdTarget(
      List<String> endpoints,
      int connections,
      int nodes,
      String description,
      List<Process> processes,
      Path dataDir,
      boolean keepData,
      SslContext ssl) {
    this.endpoints = endpoints;
    this.nodes = nodes;
    this.description = description;
    this.processes = processes;
    this.dataDir = dataDir;
    this.keepData = keepData;
    this.clients = new Client[connections];
    this.ssl = ssl;
  }

  /** An existing etcd at these "host:port" client addresses. */
  static EtcdTarget existing(List<String> endpoints, int connections) {
    List<String> urls = endpoints.stream().map(e -> e.contains("://") ? e : "http://" + e).toList();
    EtcdTarget t =
        new EtcdTarget(
            urls,
            connections,
            -1,
            "etcd at " + String.join(",", urls),
            List.of(),
            null,
            true,
            null);
    t.awaitWritable(Duration.ofSeconds(30));
    return t;
  }

  /** The etcd binary: the one given, or `etcd` on PATH; a clear error when there is none. */
  static Path findEtcd(Path given) {
    if (given != null) {
      if (!Files.isExecutable(given)) {
        throw new IllegalStateException(given + " is not an executable etcd");
      }
      return given;
    }
    Path p = Processes.onPath("etcd");
    if (p == null) {
      throw new IllegalStateException(
          "etcd not found on PATH: install it (Debian: apt-get install etcd-server),"
              + " or pass --etcd /path/to/etcd, or point bench at a running etcd"
              + " (run --endpoints, compare --etcd-endpoints)");
    }
    return p;
  }

  /**
   * Starts a {@code nodes}-member etcd cluster on free loopback ports with fresh data directories
   * and etcd's default durability (WAL fsync on), and waits until a write goes through.
   */
  static EtcdTarget start(Path etcd, int nodes, int connections, boolean keepData) {
    return start(etcd, nodes, connections, keepData, List.of());
  }

  /**
   * As {@link #start(Path, int, int, boolean)}, with {@code extraArgs} added to every member's
   * command line (after bench's own flags, so that they win: etcd keeps a flag's last value).
   */
  static EtcdTarget start(
      Path etcd, int nodes, int connections, boolean keepData, List<String> extraArgs) {
    return start(etcd, nodes, connections, keepData, extraArgs, false);
  }

  /**
   * As {@link #start(Path, int, int, boolean, List)}; with {@code tls}, the members and bench's
   * clients use certificates made in the cluster's directory ({@link ClusterCertificates}).
   */
  static EtcdTarget start(
      Path etcd,
      int nodes,
      int connections,
      boolean keepData,
      List<String> extraArgs,
      boolean tls) {
    Path dir;
    try {
      dir = Files.createTempDirectory("etcd-bench-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int[] ports = FreePorts.pick(2 * nodes);
    ClusterCertificates certs =
        tls ? ClusterCertificates.create(dir.resolve("certs"), nodes) : null;
    String scheme = tls ? "https://" : "http://";
    List<String> clientUrls = new ArrayList<>();
    List<String> peerUrls = new ArrayList<>();
    StringBuilder initial = new StringBuilder();
    for (int i = 0; i < nodes; i++) {
      clientUrls.add(scheme + "127.0.0.1:" + ports[i]);
      peerUrls.add(scheme + "127.0.0.1:" + ports[nodes + i]);
      initial.append(i == 0 ? "" : ",").append("m").append(i).append('=').append(peerUrls.get(i));
    }
    List<Process> procs = new ArrayList<>();
    EtcdTarget t =
        new EtcdTarget(
            clientUrls,
            connections,
            nodes,
            "etcd "
                + version(etcd)
                + ", "
                + nodes
                + " members started by bench ("
                + etcd
                + ", defaults: WAL fsync on"
                + (extraArgs.isEmpty() ? "" : "; " + String.join(" ", extraArgs))
                + (tls ? "; TLS, client certificates required, peer mTLS" : "")
                + "), data in "
                + dir,
            procs,
            dir,
            keepData,
            tls ? certs.jetcdSslContext() : null);
    try {
      for (int i = 0; i < nodes; i++) {
        List<String> cmd =
            new ArrayList<>(
                List.of(
                    etcd.toString(),
                    "--name",
                    "m" + i,
                    "--data-dir",
                    dir.resolve("m" + i).toString(),
                    "--listen-client-urls",
                    clientUrls.get(i),
                    "--advertise-client-urls",
                    clientUrls.get(i),
                    "--listen-peer-urls",
                    peerUrls.get(i),
                    "--initial-advertise-peer-urls",
                    peerUrls.get(i),
                    "--initial-cluster",
                    initial.toString(),
                    "--initial-cluster-token",
                    "bench-" + dir.getFileName(),
                    "--initial-cluster-state",
                    "new",
                    "--logger",
                    "zap",
                    "--log-level",
                    "warn"));
        if (certs != null) {
          cmd.addAll(certs.etcdArgs(i));
        }
        cmd.addAll(extraArgs);
        t.commands.add(List.copyOf(cmd));
        procs.add(t.launch(i));
      }
      for (int i = 0; i < nodes; i++) {
        ServerProcesses.awaitListening(
            "etcd member " + i,
            procs.get(i),
            ports[i],
            Duration.ofSeconds(60),
            dir.resolve("m" + i + ".log"));
      }
      t.awaitWritable(Duration.ofSeconds(60));
      return t;
    } catch (IOException e) {
      t.close();
      throw new UncheckedIOException("cannot start " + etcd, e);
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  /** Starts member i's process; its log is appended to, so a restart keeps the earlier lines. */
  private Process launch(int i) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(commands.get(i)).directory(dataDir.toFile());
    // An ETCD_* variable in our environment would override the flags.
    pb.environment().keySet().removeIf(k -> k.startsWith("ETCD_"));
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(i).toFile()));
    return pb.start();
  }

  /** SIGTERM to member i (a clean stop), then waits until it has gone; SIGKILL after 10 s. */
  void stop(int i) throws InterruptedException {
    Process p = processes.get(i);
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("etcd member " + i + " still alive after SIGKILL");
      }
    }
  }

  /** Starts member i again with its earlier command line (same ports and data directory). */
  void restart(int i, Duration limit) throws IOException {
    if (processes.get(i).isAlive()) {
      throw new IllegalStateException("etcd member " + i + " is still running");
    }
    processes.set(i, launch(i));
    String url = endpoints.get(i);
    ServerProcesses.awaitListening(
        "etcd member " + i,
        processes.get(i),
        Integer.parseInt(url.substring(url.lastIndexOf(':') + 1)),
        limit,
        logFile(i));
  }

  /** Member i's data directory, or null for an existing cluster. */
  Path nodeDir(int i) {
    return dataDir == null ? null : dataDir.resolve("m" + i);
  }

  /** Member i's log (its stdout and stderr), or null for an existing cluster. */
  Path logFile(int i) {
    return dataDir == null ? null : dataDir.resolve("m" + i + ".log");
  }

  static String version(Path etcd) {
    try {
      Process p =
          new ProcessBuilder(etcd.toString(), "--version").redirectErrorStream(true).start();
      String out =
          new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      for (String line : out.split("\n")) {
        if (line.startsWith("etcd Version:")) {
          return line.substring("etcd Version:".length()).strip();
        }
      }
    } catch (IOException e) {
      return "?";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "?";
  }

  private synchronized Client client(int index) {
    int slot = index % clients.length;
    if (clients[slot] == null) {
      ClientBuilder b =
          Client.builder()
              .endpoints(endpoints.toArray(String[]::new))
              .connectTimeout(Duration.ofSeconds(5));
      if (ssl != null) {
        b.sslContext(ssl);
      }
      clients[slot] = b.build();
    }
    return clients[slot];
  }

  private void awaitWritable(Duration limit) {
    long deadline = System.nanoTime() + limit.toNanos();
    Exception last = null;
    KV kv = client(0).getKVClient();
    while (System.nanoTime() < deadline) {
      try {
        kv.put(bytes("__bench_probe__".getBytes()), bytes("1".getBytes())).get(5, TimeUnit.SECONDS);
        return;
      } catch (Exception e) {
        last = e;
        ServerProcesses.sleep(100);
      }
    }
    throw new IllegalStateException(
        "etcd at "
            + endpoints
            + ": no write succeeded within "
            + limit.toSeconds()
            + " s: "
            + last
            + (dataDir != null ? ServerProcesses.tail(dataDir.resolve("m0.log")) : ""));
  }

  private static ByteSequence bytes(byte[] b) {
    return ByteSequence.from(b);
  }

  /** The client URLs ("http://host:port") of the members. */
  List<String> endpoints() {
    return endpoints;
  }

  @Override
  public String name() {
    // The label of its figures: a TLS run merges apart from a plaintext one.
    return ssl != null ? "etcd+tls" : "etcd";
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
    KV kv = client(index).getKVClient();
    return new Session() {
      @Override
      public java.util.Optional<byte[]> read(byte[] key) throws Exception {
        GetResponse r = kv.get(bytes(key), LINEARIZABLE).get(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return r.getKvs().isEmpty()
            ? java.util.Optional.empty()
            : java.util.Optional.of(r.getKvs().get(0).getValue().getBytes());
      }

      @Override
      public void put(byte[] key, byte[] value) throws Exception {
        putAsync(key, value).get();
      }

      @Override
      public void append(byte[] key, byte[] value) throws Exception {
        appendAsync(key, value).get();
      }

      @Override
      public CompletableFuture<?> getAsync(byte[] key) {
        return kv.get(bytes(key), LINEARIZABLE).orTimeout(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }

      @Override
      public CompletableFuture<?> putAsync(byte[] key, byte[] value) {
        return kv.put(bytes(key), bytes(value)).orTimeout(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      }

      @Override
      public CompletableFuture<?> appendAsync(byte[] key, byte[] value) {
        return appendWithTxn(
            kv,
            bytes(key),
            bytes(value),
            System.nanoTime() + TimeUnit.SECONDS.toNanos(OP_TIMEOUT_SECONDS));
      }

      @Override
      public void close() {
        // The jetcd clients are shared: closed with the target.
      }
    };
  }

  /**
   * APPEND: a linearizable GET, then a Txn that writes the longer value if the key's mod revision
   * is unchanged (or it still does not exist); again on a conflict, until {@code deadline}.
   */
  private static CompletableFuture<Void> appendWithTxn(
      KV kv, ByteSequence k, ByteSequence value, long deadline) {
    return kv.get(k, LINEARIZABLE)
        .orTimeout(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .thenCompose(
            g -> {
              Cmp cmp;
              ByteSequence next;
              if (g.getKvs().isEmpty()) {
                cmp = new Cmp(k, Cmp.Op.EQUAL, CmpTarget.version(0));
                next = value;
              } else {
                KeyValue cur = g.getKvs().get(0);
                cmp = new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(cur.getModRevision()));
                next = cur.getValue().concat(value);
              }
              return kv.txn()
                  .If(cmp)
                  .Then(Op.put(k, next, PutOption.DEFAULT))
                  .commit()
                  .orTimeout(OP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            })
        .thenCompose(
            (TxnResponse r) -> {
              if (r.isSucceeded()) {
                return CompletableFuture.completedFuture(null);
              }
              if (System.nanoTime() > deadline) {
                return CompletableFuture.failedFuture(
                    new IllegalStateException("APPEND: too many conflicts on " + k));
              }
              return appendWithTxn(kv, k, value, deadline);
            });
  }

  @Override
  public void close() {
    for (Client c : clients) {
      if (c != null) {
        c.close();
      }
    }
    ServerProcesses.stopAll(processes);
    if (!keepData) {
      ServerProcesses.deleteTree(dataDir);
    }
  }
}
