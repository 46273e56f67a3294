package io.raftkv.bench;

import io.etcd.jetcd.Client;
import io.raftkv.testkit.FreePorts;
import io.raftkv.testkit.ServerProcesses;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * etcd 3.4's replacement of a dead member with a learner, through etcdctl: {@code member remove} of
 * the dead member, {@code member add --learner}, the new member started with {@code
 * --initial-cluster-state existing} and the cluster {@code member add} printed, then {@code member
 * promote}, retried until etcd takes it (it refuses while the learner is not "in sync with leader":
 * its match index below 90 % of the leader's).
 *
 * <p>Remove comes first because etcd's default --strict-reconfig-check refuses any {@code member
 * add}, a learner's too, while a voter is down ("etcdserver: unhealthy cluster"); etcd's runtime
 * configuration guide says to replace a failed member so: remove it, then add the new one. With
 * {@code learnerFirst} (which needs --strict-reconfig-check=false) the order is add, start,
 * promote, remove.
 */
final class EtcdReplace implements ReplaceCluster {
  // etcdctl pads the hex id to 16 characters with spaces: "Member  bf70af492554a07 added".
  private static final Pattern ADDED = Pattern.compile("Member\\s+([0-9a-f]+)\\s+added");
  private static final Pattern INITIAL = Pattern.compile("ETCD_INITIAL_CLUSTER=\"([^\"]*)\"");
  private static final Duration COMMAND_LIMIT = Duration.ofSeconds(30);

  private final EtcdCatchup cluster;
  private final Path etcd;
  private final Path etcdctl;
  private final List<String> etcdArgs;
  private final boolean learnerFirst;
  private final int newMember;
  private int dead = -1;
  private String deadId;
  private String clientUrl;
  private String peerUrl;
  private final NewMember<Client> member = new NewMember<>(() -> EtcdCatchup.client(clientUrl));

  EtcdReplace(
      Path etcd,
      Path etcdctl,
      int nodes,
      boolean keepData,
      List<String> etcdArgs,
      boolean learnerFirst) {
    this.cluster = new EtcdCatchup(etcd, nodes, keepData, etcdArgs);
    this.etcd = etcd;
    this.etcdctl = etcdctl;
    this.etcdArgs = List.copyOf(etcdArgs);
    this.learnerFirst = learnerFirst;
    this.newMember = nodes;
  }

  @Override
  public CatchupCluster cluster() {
    return cluster;
  }

  @Override
  public int newNode() {
    return newMember;
  }

  @Override
  public String prepare(int dead) throws Exception {
    this.dead = dead;
    List<String> all = cluster.target().endpoints();
    Commands.Run list = etcdctl(all, "member", "list");
    if (!list.ok()) {
      throw new IllegalStateException("etcd: etcdctl member list failed, " + list.outcome());
    }
    deadId = memberId(list.output(), "m" + dead);
    int[] ports = FreePorts.pick(2);
    clientUrl = "http://127.0.0.1:" + ports[0];
    peerUrl = "http://127.0.0.1:" + ports[1];
    return "member id " + deadId + " of m" + dead + " from `" + Commands.line(list.command()) + "`";
  }

  /**
   * The id of member {@code name} in {@code etcdctl member list}'s "id, status, name, ..." lines.
   */
  static String memberId(String memberList, String name) {
    for (String line : memberList.split("\n")) {
      String[] f = line.split(",\\s*");
      if (f.length >= 3 && f[2].strip().equals(name)) {
        return f[0].strip();
      }
    }
    throw new IllegalStateException("etcd: no member " + name + " in: " + memberList.strip());
  }

  @Override
  public Replacement replace(long deadlineMillis, Consumer<String> say) throws Exception {
    List<String> survivors = new ArrayList<>(cluster.target().endpoints());
    survivors.remove(dead);
    List<Replacement.Step> steps = new ArrayList<>();
    long removed = -1;
    if (!learnerFirst) {
      removed = remove(survivors, steps, say);
    }
    say.accept("etcdctl member add m" + newMember + " --learner");
    Commands.Run add =
        etcdctl(survivors, "member", "add", "m" + newMember, "--learner", "--peer-urls=" + peerUrl);
    if (!add.ok()) {
      throw new IllegalStateException("etcd: etcdctl member add failed, " + add.outcome());
    }
    steps.add(Replacement.Step.of("add the new member as a learner", add));
    steps.add(start(group(INITIAL, add.output()), deadlineMillis, say));
    long voting = promote(survivors, addedId(add.output()), deadlineMillis, steps, say);
    if (learnerFirst) {
      removed = remove(survivors, steps, say);
    }
    return new Replacement(steps, voting, removed);
  }

  private long remove(List<String> survivors, List<Replacement.Step> steps, Consumer<String> say)
      throws Exception {
    say.accept("etcdctl member remove " + deadId + " (m" + dead + ")");
    Commands.Run remove = etcdctl(survivors, "member", "remove", deadId);
    if (!remove.ok()) {
      throw new IllegalStateException("etcd: etcdctl member remove failed, " + remove.outcome());
    }
    steps.add(Replacement.Step.of("remove the dead member", remove));
    return remove.endMillis();
  }

  /** Starts the new member with the cluster {@code member add} printed; waits until it listens. */
  private Replacement.Step start(String initialCluster, long deadlineMillis, Consumer<String> say)
      throws Exception {
    EtcdTarget t = cluster.target();
    String name = "m" + newMember;
    List<String> cmd =
        new ArrayList<>(
            List.of(
                etcd.toString(),
                "--name",
                name,
                "--data-dir",
                t.nodeDir(newMember).toString(),
                "--listen-client-urls",
                clientUrl,
                "--advertise-client-urls",
                clientUrl,
                "--listen-peer-urls",
                peerUrl,
                "--initial-advertise-peer-urls",
                peerUrl,
                "--initial-cluster",
                initialCluster,
                "--initial-cluster-state",
                "existing",
                "--logger",
                "zap",
                "--log-level",
                "warn"));
    cmd.addAll(etcdArgs);
    say.accept("starting " + name + " (--initial-cluster-state existing)");
    long t0 = Wall.now();
    Process process = Commands.spawn(cmd, t.nodeDir(0).getParent(), t.logFile(newMember));
    member.started(process);
    ServerProcesses.awaitListening(
        "etcd member " + name,
        process,
        Integer.parseInt(clientUrl.substring(clientUrl.lastIndexOf(':') + 1)),
        Duration.ofMillis(Math.max(1, deadlineMillis - t0)),
        t.logFile(newMember));
    return new Replacement.Step(
        "start the new member (until its client port listens)",
        Commands.line(cmd),
        t0,
        Wall.now(),
        1,
        "");
  }

  /**
   * {@code etcdctl member promote} every 100 ms until it succeeds: etcd refuses while the learner
   * is not in sync with the leader, the only readiness signal an operator has. Returns when it did.
   */
  private long promote(
      List<String> survivors,
      String id,
      long deadlineMillis,
      List<Replacement.Step> steps,
      Consumer<String> say)
      throws Exception {
    say.accept("etcdctl member promote " + id + ", until the learner is in sync");
    long first = Wall.now();
    int attempts = 0;
    while (true) {
      Commands.Run run = etcdctl(survivors, "member", "promote", id);
      attempts++;
      if (run.ok()) {
        steps.add(
            Replacement.Step.retried(
                "promote the learner (retried until in sync)", first, run, attempts));
        return run.endMillis();
      }
      if (Wall.now() > deadlineMillis) {
        throw new IllegalStateException(
            "etcd: member promote still refused after "
                + attempts
                + " attempts, "
                + run.outcome()
                + ServerProcesses.tail(cluster.target().logFile(newMember)));
      }
      Thread.sleep(100);
    }
  }

  private Commands.Run etcdctl(List<String> endpoints, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of(etcdctl.toString(), "--endpoints=" + String.join(",", endpoints)));
    cmd.addAll(List.of(args));
    return Commands.run(cmd, COMMAND_LIMIT);
  }

  /** The id of the member {@code etcdctl member add} printed it added. */
  static String addedId(String memberAdd) {
    return group(ADDED, memberAdd);
  }

  private static String group(Pattern p, String output) {
    Matcher m = p.matcher(output);
    if (!m.find()) {
      throw new IllegalStateException("etcd: no " + p + " in etcdctl's output: " + output.strip());
    }
    return m.group(1);
  }

  @Override
  public Optional<byte[]> readNew(byte[] key) throws Exception {
    return member.read(c -> EtcdCatchup.serializableGet(c, key));
  }

  @Override
  public void close() {
    member.close();
    cluster.close();
  }
}
