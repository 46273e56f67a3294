package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Random linearizable KV histories: a sequential KV store executes operations one at a time at
 * increasing linearization points; each operation's call and return are placed at random distances
 * before and after its point, without overlapping its client's previous operation. Some operations
 * time out: their outcome is unknown and they take effect (at their point) or not.
 */
final class RandomKvHistory {

  private RandomKvHistory() {}

  static History<KvInput, KvOutput> generate(
      long seed, int operations, int clients, int keys, int jitter, double timeoutRate) {
    Random random = new Random(seed);
    Map<String, String> store = new HashMap<>();
    long[] freeAt = new long[clients];
    List<Operation<KvInput, KvOutput>> ops = new ArrayList<>(operations);
    long point = 0;
    for (int i = 0; i < operations; i++) {
      point += 1 + random.nextInt(3);
      int client = random.nextInt(clients);
      if (freeAt[client] >= point) {
        client = 0;
        for (int c = 1; c < clients; c++) {
          if (freeAt[c] < freeAt[client]) {
            client = c;
          }
        }
        point = Math.max(point, freeAt[client] + 1);
      }
      long call = Math.max(freeAt[client] + 1, point - random.nextInt(jitter + 1));
      long ret = point + random.nextInt(jitter + 1);
      freeAt[client] = ret;

      String key = "k" + random.nextInt(keys);
      KvInput input = randomInput(random, key, "c" + client + "." + i + ";");
      boolean timedOut = random.nextDouble() < timeoutRate;
      if (timedOut) {
        if (random.nextBoolean()) {
          apply(store, input); // took effect, but the client never learned it
        }
        ops.add(Operation.unknown(client, input, call));
      } else {
        ops.add(Operation.completed(client, input, call, ret, apply(store, input)));
      }
    }
    return new History<>(ops);
  }

  private static KvInput randomInput(Random random, String key, String token) {
    int dice = random.nextInt(100);
    if (dice < 40) {
      return KvInput.get(key);
    } else if (dice < 65) {
      return KvInput.put(key, token);
    } else if (dice < 88) {
      return KvInput.append(key, token);
    } else {
      return KvInput.delete(key);
    }
  }

  /** The sequential store. */
  private static KvOutput apply(Map<String, String> store, KvInput input) {
    String key = input.key();
    if (input instanceof KvInput.Get) {
      String value = store.get(key);
      return value == null ? KvOutput.noKey() : KvOutput.value(value);
    } else if (input instanceof KvInput.Put put) {
      store.put(key, put.value());
    } else if (input instanceof KvInput.Append append) {
      store.merge(key, append.value(), String::concat);
    } else {
      return store.remove(key) == null ? KvOutput.noKey() : KvOutput.ok();
    }
    return KvOutput.ok();
  }

  /**
   * {@code history} with the {@code n}th (modulo their number) Get that read something replaced by
   * a read of a value never written.
   */
  static History<KvInput, KvOutput> withPhantomRead(History<KvInput, KvOutput> history, int n) {
    List<Integer> reads = new ArrayList<>();
    List<Operation<KvInput, KvOutput>> ops = new ArrayList<>(history.operations());
    for (int i = 0; i < ops.size(); i++) {
      if (ops.get(i).input() instanceof KvInput.Get && ops.get(i).outcomeKnown()) {
        reads.add(i);
      }
    }
    int victim = reads.get(Math.floorMod(n, reads.size()));
    Operation<KvInput, KvOutput> read = ops.get(victim);
    ops.set(
        victim,
        Operation.completed(
            read.clientId(),
            read.input(),
            read.callTime(),
            read.returnTime(),
            KvOutput.value("never-written")));
    return new History<>(ops);
  }
}
