package io.raftkv.bench;

import io.raftkv.client.KvClient;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.ServerProcesses;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * raftkv's replacement of a dead node, as docs/operations.md's runbook has it: start the new node
 * with {@code svr --join} (a new id, never reused), then {@code clt member replace}, which adds it
 * as a learner, catches it up (by a snapshot if the log was compacted) and, in one joint change,
 * makes it a voter and removes the dead node; clt returns once that change is committed.
 */
final class RaftkvReplace implements ReplaceCluster {
  private final RaftkvCatchup cluster;
  private final Path svr;
  private final Path clt;
  private final List<String> svrArgs;
  private final int newId;
  private int dead = -1;
  private String clusterId;
  private List<String> raftAddresses;
  private int raftPort;
  private int kvPort;
  private final NewMember<KvClient> member =
      new NewMember<>(() -> RaftkvCatchup.localReader(newEndpoint()));

  RaftkvReplace(Path svr, Path clt, int nodes, boolean keepData, List<String> svrArgs) {
    this.cluster = new RaftkvCatchup(svr, nodes, keepData, svrArgs);
    this.svr = svr;
    this.clt = clt;
    this.svrArgs = List.copyOf(svrArgs);
    this.newId = nodes;
  }

  @Override
  public CatchupCluster cluster() {
    return cluster;
  }

  @Override
  public int newNode() {
    return newId;
  }

  @Override
  public String prepare(int dead) {
    this.dead = dead;
    RaftkvTarget t = cluster.target();
    raftAddresses = new ArrayList<>();
    try (RaftkvAdmin admin = new RaftkvAdmin(t.endpoints())) {
      for (int i = 0; i < t.nodes(); i++) {
        StatusResponse st = admin.status(i, 5000);
        if (st == null) {
          throw new IllegalStateException("raftkv node " + i + " does not answer Status");
        }
        raftAddresses.add(st.getRaftAddress());
        clusterId = st.getClusterId();
      }
    }
    int[] ports = FreePorts.pick(2);
    raftPort = ports[0];
    kvPort = ports[1];
    return "cluster id "
        + clusterId
        + " and the nodes' raft addresses "
        + raftAddresses
        + " from Admin Status (what clt status prints)";
  }

  @Override
  public Replacement replace(long deadlineMillis, Consumer<String> say) throws Exception {
    RaftkvTarget t = cluster.target();
    // Its -r: the old nodes' raft addresses (where to find the cluster), its own at its id.
    List<String> raft = new ArrayList<>(raftAddresses);
    raft.add("127.0.0.1:" + raftPort);
    List<String> kvs = new ArrayList<>(t.endpoints());
    kvs.add(newEndpoint());
    List<String> start = new ArrayList<>();
    start.addAll(
        List.of(
            svr.toString(),
            "-r",
            String.join(",", raft),
            "-i",
            Integer.toString(newId),
            "-p",
            Integer.toString(kvPort),
            "--join",
            "--cluster-id",
            clusterId,
            "--kvs-peers",
            String.join(",", kvs),
            "--data-dir",
            t.nodeDir(newId).toString()));
    start.addAll(svrArgs);
    say.accept("starting node " + newId + " (svr --join)");
    long t0 = Wall.now();
    Process process = Commands.spawn(start, t.nodeDir(0).getParent(), t.logFile(newId));
    member.started(process);
    ServerProcesses.awaitListening(
        "raftkv node " + newId,
        process,
        kvPort,
        Duration.ofMillis(Math.max(1, deadlineMillis - t0)),
        t.logFile(newId));
    Replacement.Step started =
        new Replacement.Step(
            "start the new node (until its KV port listens)",
            Commands.line(start),
            t0,
            Wall.now(),
            1,
            "");

    List<String> survivors = new ArrayList<>(t.endpoints());
    survivors.remove(dead);
    long timeout = Math.max(1000, deadlineMillis - Wall.now());
    List<String> change =
        List.of(
            clt.toString(),
            "member",
            "replace",
            "-s",
            String.join(",", survivors),
            "--id",
            Integer.toString(dead),
            "--new-id",
            Integer.toString(newId),
            "--raft-addr",
            "127.0.0.1:" + raftPort,
            "--kv-addr",
            newEndpoint(),
            "--timeout-ms",
            Long.toString(timeout));
    say.accept("clt member replace --id " + dead + " --new-id " + newId);
    // clt waits its own timeout, then a few seconds for the server's answer.
    Commands.Run run = Commands.run(change, Duration.ofMillis(timeout + 30_000));
    if (!run.ok()) {
      throw new IllegalStateException(
          "raftkv: clt member replace failed, "
              + run.outcome()
              + ServerProcesses.tail(t.logFile(newId)));
    }
    Replacement.Step replaced =
        Replacement.Step.of("clt member replace: learner, catch-up, joint change committed", run);
    return new Replacement(List.of(started, replaced), run.endMillis(), run.endMillis());
  }

  private String newEndpoint() {
    return "127.0.0.1:" + kvPort;
  }

  @Override
  public Optional<byte[]> readNew(byte[] key) throws Exception {
    return member.read(c -> c.directGet(newEndpoint(), key));
  }

  @Override
  public void close() {
    member.close();
    cluster.close();
  }
}
