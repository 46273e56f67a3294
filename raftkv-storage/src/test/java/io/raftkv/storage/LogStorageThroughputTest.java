package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke test of fsync'd persists per second. It prints what it measures and asserts only that the
 * data is there: timing goals belong to the benchmark tool, not to tests.
 */
class LogStorageThroughputTest {
  private static final long BUDGET_NANOS = 1_500_000_000L;
  private static final int MAX_PERSISTS = 5_000;

  @TempDir Path dir;

  @Test
  void printsSyncedPersistsPerSecond() {
    try (RocksStore store = RocksStore.open(dir, new NodeIdentity("bench", 0))) {
      RocksLogStorage log = new RocksLogStorage(store);
      long next = 1;
      next = measure(log, next, 1, 128);
      next = measure(log, next, 64, 128);
      assertThat(log.lastIndex()).isEqualTo(next - 1);
      assertThat(log.load(0).entries()).hasSize((int) (next - 1));
    }
  }

  private static long measure(RocksLogStorage log, long next, int batch, int payloadBytes) {
    byte[] payload = new byte[payloadBytes];
    Arrays.fill(payload, (byte) 'x');
    ByteString data = ByteString.copyFrom(payload);
    // Warm up: the first writes create files.
    for (int i = 0; i < 20; i++) {
      log.persist(hardState(next + batch - 1), batch(next, batch, data), true);
      next += batch;
    }
    long[] latencies = new long[MAX_PERSISTS];
    int n = 0;
    long start = System.nanoTime();
    while (n < MAX_PERSISTS && System.nanoTime() - start < BUDGET_NANOS) {
      List<Entry> entries = batch(next, batch, data);
      long t0 = System.nanoTime();
      log.persist(hardState(next + batch - 1), entries, true);
      latencies[n++] = System.nanoTime() - t0;
      next += batch;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    long[] sorted = Arrays.copyOf(latencies, n);
    Arrays.sort(sorted);
    System.out.printf(
        "raftkv-storage: %d-entry batches (%d B each): %.0f fsync'd persists/s, %.0f entries/s,"
            + " latency p50 %.2f ms p99 %.2f ms (%d persists)%n",
        batch,
        payloadBytes,
        n / seconds,
        n * batch / seconds,
        sorted[n / 2] / 1e6,
        sorted[Math.min(n - 1, (int) (n * 0.99))] / 1e6,
        n);
    return next;
  }

  private static List<Entry> batch(long from, int count, ByteString data) {
    List<Entry> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(
          Entry.newBuilder()
              .setIndex(from + i)
              .setTerm(1)
              .setType(EntryType.ENTRY_NORMAL)
              .setData(data)
              .build());
    }
    return out;
  }

  private static HardState hardState(long commit) {
    // A leader's Ready: term and vote unchanged, commit advancing.
    return HardState.newBuilder().setCurrentTerm(1).setVotedFor(0).setCommit(commit - 1).build();
  }
}
