package io.raftkv.sim.kv;

import io.raftkv.client.retry.RetryPolicy;
import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.HistoryRecorder;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvModel;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.node.Compaction;
import io.raftkv.node.KvService;
import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.sim.ClusterObserver;
import io.raftkv.sim.SafetyCheckers;
import io.raftkv.sim.SimApp;
import io.raftkv.sim.SimCluster;
import io.raftkv.sim.SimConfig;
import io.raftkv.sim.SimSnapshot;
import io.raftkv.sim.Violation;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.MemoryKvEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A simulated raftkv cluster with clients: every node runs the server's {@link NodeRuntime}, its
 * {@link KvStateMachine} (over the in-memory engine instead of RocksDB) and its {@link KvService};
 * every client ({@link SimKvClient}) routes and retries with {@link io.raftkv.client.KvClient}'s
 * own {@link RetryPolicy} over simulated client links. Only the transports and the clock are
 * simulated. Every operation is recorded on simulated time for the linearizability checker, and the
 * simulator's safety checkers watch every event.
 *
 * <p>Client links: a request reaches a live node in the same millisecond (0-26 ms when unreliable);
 * when unreliable, one request in ten and one reply in ten are lost, and the client hears of it as
 * a failed call after up to 100 ms, as the labs' RPCs do; a node that is down or cut off from the
 * client fails the call likewise, and a crash fails the calls in flight to it at once (the
 * connection resets). A node restarted after a crash gets its state machine from its last snapshot
 * (empty without one) and re-applies the log after it.
 *
 * <p>Thread-safety: none; one simulation thread.
 */
public final class SimKvCluster implements AutoCloseable {
  /** The labs' timings: a 10 ms tick, a 100 ms heartbeat, 300-600 ms election timeouts. */
  public static final long TICK_MS = 10;

  public static final long HEARTBEAT_MS = 100;

  /** The labs' electionTimeout: the time a test allows for an election. */
  public static final long ELECTION_TIMEOUT_MS = 1000;

  /** How long a client waits for one attempt before trying another node. */
  public static final long ATTEMPT_TIMEOUT_MS = 500;

  /** The largest key and value the simulated servers accept. */
  static final KvService.Limits LIMITS = new KvService.Limits(1024, 1 << 20);

  /** Handles one client request at a node; the real one calls the node's {@link KvService}. */
  public interface RequestHandler {
    void handle(KvService service, Object request, Consumer<KvResponse> reply);
  }

  /**
   * Settings of a simulated KV cluster.
   *
   * @param config nodes, tick and core settings
   * @param clientPolicy how clients retry (the overall deadline bounds every operation)
   * @param requestTimeoutMillis the servers' request timeout
   * @param leaderHint the node started with {@code --leader} (it campaigns at every start until a
   *     leader is known), or -1
   * @param startupGraceMillis the start-up grace of the other nodes (0: none)
   */
  public record Settings(
      SimConfig config,
      RetryPolicy clientPolicy,
      long requestTimeoutMillis,
      int leaderHint,
      long startupGraceMillis) {

    /** No start-up hint or grace. */
    public Settings(SimConfig config, RetryPolicy clientPolicy, long requestTimeoutMillis) {
      this(config, clientPolicy, requestTimeoutMillis, -1, 0);
    }
  }

  private final SimCluster cluster;
  private final SplittableRandom random;
  private final long seed;
  private final Settings settings;
  private final HistoryRecorder<KvInput, KvOutput> recorder;
  private final KvStateMachine[] machines;

  /** Each node's engine under its state machine (snapshots copy and replace it). */
  private final MemoryKvEngine[] engines;

  private final KvService[] services;
  private final SafetyCheckers safety;
  private final List<SimKvClient> clients = new ArrayList<>();
  private boolean unreliable;
  private RequestHandler handler = SimKvCluster::serve;
  private boolean sessionsBroken;

  /** Attempts clients made after an earlier attempt of the same operation failed. */
  int retries;

  /** The labs' kvraft setup: {@code servers} nodes with the labs' timings, no snapshots. */
  public static SimKvCluster course(int servers, boolean unreliable, long seed) {
    return course(servers, unreliable, seed, Compaction.OFF);
  }

  /**
   * The labs' kvraft setup whose servers snapshot and compact their logs as {@code compaction} says
   * (3B).
   */
  public static SimKvCluster course(
      int servers, boolean unreliable, long seed, Compaction compaction) {
    List<Integer> voters = new ArrayList<>();
    for (int i = 0; i < servers; i++) {
      voters.add(i);
    }
    // As LabHarness: heartbeat every 100 ms, election timeout 300-600 ms.
    RaftConfig raft =
        RaftConfig.defaults(0, voters)
            .withElectionTimeout(30, 60)
            .withHeartbeat((int) (HEARTBEAT_MS / TICK_MS));
    // The labs' clerks retry until they succeed: a deadline far beyond any test.
    RetryPolicy clients =
        new RetryPolicy(
            Duration.ofHours(1).toNanos(),
            Duration.ofMillis(ATTEMPT_TIMEOUT_MS).toNanos(),
            Duration.ofMillis(10).toNanos(),
            Duration.ofMillis(HEARTBEAT_MS).toNanos());
    SimKvCluster h =
        new SimKvCluster(
            new Settings(new SimConfig(servers, TICK_MS, raft, compaction), clients, 400), seed);
    h.setUnreliable(unreliable);
    return h;
  }

  public SimKvCluster(Settings settings, long seed) {
    this.seed = seed;
    this.settings = settings;
    int n = settings.config().nodes();
    this.random = new SplittableRandom(seed ^ 0x3A3A3AL);
    this.machines = new KvStateMachine[n];
    this.engines = new MemoryKvEngine[n];
    this.services = new KvService[n];
    this.cluster = new SimCluster(settings.config(), seed, new App());
    this.recorder = new HistoryRecorder<>(this::historyTime);
    this.safety = SafetyCheckers.attach(cluster);
    cluster.addObserver(
        new ClusterObserver() {
          @Override
          public void crashed(long time, int node) {
            services[node] = null;
            for (SimKvClient c : clients) {
              c.nodeCrashed(node);
            }
          }
        });
  }

  /**
   * The history's clock: simulated time in nanoseconds, made strictly increasing within a
   * millisecond, since events of one millisecond happen in the order the simulator runs them (an
   * operation that returned before another was called in the same millisecond precedes it).
   */
  private long historyTime() {
    lastHistoryTime = Math.max(cluster.now() * 1_000_000L, lastHistoryTime + 1);
    return lastHistoryTime;
  }

  private long lastHistoryTime;

  /** The server side of every node: the KV state machine and the service over the runtime. */
  private final class App implements SimApp {
    @Override
    public NodeRuntime.StateMachine<?> newStateMachine(int node, Object image) {
      MemoryKvEngine engine =
          image == null ? new MemoryKvEngine() : ((MemoryKvEngine) image).copy();
      engines[node] = engine;
      KvStateMachine sm = new KvStateMachine(engine, KvStateMachine.Options.defaults());
      machines[node] = sm;
      return (NodeRuntime.StateMachine<KvStateMachine.Applied>)
          entries -> sm.apply(entries).results();
    }

    /** The state machine's data and sessions, copied (a point-in-time image). */
    @Override
    public Object capture(int node) {
      return engines[node].copy();
    }

    /** A snapshot installed: the same state machine (the service holds it) with the new data. */
    @Override
    public void restore(int node, Object image) {
      engines[node].replaceWith((MemoryKvEngine) image);
      machines[node].reload();
    }

    @Override
    @SuppressWarnings("unchecked") // newStateMachine made it a runtime of Applied results
    public void started(int node, NodeRuntime<?> runtime) {
      // The server's start-up policy, as svr applies it at every start.
      if (node == settings.leaderHint()) {
        runtime.campaignUntilLeaderKnown(
            10 * settings.config().maxElectionMillis() * 1_000_000L + 10_000_000_000L);
      } else if (settings.startupGraceMillis() > 0) {
        runtime.holdElections(settings.startupGraceMillis() * 1_000_000L);
      }
      services[node] =
          new KvService(
              (NodeRuntime<KvStateMachine.Applied>) runtime,
              machines[node],
              LIMITS,
              SimKvCluster::address,
              new KvService.Clock() {
                @Override
                public long wallMillis() {
                  return cluster.now();
                }

                @Override
                public long nanos() {
                  return cluster.now() * 1_000_000L;
                }
              },
              new KvService.Probe() {});
    }

    @Override
    public long requestTimeoutMillis(long maxElectionMillis) {
      return settings.requestTimeoutMillis();
    }
  }

  /** The client address of node {@code id} (what NOT_LEADER hints name). */
  static String address(int id) {
    return "n" + id;
  }

  static int nodeOf(String address) {
    return Integer.parseInt(address.substring(1));
  }

  // ---------------------------------------------------------------- requests at the servers

  /** The real request path: the node's KvService. */
  private static void serve(KvService service, Object request, Consumer<KvResponse> reply) {
    if (request instanceof io.raftkv.proto.kvs.PutRequest r) {
      service.put(r, reply);
    } else if (request instanceof io.raftkv.proto.kvs.AppendRequest r) {
      service.append(r, reply);
    } else if (request instanceof io.raftkv.proto.kvs.DeleteRequest r) {
      service.delete(r, reply);
    } else if (request instanceof GetRequest r) {
      service.get(r, reply);
    } else if (request instanceof io.raftkv.proto.kvs.RegisterClientRequest r) {
      service.registerClient(r, reply);
    } else {
      reply.accept(service.directGet((DirectGetRequest) request));
    }
  }

  /**
   * For the harness's own tests only (a check that cannot fail proves nothing): GETs served from
   * the local state of whichever node receives them, without ReadIndex, as a server reading from
   * followers would.
   */
  public void breakReadsForTesting() {
    handler =
        (service, request, reply) -> {
          if (request instanceof GetRequest g) {
            reply.accept(
                service.directGet(DirectGetRequest.newBuilder().setKey(g.getKey()).build()));
          } else {
            serve(service, request, reply);
          }
        };
  }

  /**
   * For the harness's own tests only: every snapshot a leader sends loses its user keys (its
   * applied index and sessions stay), as a snapshot writer that forgot a column family would.
   */
  public void breakSnapshotsForTesting() {
    cluster.tamperWithSnapshotsForTesting(
        s -> {
          MemoryKvEngine empty = new MemoryKvEngine();
          MemoryKvEngine full = (MemoryKvEngine) s.appImage();
          empty.replaceMetaWith(full);
          return new SimSnapshot(s.meta(), s.entries(), empty);
        });
  }

  /**
   * For the harness's own tests only: every retry of a write is sent without a session (client id
   * 0), as a client that forgets exactly-once would, so a retried write whose first attempt was
   * applied applies again.
   */
  public void breakSessionsForTesting() {
    sessionsBroken = true;
  }

  boolean sessionsBroken() {
    return sessionsBroken;
  }

  /** Delivers {@code request} to node {@code node}'s service; false if the node is down. */
  boolean deliver(int node, Object request, Consumer<KvResponse> reply) {
    if (services[node] == null) {
      return false;
    }
    return cluster.submit(
        node,
        rt -> {
          // The instance may have been replaced while the request waited (a paused node).
          KvService service = services[node];
          if (service != null) {
            handler.handle(service, request, reply);
          }
        });
  }

  // ---------------------------------------------------------------- clients

  public SimKvClient makeClient() {
    SimKvClient c = new SimKvClient(this, clients.size(), random.split());
    clients.add(c);
    return c;
  }

  // ---------------------------------------------------------------- accessors

  public SimCluster cluster() {
    return cluster;
  }

  public SplittableRandom random() {
    return random;
  }

  public int size() {
    return cluster.size();
  }

  public long seed() {
    return seed;
  }

  public Settings settings() {
    return settings;
  }

  public HistoryRecorder<KvInput, KvOutput> recorder() {
    return recorder;
  }

  /** Attempts clients made after an earlier attempt of the same operation failed. */
  public int retries() {
    return retries;
  }

  public boolean unreliable() {
    return unreliable;
  }

  /** Node {@code i}'s current state machine (read only), or the last one it had. */
  public KvStateMachine machine(int i) {
    return machines[i];
  }

  /**
   * The labs' LogSize: the largest persisted Raft log of any node, up or down, in serialized bytes
   * after the point it was compacted to (§7).
   */
  public long logSize() {
    long max = 0;
    for (int i = 0; i < size(); i++) {
      max = Math.max(max, cluster.retainedLogBytes(i));
    }
    return max;
  }

  /**
   * The labs' SnapshotSize: the largest durable snapshot of any node, as the bytes of its state
   * machine image (user data and client sessions, {@link MemoryKvEngine#imageBytes}); 0 if none.
   */
  public long snapshotSize() {
    long max = 0;
    for (int i = 0; i < size(); i++) {
      SimSnapshot s = cluster.snapshot(i);
      if (s != null) {
        max = Math.max(max, ((MemoryKvEngine) s.appImage()).imageBytes());
      }
    }
    return max;
  }

  public void setUnreliable(boolean on) {
    unreliable = on;
    cluster.setUnreliable(on);
  }

  // ---------------------------------------------------------------- time

  /** Runs until {@code cond} holds or {@code maxMs} pass; fails at once on a safety violation. */
  public boolean runUntil(BooleanSupplier cond, long maxMs) {
    boolean held =
        cluster.runUntil(
            () -> {
              failFast();
              return cond.getAsBoolean();
            },
            maxMs);
    failFast();
    return held;
  }

  public void sleep(long ms) {
    runUntil(() -> false, ms);
  }

  /**
   * Runs {@code op} on {@code client} to completion (within {@code maxMs}), as the labs' Put/Get.
   *
   * @throws AssertionError if it does not complete, or ends without a definite answer
   */
  public KvOutput call(SimKvClient client, KvInput op, long maxMs) {
    int before = client.completed();
    client.start(op);
    if (!runUntil(() -> client.completed() > before, maxMs)) {
      throw new AssertionError(
          op + " by client " + client.id() + " did not complete in " + maxMs + " ms" + replay());
    }
    if (client.lastOutput() == null) {
      throw new AssertionError(
          op + " by client " + client.id() + " failed: " + client.lastError() + replay());
    }
    return client.lastOutput();
  }

  public KvOutput call(SimKvClient client, KvInput op) {
    return call(client, op, 30_000);
  }

  // ---------------------------------------------------------------- faults

  /** Splits the servers into two groups (the labs' partition). */
  public void partition(int[] a, int[] b) {
    cluster.partition(a, b);
  }

  public void connectAll() {
    cluster.heal();
  }

  public void crashAll() {
    for (int i = 0; i < size(); i++) {
      cluster.crash(i);
    }
  }

  public void restartAll() {
    for (int i = 0; i < size(); i++) {
      cluster.restart(i);
    }
  }

  // ---------------------------------------------------------------- checks

  public CheckResult checkLinearizable() {
    return LinearizabilityChecker.withBudget(Duration.ofSeconds(20))
        .check(new KvModel(), recorder.history());
  }

  /** Safety violations seen so far. */
  public List<Violation> violations() {
    return safety.violations();
  }

  /** The seed and every node's state, for failure messages. */
  public String replay() {
    StringBuilder sb =
        new StringBuilder(" (replay: seed " + seed + ") at " + cluster.now() + " ms:");
    for (int i = 0; i < size(); i++) {
      Raft r = cluster.raft(i);
      sb.append("\n  node ").append(i).append(' ').append(r == null ? "down" : r.status());
      sb.append(" applied ").append(machines[i].appliedIndex());
    }
    return sb.toString();
  }

  private void failFast() {
    List<Violation> v = safety.violations();
    if (!v.isEmpty()) {
      throw new AssertionError(v.get(0) + replay());
    }
  }

  @Override
  public void close() {
    failFast();
  }
}
