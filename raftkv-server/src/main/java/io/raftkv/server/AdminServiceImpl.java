package io.raftkv.server;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.ChaosResponse;
import io.raftkv.proto.admin.Counters;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.PeerStatus;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.storage.RocksStore;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Admin service (admin.proto), served on the KV port: Status from the node's published snapshot
 * (the loop's last turn) plus counters and latency percentiles; Chaos sets the transport's faults
 * (only when {@link ChaosGuard} lets the call through: {@code --enable-chaos}); MemberList and
 * ChangeMembership show and change the members ({@link MemberListing}, {@link
 * MembershipChangeRunner}). Who may call the ones that change things is decided before they run
 * ({@link AdminGuard}); each change is logged here with its {@link Caller}.
 *
 * <p>Thread-safety: called on gRPC threads; reads only volatile snapshots and thread-safe counters.
 */
final class AdminServiceImpl extends AdminGrpc.AdminImplBase {
  private static final Logger log = LoggerFactory.getLogger(AdminServiceImpl.class);

  private final RaftNode<?> node;
  private final ServerConfig config;
  private final PeerTransport transport;
  private final Chaos chaos;
  private final Metrics metrics;
  private final KvSnapshots snapshots;
  private final java.util.function.LongSupplier logBytes;
  private final MemberDirectory members;
  private final MembershipChangeRunner membership;
  private final java.util.function.Supplier<? extends java.util.Collection<Integer>> dataHolders;
  private final long startNanos = System.nanoTime();

  AdminServiceImpl(
      RaftNode<?> node,
      ServerConfig config,
      PeerTransport transport,
      Chaos chaos,
      Metrics metrics,
      KvSnapshots snapshots,
      java.util.function.LongSupplier logBytes,
      MemberDirectory members,
      MembershipChangeRunner membership,
      java.util.function.Supplier<? extends java.util.Collection<Integer>> dataHolders) {
    this.node = node;
    this.dataHolders = dataHolders;
    this.config = config;
    this.transport = transport;
    this.chaos = chaos;
    this.metrics = metrics;
    this.snapshots = snapshots;
    this.logBytes = logBytes;
    this.members = members;
    this.membership = membership;
  }

  /** This node's view of the members (a follower's own, naming the leader it knows of). */
  @Override
  public void memberList(MemberListRequest req, StreamObserver<MemberListResponse> out) {
    out.onNext(MemberListing.of(node.status(), members));
    out.onCompleted();
  }

  /**
   * Runs on the membership thread (the wait for a learner to catch up may take minutes): this
   * handler, on a network thread, only hands it over.
   */
  @Override
  public void changeMembership(
      MembershipChangeRequest req, StreamObserver<MembershipChangeResponse> out) {
    io.grpc.Context call = io.grpc.Context.current();
    log.info(
        "node {}: membership change {} asked by {}",
        config.nodeId(),
        com.google.protobuf.TextFormat.shortDebugString(req),
        Caller.current());
    membership.submit(
        req,
        call::isCancelled,
        response -> {
          try {
            out.onNext(response);
            out.onCompleted();
          } catch (RuntimeException e) {
            // The client went away; the change itself is done or stopped.
            log.debug("membership change answer not delivered: {}", e.toString());
          }
        });
  }

  /**
   * A backup: ReadIndex on the node's loop (only a leader that still leads answers OK), then a
   * point-in-time image of the state machine as of its applied index, which includes every write
   * committed before the call; streamed from another thread, paced by the call's readiness.
   */
  @Override
  public void saveSnapshot(
      io.raftkv.proto.admin.SaveSnapshotRequest req,
      StreamObserver<io.raftkv.proto.snapshot.SnapshotChunk> out) {
    io.grpc.stub.ServerCallStreamObserver<io.raftkv.proto.snapshot.SnapshotChunk> call =
        (io.grpc.stub.ServerCallStreamObserver<io.raftkv.proto.snapshot.SnapshotChunk>) out;
    Object ready = SnapshotStreamer.onReady(call);
    log.info("node {}: backup snapshot asked by {}", config.nodeId(), Caller.current());
    node.execute(
        rt ->
            rt.read(
                outcome -> {
                  if (outcome.kind() != io.raftkv.node.Outcome.Kind.OK) {
                    int leader = outcome.leaderId();
                    call.onError(
                        io.grpc.Status.FAILED_PRECONDITION
                            .withDescription(
                                "not the leader"
                                    + (leader >= 0
                                        ? "; the leader is node "
                                            + leader
                                            + " at "
                                            + config.kvsAddressOf(leader)
                                        : ""))
                            .asRuntimeException());
                    return;
                  }
                  // Answered once the read point is applied: the image is taken right now.
                  KvSnapshots.Image image = (KvSnapshots.Image) rt.openSnapshot();
                  Thread t =
                      new Thread(
                          () -> SnapshotStreamer.serve(image, call, ready), "snapshot-backup");
                  t.setDaemon(true);
                  t.start();
                }));
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    if (req.getResetLatencies() && !req.getBrief()) {
      log.info("node {}: latencies reset by {}", config.nodeId(), Caller.current());
    }
    out.onNext(req.getBrief() ? brief() : status(req.getResetLatencies()));
    out.onCompleted();
  }

  /** Identity, role, term, leader and indexes only (StatusRequest.brief). */
  StatusResponse brief() {
    return header(node.status()).build();
  }

  StatusResponse status(boolean resetLatencies) {
    RaftStatus s = node.status();
    StatusResponse.Builder b = header(s);
    long sent = 0;
    long received = 0;
    long dropped = 0;
    for (Map.Entry<Integer, PeerAddress> e : config.raftPeersById().entrySet()) {
      int id = e.getKey();
      if (id == config.nodeId()) {
        continue;
      }
      PeerStatus.Builder p =
          PeerStatus.newBuilder()
              .setId(id)
              .setRaftAddress(e.getValue().toString())
              .setMessagesSent(transport.sentCount(id))
              .setMessagesDroppedQueue(transport.droppedCount(id))
              .setFault(fault(id, chaos.fault(id)));
      RaftStatus.PeerProgress pr = s.peers().get(id);
      if (pr != null) {
        p.setMatchIndex(pr.matchIndex())
            .setNextIndex(pr.nextIndex())
            .setReplicating(pr.replicating())
            .setInflight(pr.inflight())
            .setPendingSnapshot(pr.pendingSnapshot());
      }
      Chaos.PeerCounters c = chaos.counters(id);
      if (c != null) {
        p.setMessagesReceived(c.received.sum())
            .setMessagesDroppedChaosIn(c.droppedIn.sum())
            .setMessagesDroppedChaosOut(c.droppedOut.sum());
      }
      b.addPeers(p);
      sent += p.getMessagesSent();
      received += p.getMessagesReceived();
      dropped +=
          p.getMessagesDroppedQueue()
              + p.getMessagesDroppedChaosOut()
              + p.getMessagesDroppedChaosIn();
    }
    Counters.Builder counters =
        Counters.newBuilder()
            .setProposals(metrics.proposals.sum())
            .setReadBarriers(metrics.readBarriers.sum())
            .setLogSyncs(metrics.logSyncs.sum())
            .setEntriesPersisted(metrics.entriesPersisted.sum())
            .setEntriesApplied(metrics.entriesApplied.sum())
            .setMessagesSent(sent)
            .setMessagesReceived(received)
            .setMessagesDropped(dropped);
    for (Metrics.Rejection why : Metrics.Rejection.values()) {
      counters.putPeerMessagesRejected(why.label, metrics.rejectedCount(why));
    }
    b.setCounters(counters);
    b.addAllLatencies(metrics.latencies(resetLatencies));
    RocksStore.LastSnapshot last = snapshots.last();
    if (last != null) {
      b.setSnapshot(
          io.raftkv.proto.admin.SnapshotStatus.newBuilder()
              .setIndex(last.header().getMeta().getIndex())
              .setTerm(last.header().getMeta().getTerm())
              .setBytes(Math.max(0, last.bytes()))
              .setTakenAtMillis(last.header().getTakenAtMillis()));
    }
    b.setLogBytes(Math.max(0, logBytes.getAsLong()));
    b.addAllDataHolders(dataHolders.get());
    return b.build();
  }

  private StatusResponse.Builder header(RaftStatus s) {
    return StatusResponse.newBuilder()
        .setId(s.id())
        .setClusterId(config.clusterId())
        .setRole(role(s.role()))
        .setTerm(s.term())
        .setVotedFor(s.votedFor() == RaftConfig.NONE ? -1 : s.votedFor())
        .setLeaderId(s.leaderId() == RaftConfig.NONE ? -1 : s.leaderId())
        .setLeaderAddress(config.kvsAddressOf(s.leaderId()))
        .setCommitIndex(s.commitIndex())
        .setAppliedIndex(s.appliedIndex())
        // The log starts after its snapshot (§7).
        .setFirstIndex(s.snapshotIndex() + 1)
        .setLastIndex(s.lastIndex())
        .setLastTerm(s.lastTerm())
        .setStableIndex(s.stableIndex())
        .setPendingReads(s.pendingReads())
        .setKvAddress(config.kvsHost() + ":" + config.kvsPort())
        .setRaftAddress(config.raftAddress().toString())
        .setUptimeMillis(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
  }

  @Override
  public void chaos(ChaosRequest req, StreamObserver<ChaosResponse> out) {
    Map<Integer, Chaos.Fault> changes = new LinkedHashMap<>();
    Map<Integer, Chaos.Fault> now;
    try {
      for (PeerFault f : req.getFaultsList()) {
        if (changes.put(
                f.getPeerId(),
                new Chaos.Fault(
                    f.getDropOut(),
                    f.getDropIn(),
                    Integer.toUnsignedLong(f.getDelayMs()),
                    f.getCut()))
            != null) {
          throw new IllegalArgumentException("peer " + f.getPeerId() + " is given twice");
        }
      }
      now = chaos.apply(req.getReset(), changes);
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    if (req.getReset() || !changes.isEmpty()) {
      log.info(
          "node {}: chaos faults now {} (set by {})",
          config.nodeId(),
          now.isEmpty() ? "none" : now,
          Caller.current());
    }
    ChaosResponse.Builder b = ChaosResponse.newBuilder();
    now.forEach((id, f) -> b.addFaults(fault(id, f)));
    out.onNext(b.build());
    out.onCompleted();
  }

  private static PeerFault fault(int id, Chaos.Fault f) {
    return PeerFault.newBuilder()
        .setPeerId(id)
        .setDropOut(f.dropOut())
        .setDropIn(f.dropIn())
        .setDelayMs((int) Math.min(f.delayMillis(), 0xFFFFFFFFL))
        .setCut(f.cut())
        .build();
  }

  private static Role role(io.raftkv.raft.Role r) {
    return switch (r) {
      case FOLLOWER -> Role.FOLLOWER;
      case PRE_CANDIDATE -> Role.PRE_CANDIDATE;
      case CANDIDATE -> Role.CANDIDATE;
      case LEADER -> Role.LEADER;
    };
  }
}
