package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** bench replace: the time to replace a dead node, and the write stall while it is replaced. */
@Command(
    name = "replace",
    mixinStandardHelpOptions = true,
    description = {
      "Load --keys keys of --value-size bytes into a 3-node cluster, kill -9 a follower, replace"
          + " it with a new member by the system's own procedure, and time from the first command"
          + " to the new member voting and to the dead one being removed. raftkv: svr --join,"
          + " then clt member replace (learner, catch-up, one joint change). etcd 3.4: etcdctl"
          + " member remove, member add --learner, start the member, member promote retried"
          + " until the learner is in sync. Then a sample of the data set is read back from the"
          + " new member's own store (raftkv DIRECT_GET, etcd serializable GET); exit 1 on a"
          + " missing or wrong value. raftkv, then etcd, each on a fresh cluster.",
      "A light paced write load through the leader runs throughout: its latency and longest gap"
          + " without a completed write before the kill, with the node dead, during the change,"
          + " during the snapshot transfers the leader logs, and after."
    })
final class ReplaceCommand implements Callable<Integer> {
  @Mixin TrialOptions o;

  @Option(
      names = "--clt",
      paramLabel = "PATH",
      description = "raftkv's client launcher (default: clt beside --svr).")
  Path clt;

  @Option(
      names = "--etcdctl",
      paramLabel = "PATH",
      description = "etcdctl (default: etcdctl beside --etcd, else on PATH).")
  Path etcdctl;

  @Option(
      names = "--etcd-order",
      defaultValue = "remove-first",
      description =
          "remove-first (default: remove the dead member, then add the learner; etcd's default"
              + " --strict-reconfig-check refuses member add while a voter is down) or"
              + " learner-first (add, start, promote, then remove; needs"
              + " --etcd-arg=--strict-reconfig-check=false).")
  String etcdOrder;

  @Override
  public Integer call() throws Exception {
    List<String> systems = o.checked();
    if (!List.of("remove-first", "learner-first").contains(etcdOrder)) {
      throw new IllegalArgumentException("--etcd-order must be remove-first or learner-first");
    }
    String head =
        o.head(
            "replace",
            "a follower killed (kill -9) and replaced by a new member"
                + (systems.contains("etcd") ? " (etcd: " + etcdOrder + ")" : ""));
    System.out.print(head);
    PrintStream progress = o.progress();
    List<Replace.Result> results = new ArrayList<>();
    for (String system : systems) {
      try (ReplaceCluster c = open(system)) {
        if (progress != null) {
          progress.printf("[%s] %s%n", system, c.cluster().target().describe());
        }
        results.add(new Replace(c, system, o.params(), progress).run());
      }
    }
    StringBuilder md = new StringBuilder(ReplaceReport.summary(results)).append('\n');
    for (Replace.Result r : results) {
      md.append(ReplaceReport.details(r));
    }
    o.write(head, md.toString(), ReplaceReport.json(head, results));
    boolean bad = results.stream().anyMatch(r -> !r.trial().check().ok());
    return bad ? 1 : 0;
  }

  private ReplaceCluster open(String system) {
    if (system.equals("raftkv")) {
      Path svr = o.svrPath();
      Path cltPath = clt != null ? clt : svr.resolveSibling("clt");
      if (!Files.isExecutable(cltPath)) {
        throw new IllegalStateException(cltPath + " not found: build raftkv first, or pass --clt");
      }
      return new RaftkvReplace(svr, cltPath, o.nodes, o.keepData, o.svrArgs);
    }
    Path etcd = o.etcdPath();
    return new EtcdReplace(
        etcd,
        etcdctlPath(etcd),
        o.nodes,
        o.keepData,
        o.etcdArgs,
        etcdOrder.equals("learner-first"));
  }

  private Path etcdctlPath(Path etcd) {
    if (etcdctl != null) {
      return etcdctl;
    }
    Path beside = etcd.resolveSibling("etcdctl");
    Path found = Files.isExecutable(beside) ? beside : Processes.onPath("etcdctl");
    if (found == null) {
      throw new IllegalStateException(
          "etcdctl not found: install it (Debian: apt-get install etcd-client) or pass --etcdctl");
    }
    return found;
  }
}
