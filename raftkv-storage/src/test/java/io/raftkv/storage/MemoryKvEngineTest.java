package io.raftkv.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftkv.proto.kvs.KvCommand;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The same {@link KvStateMachine} over RocksDB and over a {@link MemoryKvEngine} (the simulator's)
 * fed the same random entries (every operation, empty keys, no-ops, garbage, client id 0, retries,
 * stale and gapped sequences, unknown sessions, leader clocks jumping past the TTL, more clients
 * than sessions, batches of random sizes): every result, the data, the sessions and the applied
 * state must be the same, and reopening the memory engine must reload the same sessions.
 */
class MemoryKvEngineTest {
  @TempDir Path dir;

  private static final int KEYS = 6;

  static List<Entry> randomEntries(SplittableRandom r, long[] clients, int count) {
    long[] nextSeq = new long[clients.length];
    List<Entry> entries = new ArrayList<>();
    long clock = 1_000;
    for (long index = 1; index <= count; index++) {
      long term = 1 + index / 500;
      int kind = r.nextInt(100);
      Entry.Builder e = Entry.newBuilder().setIndex(index).setTerm(term);
      if (kind < 3) {
        entries.add(e.setType(EntryType.ENTRY_NOOP).build());
        continue;
      }
      if (kind < 5) {
        entries.add(
            e.setType(EntryType.ENTRY_NORMAL)
                .setData(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x01, 0x02}))
                .build());
        continue;
      }
      clock += r.nextInt(10) == 0 ? r.nextLong(300) : r.nextLong(5);
      int c = r.nextInt(clients.length);
      long seq;
      int s = r.nextInt(100);
      if (s < 60) {
        seq = ++nextSeq[c];
      } else if (s < 75) {
        seq = nextSeq[c]; // a retry (or 0 before the first)
      } else if (s < 85) {
        seq = Math.max(0, nextSeq[c] - 1 - r.nextInt(3)); // stale
      } else if (s < 95) {
        nextSeq[c] += 2 + r.nextInt(3); // a gap
        seq = nextSeq[c];
      } else {
        seq = 1; // a new session, or a stale 1
      }
      KvCommand.Builder cmd =
          KvCommand.newBuilder()
              .setClientId(clients[c])
              .setSequence(seq)
              .setLeaderTimeMillis(r.nextInt(20) == 0 ? 0 : clock);
      ByteString key = ByteString.copyFromUtf8(r.nextInt(30) == 0 ? "" : "k" + r.nextInt(KEYS));
      ByteString value = ByteString.copyFromUtf8("v" + index);
      int op = r.nextInt(100);
      if (op < 35) {
        cmd.setPut(KvCommand.Put.newBuilder().setKey(key).setValue(value));
      } else if (op < 75) {
        cmd.setAppend(KvCommand.Append.newBuilder().setKey(key).setValue(value));
      } else if (op < 97) {
        cmd.setDelete(KvCommand.Delete.newBuilder().setKey(key));
      } else if (op < 99) {
        cmd.setRegisterClient(KvCommand.RegisterClient.getDefaultInstance()); // §6.3
      } // else: no operation
      entries.add(e.setType(EntryType.ENTRY_NORMAL).setData(cmd.build().toByteString()).build());
    }
    return entries;
  }

  @ParameterizedTest(name = "seed {0}, ttl {1} ms, max sessions {2}")
  @CsvSource({"1, 600000, 65536", "2, 50, 3", "3, 200, 2", "4, 30, 1", "5, 100, 5"})
  void sameResultsOverRocksDbAndMemory(long seed, long ttlMillis, int maxSessions) {
    SplittableRandom r = new SplittableRandom(seed);
    long[] clients = {0, 7, 8, 9, -3, 42, 1000};
    List<Entry> entries = randomEntries(r, clients, 3_000);
    KvStateMachine.Options options =
        new KvStateMachine.Options(Duration.ofMillis(ttlMillis), maxSessions);
    MemoryKvEngine memory = new MemoryKvEngine();
    KvStateMachine mem = new KvStateMachine(memory, options);
    try (RocksStore store = RocksStore.open(dir, new NodeIdentity("c", 0))) {
      KvStateMachine real = new KvStateMachine(store, options);
      int at = 0;
      while (at < entries.size()) {
        int n = 1 + r.nextInt(Math.min(20, entries.size() - at));
        List<Entry> batch = entries.subList(at, at + n);
        KvStateMachine.ApplyResult want = real.apply(batch);
        // The simulator applies one entry at a time; batching must not matter.
        List<KvStateMachine.Applied> got = new ArrayList<>();
        int expired = 0;
        int evicted = 0;
        for (Entry e : batch) {
          KvStateMachine.ApplyResult one = mem.apply(List.of(e));
          got.addAll(one.results());
          expired += one.expiredSessions();
          evicted += one.evictedSessions();
        }
        assertThat(got).as("entries %d..", batch.get(0).getIndex()).isEqualTo(want.results());
        assertThat(expired).isEqualTo(want.expiredSessions());
        assertThat(evicted).isEqualTo(want.evictedSessions());
        assertThat(mem.sessionCount()).isEqualTo(real.sessionCount());
        at += n;
      }
      assertThat(mem.appliedIndex()).isEqualTo(real.appliedIndex());
      assertThat(mem.appliedTerm()).isEqualTo(real.appliedTerm());
      assertThat(mem.clockMillis()).isEqualTo(real.clockMillis());
      for (int k = 0; k < KEYS; k++) {
        byte[] key = ("k" + k).getBytes();
        assertThat(mem.get(key).map(String::new))
            .as("key k%d", k)
            .isEqualTo(real.get(key).map(String::new));
      }
      for (long c : clients) {
        assertThat(mem.session(c)).as("session %d", c).isEqualTo(real.session(c));
      }
      // Reopening the memory engine reloads the applied state and the sessions.
      KvStateMachine reopened = new KvStateMachine(memory, options);
      assertThat(reopened.appliedIndex()).isEqualTo(real.appliedIndex());
      assertThat(reopened.clockMillis()).isEqualTo(real.clockMillis());
      for (long c : clients) {
        assertThat(reopened.session(c)).as("reloaded session %d", c).isEqualTo(real.session(c));
      }
      // Entries already applied are refused: a restarted node's Raft resumes after the applied
      // index, so an entry handed over twice is a driver bug.
      assertThatThrownBy(() -> reopened.apply(entries.subList(0, 10)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("expected entry " + (real.appliedIndex() + 1));
      assertThat(mem.get("absent".getBytes())).isEqualTo(Optional.empty());
    }
  }

  /** A snapshot's size counts every key and value, user data and metadata, and nothing else. */
  @Test
  void imageBytesCountsTheKeysAndValuesOfDataAndMetadata() {
    MemoryKvEngine engine = new MemoryKvEngine();
    assertThat(engine.imageBytes()).isZero();
    KvEngine.Batch b = engine.newBatch();
    b.put("k".getBytes(), "vvv".getBytes());
    b.putMeta("applied".getBytes(), new byte[5]);
    b.commit();
    assertThat(engine.imageBytes()).isEqualTo(1 + 3 + 7 + 5);
    b.put("k".getBytes(), "v".getBytes()); // replaced, not added
    b.delete("absent".getBytes());
    b.commit();
    assertThat(engine.imageBytes()).isEqualTo(1 + 1 + 7 + 5);
  }
}
