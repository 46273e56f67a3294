package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** InsertRead against an in-memory store that can lose, corrupt or refuse keys. No servers. */
class InsertReadTest {
  /** A map-backed target; key numbers in {@code lose} vanish, {@code corrupt} come back altered. */
  private static Target fake(int lose, int corrupt, int refuse) {
    Map<String, byte[]> store = new ConcurrentHashMap<>();
    return new Target() {
      @Override
      public String name() {
        return "fake";
      }

      @Override
      public String describe() {
        return "fake";
      }

      @Override
      public int nodes() {
        return 1;
      }

      @Override
      public Session session(int index) {
        return new Session() {
          @Override
          public void get(byte[] key) {}

          @Override
          public Optional<byte[]> read(byte[] key) {
            return Optional.ofNullable(store.get(new String(key)));
          }

          @Override
          public void put(byte[] key, byte[] value) {
            String k = new String(key);
            if (k.equals(new String(ValueCheck.key(refuse)))) {
              throw new IllegalStateException("refused");
            }
            if (k.equals(new String(ValueCheck.key(lose)))) {
              return;
            }
            byte[] v = Arrays.copyOf(value, value.length);
            if (k.equals(new String(ValueCheck.key(corrupt)))) {
              v[v.length - 1]++;
            }
            store.put(k, v);
          }

          @Override
          public void append(byte[] key, byte[] value) {
            throw new UnsupportedOperationException();
          }

          @Override
          public void close() {}
        };
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void aFaithfulStorePassesWithOneAndManyClients() throws Exception {
    for (int clients : new int[] {1, 7}) {
      List<InsertRead.Phase> ps = new InsertRead(fake(-1, -1, -1), 100, clients, 32, 5, null).run();
      assertThat(ps).extracting(InsertRead.Phase::phase).containsExactly("insert", "read");
      assertThat(ps).allSatisfy(p -> assertThat(p.ops()).isEqualTo(100));
      assertThat(ps).allSatisfy(p -> assertThat(p.failures()).isZero());
    }
  }

  @Test
  void lostCorruptedAndRefusedKeysAreCountedAndListed() throws Exception {
    List<InsertRead.Phase> ps = new InsertRead(fake(3, 50, 90), 100, 4, 32, 5, null).run();
    InsertRead.Phase insert = ps.get(0);
    InsertRead.Phase read = ps.get(1);
    assertThat(insert.errors()).isEqualTo(1);
    assertThat(insert.sampleErrors()).singleElement().asString().contains("refused");
    // Key 3 was lost, key 90 never written: both missing; key 50 came back wrong.
    assertThat(read.missing()).isEqualTo(2);
    assertThat(read.mismatches()).isEqualTo(1);
    assertThat(read.failures()).isEqualTo(3);
    assertThat(read.sampleErrors())
        .anySatisfy(s -> assertThat(s).startsWith("ir00000000000050: read 32 B"));
    assertThat(InsertReadCommand.markdown(ps)).contains("| fake | 4 | read | 100 | 0 | 2 | 1 |");
  }
}
