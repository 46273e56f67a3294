package io.raftkv.server;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.raftkv.node.Compaction;
import io.raftkv.node.KvService;
import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.DataHolderAnswer;
import io.raftkv.proto.raft.DataHolderQuery;
import io.raftkv.proto.raft.Entry;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.SoftState;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.NodeIdentity;
import io.raftkv.storage.RocksLogStorage;
import io.raftkv.storage.RocksStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One raftkv node, assembled: RocksDB storage, the consensus core in its event loop, the gRPC peer
 * transport (with its chaos faults), and the KV and Admin services on the KV port.
 *
 * <p>Thread-safety: start and close from one thread.
 */
public final class KvServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KvServer.class);

  /** A start-up problem the user can act on (port in use, data directory refused). */
  public static final class StartupException extends RuntimeException {
    public StartupException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final ServerConfig config;
  private final RocksStore store;
  private final KvStateMachine stateMachine;
  private final PeerTransport transport;
  private final Metrics metrics;
  private final Chaos chaos;
  private final RaftNode<KvStateMachine.Applied> node;
  private final KvSnapshots snapshots;
  private final SnapshotStreamer snapshotStreamer;
  private final SnapshotReceiver snapshotReceiver;
  private final MemberDirectory members;
  private final MembershipChangeRunner membership;

  /**
   * One connection per peer for snapshots, apart from the message stream's: megabytes of chunks
   * queued in one HTTP/2 connection would hold heartbeats and votes back behind them.
   */
  private final java.util.Map<Integer, io.grpc.ManagedChannel> snapshotChannels =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final Server raftServer;
  private final Server kvsServer;
  private MetricsServer metricsServer;

  /**
   * Periodic chores off the loop: re-reading the TLS files (rotation without a restart), and
   * handing the loop the leader's data-holder check.
   */
  private final ScheduledExecutorService housekeeping;

  private final TlsCredentials clientTls;
  private final TlsCredentials peerTls;
  private final PeerChannels peerChannels;

  private KvServer(ServerConfig config) {
    this.config = config;
    Security security = config.security();
    this.housekeeping =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "housekeeping-" + config.nodeId());
              t.setDaemon(true);
              return t;
            });
    try {
      this.clientTls =
          security.client() == null
              ? null
              : TlsCredentials.load(security.client(), security.tlsReloadMillis(), housekeeping);
      this.peerTls =
          security.peer() == null
              ? null
              : TlsCredentials.load(security.peer(), security.tlsReloadMillis(), housekeeping);
    } catch (RuntimeException e) {
      housekeeping.shutdownNow();
      throw e;
    }
    this.peerChannels = new PeerChannels(config.nodeId(), config.clusterId(), peerTls);
    try {
      // Before the directory is created: a refused node must find it empty again next time.
      LostDataCheck.run(config, peerChannels);
    } catch (RuntimeException e) {
      closeTls();
      throw e;
    }
    this.store =
        RocksStore.open(config.dataDir(), new NodeIdentity(config.clusterId(), config.nodeId()));
    try {
      this.stateMachine = new KvStateMachine(store);
      this.snapshots = new KvSnapshots(store, stateMachine, config.clusterId());
      RocksLogStorage logStorage = new RocksLogStorage(store);
      // Only the log's tail comes onto the heap; the rest is read back when a follower needs it.
      // A log that does not continue the state machine (a snapshot installed, its log compaction
      // lost in a crash) is reconciled with it first.
      PersistentState restored =
          logStorage
              .load(
                  stateMachine.appliedIndex(), stateMachine.appliedTerm(), config.logCacheEntries())
              .withConfiguration(stateMachine.configuration());
      // The core's only randomness (election timeouts); seeded per process here, by the
      // simulator's master seed there.
      Raft raft =
          new Raft(
              config.raftConfig(),
              new SplittableRandom(new SecureRandom().nextLong()),
              restored,
              logStorage, // only the log's tail stays on the heap; older entries come from disk
              config.logCacheEntries());
      this.members = new MemberDirectory(config, raft.configuration());
      refuseIfRemoved(config.nodeId(), stateMachine.configuration());
      List<Integer> memberIds = List.copyOf(config.raftPeersById().keySet());
      List<Integer> peerIds = memberIds.stream().filter(id -> id != config.nodeId()).toList();
      this.metrics = new Metrics(peerIds);
      this.chaos = Chaos.unseeded(config.nodeId(), memberIds);
      this.transport =
          new PeerTransport(
              config.nodeId(),
              config.raftPeersById(),
              config.peerQueueMessages(),
              chaos,
              metrics,
              peerChannels);
      // New members are reached as soon as a configuration naming them takes effect (§4.1).
      members.onChange(
          c ->
              members
                  .members()
                  .keySet()
                  .forEach(
                      id -> {
                        connectPeer(id);
                        chaos.addPeer(id);
                      }));
      NodeRuntime<KvStateMachine.Applied> runtime =
          new NodeRuntime<>(
              raft,
              stateMachine.appliedIndex(),
              metrics.timed(logStorage),
              transport,
              new StateMachine(),
              new NodeRuntime.Timing(
                  TimeUnit.MILLISECONDS.toNanos(config.tickMillis()),
                  TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis())),
              new RoleChanges(config.nodeId(), metrics, members),
              System.nanoTime(),
              System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.tickMillis()));
      if (config.startAsLeader()) {
        runtime.campaignUntilLeaderKnown(
            TimeUnit.MILLISECONDS.toNanos(10 * config.electionTimeoutMaxMillis() + 10_000));
      } else {
        runtime.holdElections(TimeUnit.MILLISECONDS.toNanos(config.startupGraceMillis()));
      }
      KvService service =
          new KvService(
              runtime,
              stateMachine,
              new KvService.Limits(config.maxKeyBytes(), config.maxValueBytes()),
              members::kvAddress,
              SYSTEM_CLOCK,
              metrics.kvProbe());
      this.node = new RaftNode<>(runtime, KvServer::halt);
      this.membership = new MembershipChangeRunner(node, members);
      this.snapshotStreamer =
          new SnapshotStreamer(
              this::snapshotChannel,
              node,
              config.snapshots().maxBytesPerSecond(),
              config.snapshots().timeoutMillis(),
              metrics.snapshots);
      this.snapshotReceiver =
          new SnapshotReceiver(
              config.nodeId(),
              // A node that is not (yet) a member takes its first snapshot from whoever leads.
              id -> members.raftAddress(id).isPresent() || !members.selfIsMember(),
              config.dataDir().resolve("snapshots"),
              snapshots,
              node,
              metrics.snapshots);
      ScrapedMetrics.register(
          metrics.registry(), node, peerIds, transport, chaos, metrics, snapshots, store::logBytes);
      RocksStore.LastSnapshot last = snapshots.last();
      runtime.enableSnapshots(
          snapshotStreamer,
          new Compaction(config.snapshots().entries(), config.snapshots().catchupEntries()),
          last == null
              ? io.raftkv.proto.raft.SnapshotMeta.getDefaultInstance()
              : last.header().getMeta());
      // Every peer stream and snapshot transfer must come from a member of this cluster, each
      // message from the member that opened the stream (its certificate with peer TLS).
      PeerAuthenticator peers =
          new PeerAuthenticator(config.nodeId(), config.clusterId(), peerTls != null, metrics);
      this.raftServer =
          bind(
              "raft",
              config.raftAddress().host(),
              config.raftAddress().port(),
              ConnectionLimits.raftMaxMessageBytes(config),
              credentials(peerTls),
              io.grpc.ServerInterceptors.intercept(
                  new RaftTransportService(
                      config.nodeId(),
                      m -> node.execute(rt -> rt.receive(m)),
                      chaos,
                      metrics,
                      this::answerDataHolderQuery),
                  peers),
              io.grpc.ServerInterceptors.intercept(snapshotReceiver, peers));
      this.kvsServer =
          bind(
              "kvs",
              config.kvsHost(),
              config.kvsPort(),
              ConnectionLimits.kvsMaxMessageBytes(config),
              credentials(clientTls),
              new KvServiceImpl(node, service, metrics.requests).bindService(),
              io.grpc.ServerInterceptors.intercept(
                  new AdminServiceImpl(
                      node,
                      config,
                      transport,
                      chaos,
                      metrics,
                      snapshots,
                      store::logBytes,
                      members,
                      membership,
                      stateMachine::dataHolders),
                  // The last runs first: a disabled Chaos is refused to anyone.
                  new AdminGuard(
                      config.nodeId(),
                      clientTls != null && config.security().client().clientCertAuth(),
                      config.security().adminUsers()),
                  new ChaosGuard(config.nodeId(), config.chaosEnabled())));
    } catch (RuntimeException e) {
      store.close();
      closeTls();
      throw e;
    }
  }

  private DataHolderAnswer answerDataHolderQuery(DataHolderQuery query) {
    return DataHolderAnswer.newBuilder()
        .setHeldData(stateMachine.dataHolders().contains(query.getNodeId()))
        .setAnsweringId(config.nodeId())
        .setAppliedIndex(stateMachine.appliedIndex())
        .build();
  }

  private static ServerCredentials credentials(TlsCredentials tls) {
    return tls == null ? InsecureServerCredentials.create() : tls.serverCredentials();
  }

  private void closeTls() {
    if (clientTls != null) {
      clientTls.close();
    }
    if (peerTls != null) {
      peerTls.close();
    }
    housekeeping.shutdownNow();
  }

  private io.grpc.ManagedChannel snapshotChannel(int peer) {
    return snapshotChannels.computeIfAbsent(
        peer,
        id -> {
          PeerAddress a =
              members
                  .raftAddress(id)
                  .orElseThrow(() -> new IllegalStateException("no raft address for node " + id));
          // Acks and errors only come back: gRPC's default inbound bound (4 MiB) is plenty.
          return peerChannels.open(id, a, 4 << 20);
        });
  }

  /**
   * Serves this node's metrics ({@code /metrics}, Prometheus text) and health ({@code /health}) on
   * {@code host:port}, port 0 picking a free one; the JVM's own metrics are added to the node's.
   * Call at most once; {@link #close} stops it.
   *
   * @return the port it listens on
   * @throws StartupException if it cannot listen there
   */
  public synchronized int serveMetrics(String host, int port) {
    if (metricsServer != null) {
      throw new IllegalStateException("metrics are served already");
    }
    try {
      JvmMetrics.builder().register(metrics.registry());
      metricsServer =
          MetricsServer.start(
              host, port, metrics.registry(), Health.of(node, () -> stateMachine.get(HEALTH_KEY)));
    } catch (IOException e) {
      throw new StartupException(
          "cannot listen on metrics port " + host + ":" + port + ": " + rootMessage(e), e);
    }
    log.info(
        "node {} serves metrics at http://{}:{}/metrics and /health",
        config.nodeId(),
        host,
        metricsServer.port());
    return metricsServer.port();
  }

  /** The key the health check reads (absent or not, the read must succeed). */
  private static final byte[] HEALTH_KEY =
      "health".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  /** Opens the data directory, binds both ports and starts the node. */
  public static KvServer start(ServerConfig config) {
    KvServer s = new KvServer(config);
    s.node.start();
    DataHolderRecorder recorder = new DataHolderRecorder(s.stateMachine::dataHolders);
    s.housekeeping.scheduleWithFixedDelay(
        () -> s.node.execute(recorder::check),
        DATA_HOLDER_CHECK_MILLIS,
        DATA_HOLDER_CHECK_MILLIS,
        TimeUnit.MILLISECONDS);
    log.info(
        "node {} up: raft {} ({}), kvs {}:{} ({}), data {}, chaos {}",
        config.nodeId(),
        config.raftAddress(),
        config.security().peer() != null ? "mutual TLS" : "plaintext",
        config.kvsHost(),
        config.kvsPort(),
        config.security().client() == null
            ? "plaintext"
            : config.security().client().clientCertAuth()
                ? "TLS, client certificates, admin users "
                    + String.join(",", new java.util.TreeSet<>(config.security().adminUsers()))
                : "TLS",
        config.dataDir(),
        config.chaosEnabled() ? "enabled (--enable-chaos)" : "disabled");
    return s;
  }

  private Server bind(
      String what,
      String host,
      int port,
      int maxMessageBytes,
      ServerCredentials credentials,
      io.grpc.ServerServiceDefinition... services) {
    try {
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, port), credentials);
      for (io.grpc.ServerServiceDefinition service : services) {
        builder.addService(service);
      }
      // Every handler on both ports only validates, enqueues work for the node's loop or reads
      // the local RocksDB (no blocking on peers or fsync): run it on the network thread instead of
      // handing each call to another executor first (measured: the hand-off was ~15% of the
      // leader's CPU under 256 clients).
      builder.directExecutor();
      return ConnectionLimits.apply(builder, maxMessageBytes).build().start();
    } catch (IOException e) {
      if (raftServer != null) {
        raftServer.shutdownNow();
      }
      throw new StartupException(
          "cannot listen on " + what + " port " + host + ":" + port + ": " + rootMessage(e), e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  /** A node whose loop failed (storage error) must not serve on: stop the process at once. */
  private static void halt(Throwable cause) {
    if (cause instanceof io.raftkv.raft.DataLossException) {
      // Exit code 5: distinct from a storage failure, so a supervisor does not restart it blank.
      System.err.println("svr: " + cause.getMessage());
      Runtime.getRuntime().halt(DATA_LOST_EXIT);
    }
    log.error("fatal: {}; exiting", cause.toString());
    Runtime.getRuntime().halt(4);
  }

  /**
   * How often a leader looks for members that hold data and are not recorded as such: a new
   * member's record lags its first acknowledgement by at most this (plus a commit).
   */
  private static final long DATA_HOLDER_CHECK_MILLIS = 200;

  /** The exit code of a node that found it lost acknowledged data (it must be replaced). */
  public static final int DATA_LOST_EXIT = 5;

  /** The KV state machine as the runtime sees it: applying entries, and its snapshots (§7). */
  private final class StateMachine implements NodeRuntime.StateMachine<KvStateMachine.Applied> {
    @Override
    public List<KvStateMachine.Applied> apply(List<Entry> entries) {
      return KvServer.this.apply(entries);
    }

    @Override
    public io.raftkv.node.SnapshotImage openSnapshot(io.raftkv.proto.raft.SnapshotMeta meta) {
      return snapshots.open(meta);
    }

    @Override
    public void installSnapshot(io.raftkv.node.SnapshotImage image) {
      snapshots.install(image);
      metrics.snapshots.installed();
    }

    /**
     * The state machine's flush runs on the store's background thread while the loop goes on (a
     * flush of 10,000 entries' writes held the loop for milliseconds at every snapshot); the
     * runtime hears of it as an input. A failed flush stops the node, as a failed fsync does.
     */
    @Override
    public boolean saveSnapshotInBackground(io.raftkv.proto.raft.SnapshotMeta meta) {
      snapshots.saveInBackground(
          failure ->
              node.execute(
                  rt -> {
                    if (failure != null) {
                      throw failure;
                    }
                    snapshots.recordSaved(meta);
                    metrics.snapshots.saved();
                    rt.snapshotSaved(meta);
                  }));
      return false;
    }
  }

  /** Applies committed entries; one result per entry, in order. */
  private List<KvStateMachine.Applied> apply(List<Entry> entries) {
    long t0 = System.nanoTime();
    KvStateMachine.ApplyResult result = stateMachine.apply(entries);
    metrics.record(Metrics.Stage.APPLY, System.nanoTime() - t0);
    metrics.entriesApplied.add(entries.size());
    return result.results();
  }

  private static final KvService.Clock SYSTEM_CLOCK =
      new KvService.Clock() {
        @Override
        public long wallMillis() {
          return System.currentTimeMillis();
        }

        @Override
        public long nanos() {
          return System.nanoTime();
        }
      };

  /** A peer that joined the configuration gets a stream from this node's transport. */
  private void connectPeer(int id) {
    if (id != config.nodeId()) {
      members.raftAddress(id).ifPresent(a -> transport.addPeer(id, a));
    }
  }

  /**
   * A node whose data directory records a configuration without it was removed from the cluster: it
   * must not rejoin under its old identity (its id is never given out again, and its log is stale),
   * so it says so and does not start.
   */
  private static void refuseIfRemoved(int nodeId, io.raftkv.proto.raft.ConfState recorded) {
    if (recorded.getVotersCount() > 0 && !MemberDirectory.ids(recorded).contains(nodeId)) {
      throw new IllegalStateException(
          "node "
              + nodeId
              + " was removed from the cluster (its data directory records the configuration"
              + " voters "
              + recorded.getVotersList()
              + (recorded.getLearnersCount() > 0 ? ", learners " + recorded.getLearnersList() : "")
              + "); it does not start again: add a new node with a new id and --join");
    }
  }

  /**
   * Logs every role change, one line each, and counts new leaders (etcd's leader changes); hands
   * every new configuration to the member directory, and says once when this node is no longer in
   * it.
   */
  private static final class RoleChanges implements NodeRuntime.Listener {
    private final int nodeId;
    private final Metrics metrics;
    private final MemberDirectory members;
    private boolean toldRemoved;

    RoleChanges(int nodeId, Metrics metrics, MemberDirectory members) {
      this.nodeId = nodeId;
      this.metrics = metrics;
      this.members = members;
    }

    @Override
    public void configurationChanged(io.raftkv.proto.raft.ConfState configuration) {
      members.update(configuration);
      log.info(
          "node {}: configuration voters {}{}{}",
          nodeId,
          configuration.getVotersList(),
          configuration.getVotersOutgoingCount() > 0
              ? " (joint, outgoing " + configuration.getVotersOutgoingList() + ")"
              : "",
          configuration.getLearnersCount() > 0
              ? ", learners " + configuration.getLearnersList()
              : "");
      boolean member = members.selfIsMember();
      if (!member && configuration.getVotersCount() > 0 && !toldRemoved) {
        toldRemoved = true;
        log.warn(
            "node {} is not in the cluster's configuration any more (removed): it takes no further"
                + " part; stop it",
            nodeId);
      }
    }

    @Override
    public void softStateChanged(SoftState before, SoftState now, long term) {
      if (now.role() != before.role()) {
        log.info("node {} is {} in term {} (leader {})", nodeId, now.role(), term, now.leaderId());
      }
      if (now.leaderId() != io.raftkv.raft.RaftConfig.NONE && now.leaderId() != before.leaderId()) {
        metrics.leaderChanged();
      }
    }
  }

  public RaftNode<KvStateMachine.Applied> node() {
    return node;
  }

  public ServerConfig config() {
    return config;
  }

  /** The members this node's state machine records as having held data ({@link LostDataCheck}). */
  java.util.SortedSet<Integer> dataHolders() {
    return stateMachine.dataHolders();
  }

  /** This node's instruments (tests read the rejection counters). */
  Metrics metrics() {
    return metrics;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (metricsServer != null) {
        metricsServer.close();
      }
    }
    kvsServer.shutdown();
    raftServer.shutdown();
    membership.close();
    node.close();
    snapshotStreamer.close();
    snapshotReceiver.close();
    snapshotChannels.values().forEach(io.grpc.ManagedChannel::shutdownNow);
    transport.close();
    closeTls();
    try {
      // Calls still queued for the stopped loop will never be answered: cancel them (the client
      // sees the call fail, and treats a write as possibly applied) rather than wait them out.
      for (Server s : List.of(kvsServer, raftServer)) {
        if (!s.awaitTermination(500, TimeUnit.MILLISECONDS)) {
          s.shutdownNow();
          s.awaitTermination(2, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    store.close();
  }
}
