package io.raftkv.testkit;

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

/**
 * What every tool that starts server processes needs (bench's clusters, the nemesis): wait until a
 * process listens, stop processes, show the end of a log, remove a data directory.
 */
public final class ServerProcesses {
  private ServerProcesses() {}

  /**
   * Waits until 127.0.0.1:port accepts connections, failing with the end of {@code log} if the
   * process is gone (or null) or time runs out.
   */
  public static void awaitListening(String what, Process p, int port, Duration limit, Path log) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        // not yet
      }
      if (p == null || !p.isAlive()) {
        throw new IllegalStateException(
            what
                + " exited"
                + (p == null ? "" : " with " + p.exitValue())
                + " before listening on "
                + port
                + tail(log));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            what + " not listening on " + port + " after " + limit.toSeconds() + " s" + tail(log));
      }
      sleep(50);
    }
  }

  /** SIGTERM each, then SIGKILL whatever is still there after a few seconds. */
  public static void stopAll(List<Process> processes) {
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

  /** Deletes a directory tree; a failure is reported on stderr, not thrown (it is cleanup). */
  public static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not delete " + dir + ": " + e);
    }
  }

  /** The last 15 lines of a log, for error messages; empty if there is none. */
  public static String tail(Path log) {
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

  /** Thread.sleep that turns an interrupt into an exception (the caller is giving up). */
  public static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
