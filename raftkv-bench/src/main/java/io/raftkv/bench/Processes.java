package io.raftkv.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the programs bench runs (the rest is io.raftkv.testkit.ServerProcesses). */
final class Processes {
  private Processes() {}

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
