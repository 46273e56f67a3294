package io.raftkv.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Helpers for the clusters bench starts: free ports, waiting, stopping, cleaning up. */
final class Processes {
  private Processes() {}

  /**
   * Waits until 127.0.0.1:port accepts connections, failing if the process dies or time runs out.
   */
  static void awaitListening(String what, Process p, int port, Duration limit, Path log) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        // not yet
      }
      if (!p.isAlive()) {
        throw new IllegalStateException(
            what + " exited with " + p.exitValue() + " before listening on " + port + tail(log));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            what + " not listening on " + port + " after " + limit.toSeconds() + " s" + tail(log));
      }
      sleep(50);
    }
  }

  /** SIGTERM each, then SIGKILL whatever is still there after a few seconds. */
  static void stopAll(List<Process> processes) {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("bench: could not delete " + dir + ": " + e);
    }
  }

  /** The last lines of a log, for error messages. */
  static String tail(Path log) {
    try {
      if (log != null && Files.exists(log)) {
        List<String> lines = Files.readAllLines(log);
        return "\n--- last lines of "
            + log
            + ":\n"
            + String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
      }
    } catch (IOException | UncheckedIOException e) {
      return "";
    }
    return "";
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Looks a program up on PATH; null when absent. */
  static Path onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, program);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
