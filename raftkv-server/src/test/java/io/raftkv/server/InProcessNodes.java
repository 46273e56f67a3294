package io.raftkv.server;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/** Starts real nodes in this JVM, configured through svr's own parser, for the server's tests. */
final class InProcessNodes {
  private InProcessNodes() {}

  /**
   * Node {@code id} of a cluster whose raft ports are {@code raft}, its data under {@code dir},
   * with long election timeouts (on a loaded machine, short ones hold elections mid-test) and
   * {@code extra} svr arguments.
   */
  static KvServer start(Path dir, int id, List<Integer> raft, int kvPort, List<String> extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "-r",
                String.join(",", raft.stream().map(Object::toString).toList()),
                "-i",
                Integer.toString(id),
                "-p",
                Integer.toString(kvPort),
                "--data-dir",
                dir.resolve("node-" + id).toString(),
                "--startup-grace-ms",
                "0",
                "--election-timeout-min-ms",
                "1000",
                "--election-timeout-max-ms",
                "2000",
                "--heartbeat-ms",
                "100"));
    args.addAll(extra);
    SvrMain svr = new SvrMain();
    new CommandLine(svr).parseArgs(args.toArray(String[]::new));
    return KvServer.start(svr.toConfig());
  }
}
