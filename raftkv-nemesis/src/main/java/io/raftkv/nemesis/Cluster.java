package io.raftkv.nemesis;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
import io.raftkv.proto.admin.MembershipChangeStatus;
import io.raftkv.proto.admin.MembershipOp;
import io.raftkv.proto.admin.PeerFault;
import io.raftkv.proto.admin.Role;
import io.raftkv.proto.admin.StatusRequest;
import io.raftkv.proto.admin.StatusResponse;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.ServerProcesses;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A cluster of real {@code build/dev/svr} processes on loopback (free ports, data under one
 * directory) that the nemesis can kill -9, restart, SIGSTOP and SIGCONT, replace by new members
 * (chapter 4 of the dissertation), and whose Admin service (Status, Chaos, membership) it calls
 * over gRPC. Not thread-safe: the nemesis thread alone drives it.
 *
 * <p>Every method takes a node's <em>position</em> 0..size-1, which stays the same while the node
 * at it is replaced: {@link #id} gives the member id at a position (at first equal to it; a
 * replacement gets a new id, since ids are never reused).
 */
final class Cluster implements AutoCloseable {
  /** svr JVM options unless RAFTKV_SVR_JAVA_OPTS is set: several JVMs share few cores here. */
  static final String SVR_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx384m";

  /** The cluster id every node is started with (a node that joins needs it). */
  static final String CLUSTER_ID = "nemesis";

  /** How many replacements a run may make: new members take ids size..size+SPARE_IDS-1. */
  static final int SPARE_IDS = 64;

  private final Path svr;
  private final Path dir;
  private final int size;

  // By node id (0..size+SPARE_IDS-1).
  private final int[] raftPorts;
  private final int[] kvsPorts;
  private final Process[] processes;
  private final boolean[] paused;
  private final ManagedChannel[] admin;

  /** The member id at each position. */
  private final int[] idAt;

  private int nextId;
  private final List<String> svrFlags;

  /**
   * @param svrFlags flags added to every node's command line (the snapshot policy, say)
   */
  Cluster(Path svr, Path dir, int size, List<String> svrFlags) {
    if (!Files.isExecutable(svr)) {
      throw new IllegalStateException(
          svr + " not found or not executable: build raftkv first (mvn package)");
    }
    this.svr = svr;
    this.dir = dir;
    this.size = size;
    this.svrFlags = List.copyOf(svrFlags);
    int ids = size + SPARE_IDS;
    int[] ports = FreePorts.pick(2 * ids);
    this.raftPorts = Arrays.copyOfRange(ports, 0, ids);
    this.kvsPorts = Arrays.copyOfRange(ports, ids, 2 * ids);
    this.processes = new Process[ids];
    this.paused = new boolean[ids];
    this.admin = new ManagedChannel[ids];
    this.idAt = new int[size];
    for (int i = 0; i < size; i++) {
      idAt[i] = i;
    }
    this.nextId = size;
  }

  /** The member id of the node at {@code position}. */
  int id(int position) {
    return idAt[position];
  }

  /** The position of member {@code id}, or -1 if it is no longer (or never was) a member. */
  int positionOf(int id) {
    for (int p = 0; p < size; p++) {
      if (idAt[p] == id) {
        return p;
      }
    }
    return -1;
  }

  private ManagedChannel admin(int id) {
    if (admin[id] == null) {
      admin[id] = OkHttpChannelBuilder.forAddress("127.0.0.1", kvsPorts[id]).usePlaintext().build();
    }
    return admin[id];
  }

  int size() {
    return size;
  }

  Path dir() {
    return dir;
  }

  /** The KV ("host:port") address of the node at position i. */
  String endpoint(int i) {
    return "127.0.0.1:" + kvsPorts[idAt[i]];
  }

  /** The raft ("host:port") address of the node at position i. */
  String raftEndpoint(int i) {
    return "127.0.0.1:" + raftPorts[idAt[i]];
  }

  List<String> endpoints() {
    List<String> e = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      e.add(endpoint(i));
    }
    return e;
  }

  Path log(int i) {
    return logOf(idAt[i]);
  }

  private Path logOf(int id) {
    return dir.resolve("node-" + id + ".log");
  }

  /** The data directory of the node at position i. */
  Path dataDir(int i) {
    return dir.resolve("node-" + idAt[i]);
  }

  /** The size of node i's log file (where a later {@link #logSince} starts), 0 if none. */
  long logSize(int i) {
    try {
      return Files.exists(log(i)) ? Files.size(log(i)) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /** Node i's log lines written after {@code offset} (a {@link #logSize}). */
  List<String> logSince(int i, long offset) {
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(log(i).toFile(), "r")) {
      long length = f.length();
      if (offset >= length) {
        return List.of();
      }
      byte[] b = new byte[(int) (length - offset)];
      f.seek(offset);
      f.readFully(b);
      String text = new String(b, java.nio.charset.StandardCharsets.UTF_8);
      return List.of(text.split("\n"));
    } catch (IOException e) {
      return List.of();
    }
  }

  /** Starts every node and waits until each listens. */
  void startAll(Duration limit) {
    for (int i = 0; i < size; i++) {
      start(i);
    }
    for (int i = 0; i < size; i++) {
      awaitListening(i, limit);
    }
  }

  /** Starts the node at position i on its data directory (a restart keeps its data). */
  void start(int i) {
    launch(idAt[i]);
  }

  /**
   * Starts member {@code id}: a first member lists the first configuration's raft ports in -r; a
   * member added later lists ids 0..id and starts with --join (ignored once it has recorded a
   * configuration).
   */
  private void launch(int id) {
    boolean joined = id >= size;
    int listed = joined ? id + 1 : size;
    String raftList =
        Arrays.stream(raftPorts, 0, listed)
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(","));
    String kvsList =
        Arrays.stream(kvsPorts, 0, listed)
            .mapToObj(p -> "127.0.0.1:" + p)
            .collect(Collectors.joining(","));
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            svr.toString(),
            "-r",
            raftList,
            "-i",
            Integer.toString(id),
            "-p",
            Integer.toString(kvsPorts[id]),
            "--kvs-peers",
            kvsList,
            "--data-dir",
            dir.resolve("node-" + id).toString(),
            "--cluster-id",
            CLUSTER_ID,
            // The partitions and slow links are Chaos calls, which svr refuses without it.
            "--enable-chaos"));
    if (joined) {
      cmd.add("--join");
    }
    cmd.addAll(svrFlags);
    try {
      Files.createDirectories(dir);
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
      Map<String, String> env = pb.environment();
      env.putIfAbsent("RAFTKV_SVR_JAVA_OPTS", SVR_JAVA_OPTS);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logOf(id).toFile()));
      processes[id] = pb.start();
      paused[id] = false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + svr, e);
    }
  }

  /**
   * Replaces the node at position i by a new machine (dissertation chapter 4): kill -9 the old one,
   * start a new member with a new id ({@code svr --join}), and ask the leader to swap them ({@code
   * ChangeMembership REPLACE}: the new one is added as a learner, caught up, then one joint change
   * promotes it and removes the old one). Whatever the answer, the position then holds whoever the
   * leader lists: the new member if the change went through, else the old one, restarted.
   *
   * @return what happened, one line
   */
  String replace(int i, Duration limit) {
    int old = idAt[i];
    if (nextId >= processes.length) {
      return "no new id left for a replacement of node " + old;
    }
    int fresh = nextId++;
    kill(i);
    launch(fresh);
    ServerProcesses.awaitListening(
        "node " + fresh, processes[fresh], kvsPorts[fresh], limit, logOf(fresh));
    MembershipChangeRequest req =
        MembershipChangeRequest.newBuilder()
            .setOp(MembershipOp.REPLACE)
            .setId(old)
            .setNewId(fresh)
            .setRaftAddress("127.0.0.1:" + raftPorts[fresh])
            .setKvAddress("127.0.0.1:" + kvsPorts[fresh])
            .setTimeoutMs(limit.toMillis())
            .build();
    String answer = "no leader answered";
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      int l = leader();
      if (l < 0) {
        ServerProcesses.sleep(200);
        continue;
      }
      try {
        MembershipChangeResponse r =
            AdminGrpc.newBlockingStub(admin(idAt[l]))
                .withDeadlineAfter(limit.toMillis() + 5_000, TimeUnit.MILLISECONDS)
                .changeMembership(req);
        answer = r.getStatus() + (r.getMessage().isEmpty() ? "" : " (" + r.getMessage() + ")");
        if (r.getStatus() == MembershipChangeStatus.OK
            || r.getStatus() == MembershipChangeStatus.REFUSED
            || r.getStatus() == MembershipChangeStatus.TIMEOUT) {
          break;
        }
      } catch (StatusRuntimeException e) {
        answer = e.getStatus().toString();
      }
      ServerProcesses.sleep(200);
    }
    boolean swapped = isMember(fresh) && !isMember(old);
    if (swapped) {
      idAt[i] = fresh;
      return "node " + old + " replaced by new member " + fresh + ": " + answer;
    }
    // The swap did not happen: the old member comes back; the new one is retired (its id is never
    // reused), whatever configuration it got into is the leader's to report.
    killId(fresh);
    start(i);
    ServerProcesses.awaitListening("node " + old, processes[old], kvsPorts[old], limit, logOf(old));
    return "replacing node "
        + old
        + " by "
        + fresh
        + " did not complete ("
        + answer
        + "); node "
        + old
        + " restarted";
  }

  /** Whether the leader lists member {@code id} (voter or learner). */
  private boolean isMember(int id) {
    int l = leader();
    if (l < 0) {
      return false;
    }
    try {
      MemberListResponse r =
          AdminGrpc.newBlockingStub(admin(idAt[l]))
              .withDeadlineAfter(2, TimeUnit.SECONDS)
              .memberList(MemberListRequest.getDefaultInstance());
      return r.getMembersList().stream().anyMatch(m -> m.getId() == id);
    } catch (StatusRuntimeException e) {
      return false;
    }
  }

  boolean isRunning(int i) {
    Process p = processes[idAt[i]];
    return p != null && p.isAlive();
  }

  /**
   * The exit code of the node at position i if its process ended without the nemesis killing it (a
   * crash, a node that stopped itself, or a signal from outside the run), else empty. Such a node
   * stays dead until {@link #start}ed again.
   */
  java.util.OptionalInt exitedOnItsOwn(int i) {
    Process p = processes[idAt[i]];
    if (p == null || p.isAlive()) {
      return java.util.OptionalInt.empty();
    }
    return java.util.OptionalInt.of(p.exitValue());
  }

  boolean isPaused(int i) {
    return paused[idAt[i]];
  }

  /** Waits until the node at position i accepts connections on its KV port. */
  void awaitListening(int i, Duration limit) {
    int id = idAt[i];
    ServerProcesses.awaitListening("node " + id, processes[id], kvsPorts[id], limit, logOf(id));
  }

  /** kill -9 (SIGKILL: no chance to flush anything), and wait for the process to be gone. */
  void kill(int i) {
    killId(idAt[i]);
  }

  private void killId(int id) {
    Process p = processes[id];
    if (p == null) {
      return;
    }
    p.destroyForcibly();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    processes[id] = null;
    paused[id] = false;
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  void pause(int i) {
    signal(idAt[i], "-STOP");
    paused[idAt[i]] = true;
  }

  /** SIGCONT. */
  void resume(int i) {
    signal(idAt[i], "-CONT");
    paused[idAt[i]] = false;
  }

  private void signal(int id, String signal) {
    Process p = processes[id];
    if (p == null || !p.isAlive()) {
      return;
    }
    // bin/svr execs java, so the pid is the JVM's.
    long pid = p.toHandle().pid();
    try {
      Process k = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
      if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
        throw new IllegalStateException("kill " + signal + " " + pid + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The Status of the node at position i, or empty if it does not answer within the deadline. */
  Optional<StatusResponse> status(int i, Duration deadline) {
    if (!isRunning(i) || isPaused(i)) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          AdminGrpc.newBlockingStub(admin(idAt[i]))
              .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
              .status(StatusRequest.getDefaultInstance()));
    } catch (StatusRuntimeException e) {
      return Optional.empty();
    }
  }

  /** The position of the node that says it leads in the highest term, or -1. */
  int leader() {
    int best = -1;
    long bestTerm = -1;
    for (int i = 0; i < size; i++) {
      Optional<StatusResponse> s = status(i, Duration.ofMillis(700));
      if (s.isPresent() && s.get().getRole() == Role.LEADER && s.get().getTerm() > bestTerm) {
        best = i;
        bestTerm = s.get().getTerm();
      }
    }
    return best;
  }

  /** Replaces the faults of the node at position i with {@code faults} (reset first). */
  void chaos(int i, List<PeerFault> faults) {
    ChaosRequest req = ChaosRequest.newBuilder().setReset(true).addAllFaults(faults).build();
    RuntimeException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        AdminGrpc.newBlockingStub(admin(idAt[i])).withDeadlineAfter(2, TimeUnit.SECONDS).chaos(req);
        return;
      } catch (StatusRuntimeException e) {
        last = e;
        ServerProcesses.sleep(200);
      }
    }
    throw new IllegalStateException("chaos on node " + idAt[i] + " failed: " + last, last);
  }

  /** Cuts the node at position i off from the nodes at {@code positions} (on its side only). */
  void cut(int i, Set<Integer> positions) {
    List<PeerFault> faults = new ArrayList<>();
    for (int p : positions) {
      faults.add(PeerFault.newBuilder().setPeerId(idAt[p]).setCut(true).build());
    }
    chaos(i, faults);
  }

  /** Clears every fault on every running node. */
  void resetChaos() {
    for (int i = 0; i < size; i++) {
      if (isRunning(i) && !isPaused(i)) {
        chaos(i, List.of());
      }
    }
  }

  /** Undoes every fault: SIGCONT the paused, restart the dead, clear Chaos everywhere. */
  void healAll(Duration limit) {
    for (int i = 0; i < size; i++) {
      if (isPaused(i)) {
        resume(i);
      }
      if (!isRunning(i)) {
        start(i);
      }
    }
    for (int i = 0; i < size; i++) {
      awaitListening(i, limit);
    }
    resetChaos();
  }

  @Override
  public synchronized void close() {
    for (int id = 0; id < processes.length; id++) {
      if (paused[id]) {
        try {
          signal(id, "-CONT");
        } catch (RuntimeException e) {
          // it is killed next anyway
        }
      }
      killId(id);
    }
    for (ManagedChannel ch : admin) {
      if (ch != null) {
        ch.shutdownNow();
      }
    }
  }

  /** Deletes the data directory and logs. */
  void deleteData() {
    ServerProcesses.deleteTree(dir);
  }
}
