package io.raftkv.server;

import io.raftkv.node.NodeRuntime;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Nodes of the server's own loop ({@link RaftNode} around a {@link NodeRuntime}) in this JVM, each
 * on its thread and the real clock, with messages handed from loop to loop: no gRPC and no disk, so
 * that members can be added before the peer transport knows how to reach new addresses. Ids {@code
 * 0..voters-1} form the first configuration; the spares after them start with none (as {@code svr
 * --join} will) and get the log once added. A node in {@link #down} neither sends nor receives.
 *
 * <p>Each first member has a {@link MemberDirectory} built as svr builds it: raft address
 * 127.0.0.1:(10000 + id) from {@code -r}, KV address 127.0.0.1:(20000 + id) from {@code
 * --kvs-peers}.
 */
final class LoopbackCluster implements AutoCloseable {
  static final long TICK_MILLIS = 10;

  private final Map<Integer, RaftNode<String>> nodes = new TreeMap<>();
  private final Map<Integer, MemberDirectory> directories = new TreeMap<>();
  final Set<Integer> down = ConcurrentHashMap.newKeySet();

  LoopbackCluster(int voters, int spares) {
    List<Integer> first = new ArrayList<>();
    for (int i = 0; i < voters; i++) {
      first.add(i);
    }
    for (int id = 0; id < voters + spares; id++) {
      // Elections of 300-600 ms: a loaded machine must not hold one in the middle of a test.
      RaftConfig config =
          RaftConfig.defaults(id, id < voters ? first : List.of())
              .withElectionTimeout(30, 60)
              .withHeartbeat(3);
      Raft raft = new Raft(config, new SplittableRandom(id), PersistentState.empty());
      MemberDirectory directory =
          id < voters ? new MemberDirectory(serverConfig(id, voters), raft.configuration()) : null;
      int self = id;
      NodeRuntime<String> runtime =
          new NodeRuntime<>(
              raft,
              0,
              (hardState, entries, sync) -> {},
              messages -> deliver(self, messages),
              entries -> Collections.nCopies(entries.size(), ""),
              new NodeRuntime.Timing(
                  TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS), TimeUnit.SECONDS.toNanos(5)),
              new NodeRuntime.Listener() {
                @Override
                public void configurationChanged(ConfState configuration) {
                  if (directory != null) {
                    directory.update(configuration);
                  }
                }
              },
              System.nanoTime(),
              System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS));
      if (id == 0) {
        runtime.campaignUntilLeaderKnown(TimeUnit.SECONDS.toNanos(30));
      }
      RaftNode<String> node =
          new RaftNode<>(
              runtime, e -> System.err.println("node " + self + " stopped: " + e.toString()));
      nodes.put(id, node);
      if (directory != null) {
        directories.put(id, directory);
      }
    }
    nodes.values().forEach(RaftNode::start);
  }

  /** Node {@code id}'s command line as svr would read it. */
  private static ServerConfig serverConfig(int id, int voters) {
    List<String> raft = new ArrayList<>();
    List<String> kvs = new ArrayList<>();
    for (int i = 0; i < voters; i++) {
      raft.add("127.0.0.1:" + raftPort(i));
      kvs.add("127.0.0.1:" + kvPort(i));
    }
    SvrMain svr = new SvrMain();
    new picocli.CommandLine(svr)
        .parseArgs(
            "-r",
            String.join(",", raft),
            "--kvs-peers",
            String.join(",", kvs),
            "-i",
            Integer.toString(id),
            "-p",
            Integer.toString(kvPort(id)));
    return svr.toConfig();
  }

  static int raftPort(int id) {
    return 10_000 + id;
  }

  static int kvPort(int id) {
    return 20_000 + id;
  }

  private void deliver(int from, List<RaftMessage> messages) {
    if (down.contains(from)) {
      return;
    }
    for (RaftMessage m : messages) {
      RaftNode<String> to = nodes.get(m.getTo());
      if (to != null && !down.contains(m.getTo())) {
        to.execute(rt -> rt.receive(m));
      }
    }
  }

  RaftNode<String> node(int id) {
    return nodes.get(id);
  }

  MemberDirectory directory(int id) {
    return directories.get(id);
  }

  /** The one node that leads (waiting up to 30 s for it). */
  int awaitLeader() throws InterruptedException {
    int[] leader = {-1};
    await(
        "a leader",
        () -> {
          for (Map.Entry<Integer, RaftNode<String>> e : nodes.entrySet()) {
            if (e.getValue().status().role() == Role.LEADER && !down.contains(e.getKey())) {
              leader[0] = e.getKey();
              return true;
            }
          }
          return false;
        });
    return leader[0];
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  @Override
  public void close() {
    nodes.values().forEach(RaftNode::close);
  }
}
