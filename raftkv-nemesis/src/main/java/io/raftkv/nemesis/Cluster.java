package io.raftkv.nemesis;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
import io.raftkv.proto.admin.MemberListRequest;
import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.admin.MembershipChangeRequest;
import io.raftkv.proto.admin.MembershipChangeResponse;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A cluster of real {@code build/dev/svr} processes on loopback (free ports, data under one
 * directory) that the nemesis can kill -9, restart, SIGSTOP and SIGCONT, replace by new members,
 * grow and shrink (chapter 4 of the dissertation), and whose Admin service (Status, Chaos,
 * membership) it calls over gRPC, plaintext or TLS ({@link ClusterTls}). Not thread-safe: the
 * nemesis thread alone drives it; only {@link #endpoints} may be called from other threads (the
 * clients').
 *
 * <p>Every method takes a node's <em>position</em> 0..size-1 among the current members: {@link #id}
 * gives the member id at a position (at first equal to it; a new member gets a new id, since ids
 * are never reused). A replacement takes the replaced member's position, an added member the next
 * one, and a removal moves the members after it down by one: a position means a node only until the
 * next {@link #remove}.
 */
final class Cluster implements AutoCloseable {
  /** svr JVM options unless RAFTKV_SVR_JAVA_OPTS is set: several JVMs share few cores here. */
  static final String SVR_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx384m";

  /** The cluster id every node is started with (a node that joins needs it). */
  static final String CLUSTER_ID = "nemesis";

  /** How many new members a run may start: they take ids size..size+SPARE_IDS-1. */
  static final int SPARE_IDS = 64;

  /** How long a failed change's leftover learner gets to be removed. */
  private static final Duration RETIRE_LIMIT = Duration.ofSeconds(10);

  private final Path svr;
  private final Path dir;

  /** The size of the first configuration: ids 0..initialSize-1; later members start with --join. */
  private final int initialSize;

  // By node id (0..size+SPARE_IDS-1).
  private final int[] raftPorts;
  private final int[] kvsPorts;
  private final Process[] processes;
  private final boolean[] paused;
  private final ManagedChannel[] admin;

  /**
   * The member id at each position: an immutable list, replaced on every change, so that the
   * clients' threads read a consistent one.
   */
  private volatile List<Integer> idAt;

  private int nextId;
  private final List<String> svrFlags;
  private final ClusterTls tls;

  /**
   * @param svrFlags flags added to every node's command line (the snapshot policy, say)
   * @param tls plaintext, or the certificates of a TLS cluster
   */
  Cluster(Path svr, Path dir, int size, List<String> svrFlags, ClusterTls tls) {
    if (!Files.isExecutable(svr)) {
      throw new IllegalStateException(
          svr + " not found or not executable: build raftkv first (mvn package)");
    }
    this.svr = svr;
    this.dir = dir;
    this.initialSize = size;
    this.svrFlags = List.copyOf(svrFlags);
    this.tls = tls;
    int ids = size + SPARE_IDS;
    int[] ports = FreePorts.pick(2 * ids);
    this.raftPorts = Arrays.copyOfRange(ports, 0, ids);
    this.kvsPorts = Arrays.copyOfRange(ports, ids, 2 * ids);
    this.processes = new Process[ids];
    this.paused = new boolean[ids];
    this.admin = new ManagedChannel[ids];
    List<Integer> first = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      first.add(i);
    }
    this.idAt = List.copyOf(first);
    this.nextId = size;
  }

  /** The member id of the node at {@code position}. */
  int id(int position) {
    return idAt.get(position);
  }

  /** The current members' ids, by position. */
  List<Integer> ids() {
    return idAt;
  }

  /** The position of member {@code id}, or -1 if it is no longer (or never was) a member. */
  int positionOf(int id) {
    return idAt.indexOf(id);
  }

  private ManagedChannel admin(int id) {
    if (admin[id] == null) {
      admin[id] = tls.channel("127.0.0.1:" + kvsPorts[id]);
    }
    return admin[id];
  }

  /** How the nodes speak: what every client of the cluster must use. */
  ClusterTls tls() {
    return tls;
  }

  /** How many members there are now. */
  int size() {
    return idAt.size();
  }

  Path dir() {
    return dir;
  }

  /** The KV ("host:port") address of the node at position i. */
  String endpoint(int i) {
    return kvAddress(id(i));
  }

  private String kvAddress(int id) {
    return "127.0.0.1:" + kvsPorts[id];
  }

  private String raftAddress(int id) {
    return "127.0.0.1:" + raftPorts[id];
  }

  /** The current members' KV addresses, by position (thread-safe). */
  List<String> endpoints() {
    List<String> e = new ArrayList<>();
    for (int id : idAt) {
      e.add(kvAddress(id));
    }
    return e;
  }

  Path log(int i) {
    return logOf(id(i));
  }

  private Path logOf(int id) {
    return dir.resolve("node-" + id + ".log");
  }

  /** The log files of every node started in the run, members or not any more. */
  List<Path> allLogs() {
    List<Path> logs = new ArrayList<>();
    for (int id = 0; id < nextId; id++) {
      if (Files.exists(logOf(id))) {
        logs.add(logOf(id));
      }
    }
    return logs;
  }

  /** The data directory of the node at position i. */
  Path dataDir(int i) {
    return dir.resolve("node-" + id(i));
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
    return linesSince(log(i), offset);
  }

  /** The lines of {@code file} after {@code offset}; none if it cannot be read. */
  static List<String> linesSince(Path file, long offset) {
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "r")) {
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
    for (int i = 0; i < size(); i++) {
      start(i);
    }
    for (int i = 0; i < size(); i++) {
      awaitListening(i, limit);
    }
  }

  /** Starts the node at position i on its data directory (a restart keeps its data). */
  void start(int i) {
    launch(id(i));
  }

  /**
   * Starts member {@code id}: a first member lists the first configuration's raft ports in -r; a
   * member added later lists ids 0..id and starts with --join (ignored once it has recorded a
   * configuration).
   */
  private void launch(int id) {
    boolean joined = id >= initialSize;
    int listed = joined ? id + 1 : initialSize;
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
    cmd.addAll(tls.svrFlags(id));
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

  // ---------------------------------------------------------------- membership (chapter 4)

  /**
   * Replaces the node at position i by a new machine: kill -9 the old one, start a new member with
   * a new id ({@code svr --join}), and ask the leader to swap them ({@code ChangeMembership
   * REPLACE}: the new one is added as a learner, caught up, then one joint change (§4.3) promotes
   * it and removes the old one). Whatever the answer, the position then holds whoever the leader
   * lists: the new member if the change went through, else the old one, restarted.
   *
   * @return what happened, one line
   */
  String replace(int i, Duration limit) {
    int old = id(i);
    if (!hasSpareId()) {
      return "no new id left for a replacement of node " + old;
    }
    kill(i);
    int fresh = startNew(limit);
    String answer =
        askLeader(joining(MembershipOp.REPLACE, fresh, limit).setId(old).setNewId(fresh), limit);
    Optional<Map<Integer, MemberRole>> view = members(limit);
    if (view.isPresent() && isVoter(view.get(), fresh) && !view.get().containsKey(old)) {
      List<Integer> ids = new ArrayList<>(idAt);
      ids.set(i, fresh);
      idAt = List.copyOf(ids);
      return "node " + old + " replaced by new member " + fresh + ": " + answer;
    }
    retire(fresh);
    start(i);
    awaitListening(i, limit);
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

  /**
   * Grows the cluster by a new machine: starts a new member with a new id ({@code svr --join}) and
   * asks the leader to add it as a voter ({@code ChangeMembership ADD}, as {@code clt member add}
   * does: a learner first, caught up, then promoted; a voter with an empty log would count toward
   * commit while it cannot store anything, §4.2.1). It takes the last position. If it did not
   * become a voter, it is stopped (and removed, if the change left it a learner).
   *
   * @return what happened, one line
   */
  String add(Duration limit) {
    if (!hasSpareId()) {
      return "no new id left for a new member";
    }
    int fresh = startNew(limit);
    String answer = askLeader(joining(MembershipOp.ADD, fresh, limit).setId(fresh), limit);
    Optional<Map<Integer, MemberRole>> view = members(limit);
    if (view.isPresent() && isVoter(view.get(), fresh)) {
      List<Integer> ids = new ArrayList<>(idAt);
      ids.add(fresh);
      idAt = List.copyOf(ids);
      return "new member " + fresh + " added as a voter: " + answer;
    }
    retire(fresh);
    return "adding new member " + fresh + " did not complete (" + answer + "); it was stopped";
  }

  /**
   * Shrinks the cluster: asks the leader to remove the member at position i ({@code
   * ChangeMembership REMOVE}, one configuration entry; a leader that removes itself steps down once
   * the entry is committed, §4.2.2), then stops the removed node's process: it takes no part any
   * more, and would refuse to start again. The members after it move down one position. If the
   * leader still lists it (or no leader answers), it stays.
   *
   * @return what happened, one line
   */
  String remove(int i, Duration limit) {
    int id = id(i);
    String answer = askLeader(removal(id, limit), limit);
    Optional<Map<Integer, MemberRole>> view = members(limit);
    if (view.isPresent() && !view.get().containsKey(id)) {
      List<Integer> ids = new ArrayList<>(idAt);
      ids.remove(i);
      idAt = List.copyOf(ids);
      killId(id);
      return "member " + id + " removed, then stopped: " + answer;
    }
    return "removing member "
        + id
        + " did not complete ("
        + answer
        + (view.isEmpty() ? "; no leader listed the members" : "")
        + "); it stays";
  }

  /**
   * The members and their roles as the leader lists them, waiting up to {@code wait} for a leader
   * to answer; empty if none did.
   */
  Optional<Map<Integer, MemberRole>> members(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      int l = leader();
      if (l >= 0) {
        try {
          MemberListResponse r =
              AdminGrpc.newBlockingStub(admin(id(l)))
                  .withDeadlineAfter(2, TimeUnit.SECONDS)
                  .memberList(MemberListRequest.getDefaultInstance());
          if (r.getFromLeader()) {
            Map<Integer, MemberRole> roles = new TreeMap<>();
            for (MemberStatus m : r.getMembersList()) {
              roles.put(m.getId(), m.getRole());
            }
            return Optional.of(roles);
          }
        } catch (StatusRuntimeException e) {
          // asked again below
        }
      }
      if (System.nanoTime() > deadline) {
        return Optional.empty();
      }
      ServerProcesses.sleep(200);
    }
  }

  private static boolean isVoter(Map<Integer, MemberRole> members, int id) {
    return members.get(id) == MemberRole.VOTER;
  }

  private boolean hasSpareId() {
    return nextId < processes.length;
  }

  /** Starts a new machine with the next id ({@code svr --join}) and waits until it listens. */
  private int startNew(Duration limit) {
    int fresh = nextId++;
    launch(fresh);
    ServerProcesses.awaitListening(
        "node " + fresh, processes[fresh], kvsPorts[fresh], limit, logOf(fresh));
    return fresh;
  }

  /** A change that brings in new member {@code fresh}: its addresses, the whole change's limit. */
  private MembershipChangeRequest.Builder joining(MembershipOp op, int fresh, Duration limit) {
    return MembershipChangeRequest.newBuilder()
        .setOp(op)
        .setRaftAddress(raftAddress(fresh))
        .setKvAddress(kvAddress(fresh))
        .setTimeoutMs(limit.toMillis());
  }

  private static MembershipChangeRequest.Builder removal(int id, Duration limit) {
    return MembershipChangeRequest.newBuilder()
        .setOp(MembershipOp.REMOVE)
        .setId(id)
        .setTimeoutMs(limit.toMillis());
  }

  /**
   * Stops a new member whose change did not complete (its id is never reused), and removes it if
   * the leader lists it (a learner the change left behind), so that no dead member stays in the
   * configuration.
   */
  private void retire(int fresh) {
    killId(fresh);
    Optional<Map<Integer, MemberRole>> view = members(RETIRE_LIMIT);
    if (view.isPresent() && view.get().containsKey(fresh)) {
      askLeader(removal(fresh, RETIRE_LIMIT), RETIRE_LIMIT);
    }
  }

  /**
   * Asks the leader for a membership change until it is settled or {@code limit} has passed: a
   * NOT_LEADER or FAILED answer (leadership moved part-way; the next leader resumes the change,
   * retries are safe) and a refusal that says to retry (another change not yet committed, a new
   * leader that has not committed in its term) are asked again.
   *
   * @return the answers, one line: each different one once, in order
   */
  private String askLeader(MembershipChangeRequest.Builder request, Duration limit) {
    MembershipChangeRequest req = request.build();
    Set<String> answers = new LinkedHashSet<>();
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      int l = leader();
      if (l >= 0) {
        try {
          MembershipChangeResponse r =
              AdminGrpc.newBlockingStub(admin(id(l)))
                  .withDeadlineAfter(limit.toMillis() + 5_000, TimeUnit.MILLISECONDS)
                  .changeMembership(req);
          answers.add(
              r.getStatus() + (r.getMessage().isEmpty() ? "" : " (" + r.getMessage() + ")"));
          if (settled(r)) {
            break;
          }
        } catch (StatusRuntimeException e) {
          answers.add(e.getStatus().toString());
        }
      }
      ServerProcesses.sleep(200);
    }
    return answers.isEmpty() ? "no leader answered" : String.join("; then ", answers);
  }

  private static boolean settled(MembershipChangeResponse r) {
    return switch (r.getStatus()) {
      case OK, TIMEOUT -> true;
      case REFUSED -> !r.getMessage().contains("retry");
      default -> false;
    };
  }

  boolean isRunning(int i) {
    Process p = processes[id(i)];
    return p != null && p.isAlive();
  }

  /**
   * The exit code of the node at position i if its process ended without the nemesis killing it (a
   * crash, a node that stopped itself, or a signal from outside the run), else empty. Such a node
   * stays dead until {@link #start}ed again.
   */
  java.util.OptionalInt exitedOnItsOwn(int i) {
    Process p = processes[id(i)];
    if (p == null || p.isAlive()) {
      return java.util.OptionalInt.empty();
    }
    return java.util.OptionalInt.of(p.exitValue());
  }

  boolean isPaused(int i) {
    return paused[id(i)];
  }

  /** Waits until the node at position i accepts connections on its KV port. */
  void awaitListening(int i, Duration limit) {
    int id = id(i);
    ServerProcesses.awaitListening("node " + id, processes[id], kvsPorts[id], limit, logOf(id));
  }

  /** kill -9 (SIGKILL: no chance to flush anything), and wait for the process to be gone. */
  void kill(int i) {
    killId(id(i));
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
    signal(id(i), "-STOP");
    paused[id(i)] = true;
  }

  /** SIGCONT. */
  void resume(int i) {
    signal(id(i), "-CONT");
    paused[id(i)] = false;
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
          AdminGrpc.newBlockingStub(admin(id(i)))
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
    for (int i = 0; i < size(); i++) {
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
        AdminGrpc.newBlockingStub(admin(id(i))).withDeadlineAfter(2, TimeUnit.SECONDS).chaos(req);
        return;
      } catch (StatusRuntimeException e) {
        last = e;
        ServerProcesses.sleep(200);
      }
    }
    throw new IllegalStateException("chaos on node " + id(i) + " failed: " + last, last);
  }

  /** Cuts the node at position i off from the nodes at {@code positions} (on its side only). */
  void cut(int i, Set<Integer> positions) {
    List<PeerFault> faults = new ArrayList<>();
    for (int p : positions) {
      faults.add(PeerFault.newBuilder().setPeerId(id(p)).setCut(true).build());
    }
    chaos(i, faults);
  }

  /** Clears every fault on every running node. */
  void resetChaos() {
    for (int i = 0; i < size(); i++) {
      if (isRunning(i) && !isPaused(i)) {
        chaos(i, List.of());
      }
    }
  }

  /** Undoes every fault: SIGCONT the paused, restart the dead, clear Chaos everywhere. */
  void healAll(Duration limit) {
    for (int i = 0; i < size(); i++) {
      if (isPaused(i)) {
        resume(i);
      }
      if (!isRunning(i)) {
        start(i);
      }
    }
    for (int i = 0; i < size(); i++) {
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
