package io.raftkv.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The free space a received snapshot must leave on the node's disk. A snapshot is as large as the
 * data, and a follower that fills its disk with one would fail its next Raft log write, which is
 * fatal (nothing may be acknowledged that is not durable); so writing a snapshot stops while there
 * is still room for the log, and the node stays on its old state, running.
 *
 * <p>The reserve covers what RocksDB may write at any moment without asking.
 */
final class DiskReserve {
  /**
   * Left free by snapshot writes: RocksDB's memtables (32 MiB) flushed, a new WAL file (RocksDB
   * preallocates 1.1 x the 16 MiB write buffer), and the log's own appends.
   */
  static final long BYTES = 64L << 20;

  private DiskReserve() {}

  /**
   * @throws IOException writing {@code bytes} more into {@code dir} would leave less than the
   *     reserve free; the message says how much is free
   */
  static void ensure(Path dir, long bytes, String what) throws IOException {
    long free = Files.getFileStore(dir).getUsableSpace();
    if (free - bytes < BYTES) {
      throw new IOException(
          "the disk is nearly full: "
              + mib(free)
              + " MiB free, and "
              + what
              + " must leave "
              + mib(BYTES)
              + " MiB for the Raft log");
    }
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f", bytes / (double) (1 << 20));
  }
}
