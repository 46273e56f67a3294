package io.raftkv.nemesis;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.raftkv.proto.admin.AdminGrpc;
import io.raftkv.proto.admin.ChaosRequest;
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
 * directory) that the nemesis can kill -9, restart, SIGSTOP and SIGCONT, and whose Admin service
 * (Status, Chaos) it calls over gRPC. Not thread-safe: the nemesis thread alone drives it.
 */
final class Cluster implements AutoCloseable {
  /** svr JVM options unless RAFTKV_SVR_JAVA_OPTS is set: several JVMs share few cores here. */
  static final String SVR_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx384m";

  private final Path svr;
  private final Path dir;
  private final int size;
  private final int[] raftPorts;
  private final int[] kvsPorts;
  private final Process[] processes;
  private final boolean[] paused;
  private final ManagedChannel[] admin;
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
    int[] ports = FreePorts.pick(2 * size);
    this.raftPorts = Arrays.copyOfRange(ports, 0, size);
    this.kvsPorts = Arrays.copyOfRange(ports, size, 2 * size);
    this.processes = new Process[size];
    this.paused = new boolean[size];
    this.admin = new ManagedChannel[size];
    for (int i = 0; i < size; i++) {
      admin[i] = OkHttpChannelBuilder.forAddress("127.0.0.1", kvsPorts[i]).usePlaintext().build();
    }
  }

  int size() {
    return size;
  }

  Path dir() {
    return dir;
  }

  /** The KV ("host:port") address of node i. */
  String endpoint(int i) {
    return "127.0.0.1:" + kvsPorts[i];
  }

  List<String> endpoints() {
    List<String> e = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      e.add(endpoint(i));
    }
    return e;
  }

  Path log(int i) {
    return dir.resolve("node-" + i + ".log");
  }

  /** Node i's data directory. */
  Path dataDir(int i) {
    return dir.resolve("node-" + i);
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

  /** Starts node i on its data directory (a restart keeps its data). */
  void start(int i) {
    String raftList =
        Arrays.stream(raftPorts).mapToObj(Integer::toString).collect(Collectors.joining(","));
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            svr.toString(),
            "-r",
            raftList,
            "-i",
            Integer.toString(i),
            "-p",
            Integer.toString(kvsPorts[i]),
            "--kvs-peers",
            String.join(",", endpoints()),
            "--data-dir",
            dataDir(i).toString(),
            // The partitions and slow links are Chaos calls, which svr refuses without it.
            "--enable-chaos"));
    cmd.addAll(svrFlags);
    try {
      Files.createDirectories(dir);
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
      Map<String, String> env = pb.environment();
      env.putIfAbsent("RAFTKV_SVR_JAVA_OPTS", SVR_JAVA_OPTS);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log(i).toFile()));
      processes[i] = pb.start();
      paused[i] = false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + svr, e);
    }
  }

  boolean isRunning(int i) {
    return processes[i] != null && processes[i].isAlive();
  }

  /**
   * Node i's exit code if its process ended without the nemesis killing it (a crash, a node that
   * stopped itself, or a signal from outside the run), else empty. Such a node stays dead until
   * {@link #start}ed again.
   */
  java.util.OptionalInt exitedOnItsOwn(int i) {
    Process p = processes[i];
    if (p == null || p.isAlive()) {
      return java.util.OptionalInt.empty();
    }
    return java.util.OptionalInt.of(p.exitValue());
  }

  boolean isPaused(int i) {
    return paused[i];
  }

  /** Waits until node i's KV port accepts connections. */
  void awaitListening(int i, Duration limit) {
    ServerProcesses.awaitListening("node " + i, processes[i], kvsPorts[i], limit, log(i));
  }

  /** kill -9 (SIGKILL: no chance to flush anything), and wait for the process to be gone. */
  void kill(int i) {
    Process p = processes[i];
    if (p == null) {
      return;
    }
    p.destroyForcibly();
    try {
      p.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    processes[i] = null;
    paused[i] = false;
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  void pause(int i) {
    signal(i, "-STOP");
    paused[i] = true;
  }

  /** SIGCONT. */
  void resume(int i) {
    signal(i, "-CONT");
    paused[i] = false;
  }

  private void signal(int i, String signal) {
    Process p = processes[i];
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

  /** Node i's Status, or empty if it does not answer within the deadline. */
  Optional<StatusResponse> status(int i, Duration deadline) {
    if (!isRunning(i) || paused[i]) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          AdminGrpc.newBlockingStub(admin[i])
              .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
              .status(StatusRequest.getDefaultInstance()));
    } catch (StatusRuntimeException e) {
      return Optional.empty();
    }
  }

  /** The node that says it leads in the highest term, or -1. */
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

  /** Replaces node i's faults with {@code faults} (reset first). */
  void chaos(int i, List<PeerFault> faults) {
    ChaosRequest req = ChaosRequest.newBuilder().setReset(true).addAllFaults(faults).build();
    RuntimeException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        AdminGrpc.newBlockingStub(admin[i]).withDeadlineAfter(2, TimeUnit.SECONDS).chaos(req);
        return;
      } catch (StatusRuntimeException e) {
        last = e;
        ServerProcesses.sleep(200);
      }
    }
    throw new IllegalStateException("chaos on node " + i + " failed: " + last, last);
  }

  /** Cuts node i off from each of {@code peers} (on node i's side only). */
  void cut(int i, Set<Integer> peers) {
    List<PeerFault> faults = new ArrayList<>();
    for (int p : peers) {
      faults.add(PeerFault.newBuilder().setPeerId(p).setCut(true).build());
    }
    chaos(i, faults);
  }

  /** Clears every fault on every running node. */
  void resetChaos() {
    for (int i = 0; i < size; i++) {
      if (isRunning(i) && !paused[i]) {
        chaos(i, List.of());
      }
    }
  }

  /** Undoes every fault: SIGCONT the paused, restart the dead, clear Chaos everywhere. */
  void healAll(Duration limit) {
    for (int i = 0; i < size; i++) {
      if (paused[i]) {
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
    for (int i = 0; i < size; i++) {
      if (paused[i]) {
        try {
          resume(i);
        } catch (RuntimeException e) {
          // it is killed next anyway
        }
      }
      kill(i);
    }
    for (ManagedChannel ch : admin) {
      ch.shutdownNow();
    }
  }

  /** Deletes the data directory and logs. */
  void deleteData() {
    ServerProcesses.deleteTree(dir);
  }
}
