package io.raftkv.server;

import java.io.File;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code svr}: runs one raftkv node, with the seed's flags ({@code -r -i -p --leader}) plus a data
 * directory, an optional properties file and a flag for every timing and size.
 */
@Command(
    name = "svr",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Runs one raftkv node: a Raft peer and a KV server.")
public final class SvrMain implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = {"-r", "--raft-peers"},
      required = true,
      split = ",",
      paramLabel = "PORT|HOST:PORT",
      description = "Raft addresses of all nodes, in node-id order (bare ports mean 127.0.0.1).")
  List<String> raftPeers;

  @Option(
      names = {"-i", "--id"},
      required = true,
      description = "This node's id: its position in -r, from 0.")
  int id;

  @Option(
      names = {"-p", "--kvs-port"},
      required = true,
      description = "Port for KV clients.")
  int kvsPort;

  @Option(
      names = "--leader",
      description = "Campaign at start-up instead of waiting for a timeout (votes still decide).")
  boolean leader;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "Where this node keeps its data (default: data/node-<id>).")
  Path dataDir;

  @Option(
      names = "--restore",
      paramLabel = "FILE",
      description =
          "Bootstrap this node's (empty) data directory from a backup made by 'clt snapshot"
              + " save', then start. Every node of a new cluster restores the same file.")
  Path restore;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file of defaults for these options (keys: long names, no dashes).")
  File configFile;

  @Option(
      names = "--cluster-id",
      description =
          "Names the cluster; a data directory of another cluster is refused"
              + " (default: derived from -r).")
  String clusterId;

  @Option(
      names = "--kvs-host",
      defaultValue = "127.0.0.1",
      description = "Address the KV port binds to (default: ${DEFAULT-VALUE}).")
  String kvsHost;

  @Option(
      names = "--kvs-peers",
      split = ",",
      paramLabel = "PORT|HOST:PORT",
      description = "KV addresses of all nodes in id order, so NOT_LEADER can name the leader's.")
  List<String> kvsPeers = new ArrayList<>();

  @Option(
      names = "--tick-ms",
      defaultValue = "5",
      description = "Raft tick (default: ${DEFAULT-VALUE}).")
  long tickMs;

  @Option(
      names = "--election-timeout-min-ms",
      defaultValue = "150",
      description = "Randomized election timeout, lower bound (default: ${DEFAULT-VALUE}).")
  long electionMinMs;

  @Option(
      names = "--election-timeout-max-ms",
      defaultValue = "300",
      description = "Randomized election timeout, upper bound (default: ${DEFAULT-VALUE}).")
  long electionMaxMs;

  @Option(
      names = "--heartbeat-ms",
      defaultValue = "50",
      description = "Leader heartbeat interval (default: ${DEFAULT-VALUE}).")
  long heartbeatMs;

  @Option(
      names = "--request-timeout-ms",
      defaultValue = "5000",
      description =
          "How long a client request may wait for its outcome (default: ${DEFAULT-VALUE}).")
  long requestTimeoutMs;

  @Option(
      names = "--startup-grace-ms",
      defaultValue = "2000",
      description =
          "After start, a node that knows no leader waits this long before its first election,"
              + " so a --leader node can win first (default: ${DEFAULT-VALUE}).")
  long startupGraceMs;

  @Option(
      names = "--max-inflight",
      defaultValue = "256",
      description = "Pipelined AppendEntries per follower (default: ${DEFAULT-VALUE}).")
  int maxInflight;

  @Option(
      names = "--max-message-bytes",
      defaultValue = "1048576",
      description = "Entry bytes per AppendEntries (default: ${DEFAULT-VALUE}).")
  long maxMessageBytes;

  @Option(
      names = "--peer-queue",
      defaultValue = "8192",
      description = "Messages queued per peer before dropping (default: ${DEFAULT-VALUE}).")
  int peerQueue;

  @Option(
      names = "--log-cache-entries",
      defaultValue = "4096",
      description =
          "Applied log entries kept in memory beyond the unapplied ones; older ones are read back"
              + " from disk when a lagging follower needs them (default: ${DEFAULT-VALUE}).")
  int logCacheEntries;

  @Option(
      names = "--snapshot-entries",
      defaultValue = "10000",
      description =
          "Snapshot the state machine and compact the log every this many applied entries; 0"
              + " never (default: ${DEFAULT-VALUE}).")
  long snapshotEntries;

  @Option(
      names = "--snapshot-catchup-entries",
      defaultValue = "5000",
      description =
          "Log entries kept before each snapshot, so that a follower lagging by fewer catches up"
              + " from the log instead of a snapshot (default: ${DEFAULT-VALUE}).")
  long snapshotCatchupEntries;

  @Option(
      names = "--snapshot-max-bytes-per-sec",
      defaultValue = "104857600",
      description =
          "Rate limit of each snapshot sent to a follower, in bytes per second; 0 for none"
              + " (default: ${DEFAULT-VALUE}, 100 MiB/s).")
  long snapshotMaxBytesPerSec;

  @Option(
      names = "--snapshot-timeout-ms",
      defaultValue = "600000",
      description = "Deadline of one snapshot transfer (default: ${DEFAULT-VALUE}).")
  long snapshotTimeoutMillis;

  @Option(
      names = "--max-key-bytes",
      defaultValue = "4096",
      description = "Largest key accepted (default: ${DEFAULT-VALUE}).")
  int maxKeyBytes;

  @Option(
      names = "--max-value-bytes",
      defaultValue = "1048576",
      description = "Largest value accepted (default: ${DEFAULT-VALUE}).")
  int maxValueBytes;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description =
          "Serve Prometheus metrics at /metrics and the node's health at /health on this HTTP"
              + " port (0: any free port, logged); not served when not given.")
  Integer metricsPort;

  @Option(
      names = "--metrics-host",
      defaultValue = "127.0.0.1",
      description = "Address the metrics port binds to (default: ${DEFAULT-VALUE}).")
  String metricsHost;

  @Option(
      names = "--join",
      description =
          "Start outside the cluster's configuration and wait to be added (clt member add):"
              + " this node's raft address is its -r entry, the others' entries are only where to"
              + " find the cluster. Ignored once the node has recorded a configuration.")
  boolean join;

  @Option(
      names = "--enable-chaos",
      description =
          "Serve the Admin service's Chaos RPC (clt chaos: drop, delay or cut this node's peer"
              + " traffic). Off by default: any client that reaches the KV port could partition"
              + " the node; tests and the nemesis turn it on.")
  boolean enableChaos;

  @Option(
      names = "--cert-file",
      paramLabel = "FILE",
      description =
          "TLS on the KV port: this node's certificate (PEM). With --key-file; plaintext without.")
  Path certFile;

  @Option(
      names = "--key-file",
      paramLabel = "FILE",
      description = "The private key of --cert-file (PEM, unencrypted PKCS#8).")
  Path keyFile;

  @Option(
      names = "--trusted-ca-file",
      paramLabel = "FILE",
      description =
          "Authorities (PEM) that client certificates on the KV port are checked against.")
  Path trustedCaFile;

  @Option(
      names = "--client-cert-auth",
      description =
          "Refuse KV clients without a certificate signed by --trusted-ca-file (mutual TLS).")
  boolean clientCertAuth;

  @Option(
      names = "--admin-users",
      paramLabel = "NAMES",
      split = ",",
      defaultValue = "root",
      description =
          "With --client-cert-auth: the common names (CN) of the client certificates that may"
              + " call the Admin RPCs that change things (chaos, membership changes, snapshot"
              + " save, latency reset); others may only read status and members"
              + " (default: ${DEFAULT-VALUE}).")
  List<String> adminUsers;

  @Option(
      names = "--peer-cert-file",
      paramLabel = "FILE",
      description =
          "Mutual TLS on the Raft port: this node's peer certificate (PEM), presented to peers"
              + " both ways; it must carry the DNS name raftkv-node-<id> (scripts/make-certs.sh).")
  Path peerCertFile;

  @Option(
      names = "--peer-key-file",
      paramLabel = "FILE",
      description = "The private key of --peer-cert-file (PEM, unencrypted PKCS#8).")
  Path peerKeyFile;

  @Option(
      names = "--peer-trusted-ca-file",
      paramLabel = "FILE",
      description = "Authorities (PEM) that peers' certificates are checked against.")
  Path peerTrustedCaFile;

  @Option(
      names = "--peer-insecure",
      description =
          "Allow the Raft port on a non-loopback address without peer TLS (anyone who reaches it"
              + " can forge Raft messages): for trusted networks only.")
  boolean peerInsecure;

  @Option(
      names = "--tls-reload-ms",
      defaultValue = "10000",
      description =
          "How often the certificate and key files are checked for changes, so that rotated"
              + " certificates take effect without a restart (default: ${DEFAULT-VALUE}).")
  long tlsReloadMillis;

  Security security() {
    return new Security(
        TlsFiles.of("--", certFile, keyFile, trustedCaFile, clientCertAuth),
        TlsFiles.of(
            "--peer-", peerCertFile, peerKeyFile, peerTrustedCaFile, peerTrustedCaFile != null),
        peerInsecure,
        tlsReloadMillis,
        Set.copyOf(adminUsers.stream().map(String::strip).toList()));
  }

  ServerConfig toConfig() {
    if (join && clusterId == null) {
      throw new IllegalArgumentException(
          "--join needs --cluster-id: the id of the cluster to join (clt status shows it)");
    }
    List<PeerAddress> raft = raftPeers.stream().map(PeerAddress::parse).toList();
    List<PeerAddress> kvs = kvsPeers.stream().map(PeerAddress::parse).toList();
    String cluster =
        clusterId != null
            ? clusterId
            : "raftkv:" + String.join(",", raft.stream().map(PeerAddress::toString).toList());
    return new ServerConfig(
        id,
        raft,
        kvs,
        kvsHost,
        kvsPort,
        leader,
        dataDir != null ? dataDir : Path.of("data", "node-" + id),
        cluster,
        tickMs,
        electionMinMs,
        electionMaxMs,
        heartbeatMs,
        requestTimeoutMs,
        startupGraceMs,
        maxInflight,
        maxMessageBytes,
        peerQueue,
        logCacheEntries,
        maxKeyBytes,
        maxValueBytes,
        new ServerConfig.Snapshots(
            snapshotEntries, snapshotCatchupEntries, snapshotMaxBytesPerSec, snapshotTimeoutMillis),
        enableChaos,
        join,
        security());
  }

  @Override
  public Integer call() throws Exception {
    ServerConfig config;
    try {
      config = toConfig();
      if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
        throw new IllegalArgumentException(
            "--metrics-port " + metricsPort + " is not a port (0-65535)");
      }
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (restore != null) {
      try {
        io.raftkv.proto.raft.SnapshotMeta meta = SnapshotRestore.restore(config, restore);
        System.err.println(
            "svr: restored "
                + restore
                + " (index "
                + meta.getIndex()
                + ", term "
                + meta.getTerm()
                + ") into "
                + config.dataDir());
      } catch (RuntimeException e) {
        System.err.println("svr: " + e.getMessage());
        return 1;
      }
    }
    KvServer server;
    try {
      server = KvServer.start(config);
    } catch (LostDataCheck.DataLostException e) {
      // Not 1 (a bad argument): a supervisor must not restart it blank, and the operator must act.
      System.err.println("svr: " + e.getMessage());
      return KvServer.DATA_LOST_EXIT;
    } catch (RuntimeException e) {
      System.err.println("svr: " + e.getMessage());
      return 1;
    }
    if (metricsPort != null) {
      try {
        server.serveMetrics(metricsHost, metricsPort);
      } catch (RuntimeException e) {
        server.close();
        System.err.println("svr: " + e.getMessage());
        return 1;
      }
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "svr-shutdown"));
    stopped.await();
    return 0;
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.err, true)));
  }

  /** Parses the arguments and runs the node (until shut down); returns the exit code. */
  static int run(String[] args, PrintWriter err) {
    CommandLine cmd = new CommandLine(new SvrMain());
    cmd.setErr(err);
    File config = findConfig(args);
    if (config != null) {
      if (!config.canRead()) {
        err.println("svr: cannot read --config file " + config + " (see svr --help)");
        return 1;
      }
      cmd.setDefaultValueProvider(new CommandLine.PropertiesDefaultProvider(config));
    }
    // One line, as clt does: the usage is ~50 lines, and the reason would scroll away above it.
    cmd.setParameterExceptionHandler(
        (ex, a) -> {
          ex.getCommandLine().getErr().println("svr: " + ex.getMessage() + " (see svr --help)");
          return 1;
        });
    return cmd.execute(args);
  }

  private static File findConfig(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        return new File(args[i + 1]);
      }
      if (args[i].startsWith("--config=")) {
        return new File(args[i].substring("--config=".length()));
      }
    }
    return null;
  }
}
