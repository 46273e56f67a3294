package io.raftkv.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** bench catchup: a follower that was down while the leader compacted past its log. */
@Command(
    name = "catchup",
    mixinStandardHelpOptions = true,
    description = {
      "Load --keys keys of --value-size bytes into a 3-node cluster, stop a follower, write"
          + " --extra-writes more (enough for the leader to snapshot and compact its log past the"
          + " follower's), restart it and time until it serves the last key written from its own"
          + " store (raftkv: DIRECT_GET; etcd: serializable GET), then check a sample of every"
          + " key written. raftkv, then etcd, each on a fresh cluster.",
      "A light paced write load through the leader runs throughout: its latency with all nodes"
          + " up, with the follower down, during the catch-up and during the snapshot transfer"
          + " the leader logs, and after."
    })
final class CatchupCommand implements Callable<Integer> {
  @Mixin TrialOptions o;

  @Option(
      names = "--extra-writes",
      defaultValue = "20000",
      description =
          "New keys written while the follower is down (default ${DEFAULT-VALUE}: raftkv's"
              + " defaults compact past it after at most 15,000; etcd's with --snapshot-count"
              + " 10000 too).")
  int extraWrites;

  @Override
  public Integer call() throws Exception {
    List<String> systems = o.checked();
    if (extraWrites < 1) {
      throw new IllegalArgumentException("--extra-writes must be at least 1");
    }
    String head =
        o.head(
            "catchup",
            String.format(
                Locale.ROOT, "%,d new keys written while a follower is down", extraWrites));
    System.out.print(head);
    PrintStream progress = o.progress();
    List<Catchup.Result> results = new ArrayList<>();
    for (String system : systems) {
      try (CatchupCluster c = open(system)) {
        if (progress != null) {
          progress.printf("[%s] %s%n", system, c.target().describe());
        }
        results.add(new Catchup(c, system, o.params(), extraWrites, progress).run());
      }
    }
    StringBuilder md = new StringBuilder(CatchupReport.summary(results)).append('\n');
    for (Catchup.Result r : results) {
      md.append(CatchupReport.details(r));
    }
    o.write(head, md.toString(), CatchupReport.json(head, results));
    boolean bad = results.stream().anyMatch(r -> !r.trial().check().ok());
    return bad ? 1 : 0;
  }

  private CatchupCluster open(String system) {
    if (system.equals("raftkv")) {
      return new RaftkvCatchup(o.svrPath(), o.nodes, o.keepData, o.svrArgs);
    }
    return new EtcdCatchup(o.etcdPath(), o.nodes, o.keepData, o.etcdArgs);
  }
}
