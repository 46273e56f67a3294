package io.raftkv.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The bytes of the regular files under a directory (what {@code du --apparent-size -b} counts),
 * read while a server may be creating and deleting files in it: a file that vanishes between the
 * listing and its size is skipped.
 */
final class DirSize {
  private DirSize() {}

  /** Total size of the regular files under {@code dir}; -1 if {@code dir} does not exist. */
  static long bytes(Path dir) {
    if (dir == null || !Files.isDirectory(dir)) {
      return -1;
    }
    long[] total = {0};
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              if (attrs.isRegularFile()) {
                total[0] += attrs.size();
              }
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
              if (e instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE; // deleted while we walked
              }
              throw e;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot measure " + dir, e);
    }
    return total[0];
  }

  /**
   * The bytes under {@code dir} by kind of file, named after what RocksDB and etcd keep: "sst",
   * "rocksdb wal" (NNNNNN.log), "rocksdb info log" (LOG, LOG.old.*), "etcd wal", "etcd db" (bbolt),
   * "etcd snap", "other"; in that order, kinds with no file left out.
   */
  static java.util.Map<String, Long> byKind(Path dir) {
    java.util.Map<String, Long> out = new java.util.LinkedHashMap<>();
    for (String k :
        new String[] {
          "sst", "rocksdb wal", "rocksdb info log", "etcd wal", "etcd db", "etcd snap", "other"
        }) {
      out.put(k, 0L);
    }
    if (dir != null && Files.isDirectory(dir)) {
      try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
        files.forEach(
            f -> {
              try {
                if (Files.isRegularFile(f)) {
                  Path parent = f.getParent();
                  String in = parent == null ? "" : parent.getFileName().toString();
                  out.merge(kind(in, f.getFileName().toString()), Files.size(f), Long::sum);
                }
              } catch (IOException e) {
                // deleted while we walked
              }
            });
      } catch (IOException | UncheckedIOException e) {
        // a directory deleted while we walked: what was counted stays
      }
    }
    out.values().removeIf(v -> v == 0);
    return out;
  }

  static String kind(String parent, String name) {
    if (parent.equals("wal")) {
      return "etcd wal"; // its segments and the next one, preallocated (N.tmp)
    }
    if (name.endsWith(".sst")) {
      return "sst";
    }
    if (name.matches("\\d+\\.log")) {
      return "rocksdb wal";
    }
    if (name.equals("LOG") || name.startsWith("LOG.old")) {
      return "rocksdb info log";
    }
    if (name.endsWith(".wal")) {
      return "etcd wal";
    }
    if (name.equals("db")) {
      return "etcd db";
    }
    if (name.endsWith(".snap") || name.endsWith(".snap.db")) {
      return "etcd snap";
    }
    return "other";
  }

  /** "sst 14.0, rocksdb wal 33.1, ..." in MiB. */
  static String describeKinds(java.util.Map<String, Long> kinds) {
    return String.join(
        ", ", kinds.entrySet().stream().map(e -> e.getKey() + " " + mib(e.getValue())).toList());
  }

  /** Bytes as MiB with one decimal, "n/a" when unknown (negative). */
  static String mib(long bytes) {
    return bytes < 0
        ? "n/a"
        : String.format(java.util.Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
  }
}
