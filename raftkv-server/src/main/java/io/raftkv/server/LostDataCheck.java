package io.raftkv.server;

import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.ManagedChannel;
import io.raftkv.proto.raft.DataHolderAnswer;
import io.raftkv.proto.raft.DataHolderQuery;
import io.raftkv.proto.raft.RaftTransportGrpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up half of lost-data detection: a node whose data directory is empty asks its peers,
 * before it takes any part in the cluster, whether their state machines record it as a member that
 * has held data (kvs.proto's RecordDataHolders, which the leader proposes for every member that
 * acknowledged entries, {@link DataHolderRecorder}). If one does, the directory was wiped: the node
 * forgot its votes and the entries it acknowledged, and rejoining as itself could elect a leader
 * without committed entries (§5.4) before any leader's append reveals the loss ({@link
 * io.raftkv.raft.DataLossException} covers that later case). It stops instead and must be replaced
 * as a new member.
 *
 * <p>etcd does the same at bootstrap ("member %s has already been bootstrapped": its peers' view of
 * the cluster shows the member published its attributes through the log). Like etcd's, the check is
 * best effort: peers that do not answer within {@link #DEADLINE_MILLIS} (a cluster starting for the
 * first time, nodes down) count as not knowing, so a wiped node that starts while every node that
 * applied its record is unreachable is not caught here.
 */
final class LostDataCheck {
  private static final Logger log = LoggerFactory.getLogger(LostDataCheck.class);

  /**
   * How long the peers get to answer, all at once. A peer that is down costs nothing (the
   * connection is refused at once); only a running peer that is slow to answer is waited for, and
   * an overloaded machine needs seconds (2 s let a wiped node through in a CI run at load 27).
   */
  static final long DEADLINE_MILLIS = 10_000;

  /** A peer records this node as a data holder, but its data directory is empty. */
  static final class DataLostException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DataLostException(String message) {
      super(message);
    }
  }

  private LostDataCheck() {}

  /**
   * Asks the peers when {@code config}'s data directory is empty (a first start, or lost data);
   * returns at once otherwise.
   *
   * @throws DataLostException a peer records that this node has held data
   */
  static void run(ServerConfig config, PeerChannels channels) {
    if (!isEmptyDirectory(config.dataDir())) {
      return;
    }
    Optional<DataHolderAnswer> known = ask(config, channels);
    if (known.isPresent()) {
      DataHolderAnswer a = known.get();
      throw new DataLostException(
          "node "
              + config.nodeId()
              + " lost its data: node "
              + a.getAnsweringId()
              + " records that node "
              + config.nodeId()
              + " has held the cluster's data (as of its applied index "
              + a.getAppliedIndex()
              + "), but its data directory "
              + config.dataDir()
              + " is empty; it must not rejoin as itself: replace it as a new member"
              + " (clt member replace)");
    }
  }

  /** The first answer that records this node as a data holder, if any peer gives one in time. */
  private static Optional<DataHolderAnswer> ask(ServerConfig config, PeerChannels channels) {
    DataHolderQuery query = DataHolderQuery.newBuilder().setNodeId(config.nodeId()).build();
    List<ManagedChannel> opened = new ArrayList<>();
    Map<Integer, ListenableFuture<DataHolderAnswer>> answers = new TreeMap<>();
    try {
      // All at once (the calls are asynchronous), so the wait is one deadline, not one per peer.
      for (Map.Entry<Integer, PeerAddress> peer : config.raftPeersById().entrySet()) {
        if (peer.getKey() == config.nodeId()) {
          continue;
        }
        ManagedChannel channel = channels.open(peer.getKey(), peer.getValue(), 1 << 16);
        opened.add(channel);
        answers.put(
            peer.getKey(),
            RaftTransportGrpc.newFutureStub(channel)
                .withDeadlineAfter(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)
                .checkDataHolder(query));
      }
      for (Map.Entry<Integer, ListenableFuture<DataHolderAnswer>> a : answers.entrySet()) {
        try {
          DataHolderAnswer answer = a.getValue().get();
          if (answer.getHeldData()) {
            return Optional.of(answer);
          }
        } catch (ExecutionException e) {
          // Down, not started yet, or an older build: it cannot tell us anything.
          log.debug("node {} could not ask node {}: {}", config.nodeId(), a.getKey(), e.getCause());
        }
      }
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while asking the peers", e);
    } finally {
      opened.forEach(ManagedChannel::shutdownNow);
    }
  }

  /** Whether {@code dir} does not exist or holds nothing (what a first start looks like). */
  static boolean isEmptyDirectory(Path dir) {
    if (!Files.exists(dir)) {
      return true;
    }
    if (!Files.isDirectory(dir)) {
      return false; // RocksStore.open says what is wrong with it
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    } catch (IOException e) {
      return false; // idem
    }
  }
}
