package io.raftkv.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs what an operator would type: a command-line tool (clt, etcdctl) to its end, or a server
 * process left running. Neither sees our ETCD_* or ETCDCTL_* variables, which would override their
 * flags.
 */
final class Commands {
  private Commands() {}

  /** One command run to its end: its words, wall-clock start and end, exit code and output. */
  record Run(List<String> command, long startMillis, long endMillis, int exit, String output) {
    boolean ok() {
      return exit == 0;
    }

    /** "exit N: output" on one line, for error messages. */
    String outcome() {
      return "exit " + exit + ": " + output.strip().replace('\n', ' ');
    }
  }

  /**
   * Runs {@code command} and waits for it; killed after {@code limit} (exit -1). Output and errors
   * go to one temporary file, not a pipe we would have to drain while waiting.
   */
  static Run run(List<String> command, Duration limit) throws IOException, InterruptedException {
    Path out = Files.createTempFile("bench-cmd-", ".out");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.redirectOutput(out.toFile());
      clean(pb.environment());
      long start = Wall.now();
      Process p = pb.start();
      int exit = -1;
      if (p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        exit = p.exitValue();
      } else {
        p.destroyForcibly().waitFor();
      }
      long end = Wall.now();
      return new Run(
          List.copyOf(command), start, end, exit, Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Starts a server in {@code dir}, its output appended to {@code log}, and leaves it running. */
  static Process spawn(List<String> command, Path dir, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
    clean(pb.environment());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  private static void clean(Map<String, String> env) {
    env.keySet().removeIf(k -> k.startsWith("ETCD_") || k.startsWith("ETCDCTL_"));
  }

  /** The command as one shell line (words with spaces or quotes are single-quoted). */
  static String line(List<String> command) {
    StringBuilder sb = new StringBuilder();
    for (String w : command) {
      sb.append(sb.length() == 0 ? "" : " ");
      sb.append(w.matches("[A-Za-z0-9_./:=,@%+-]+") ? w : "'" + w.replace("'", "'\\''") + "'");
    }
    return sb.toString();
  }
}
