package io.raftkv.linearizability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Shorthands for hand-written KV histories. */
final class Kv {

  private Kv() {}

  static Operation<KvInput, KvOutput> put(
      int client, String key, String value, long call, long ret) {
    return Operation.completed(client, KvInput.put(key, value), call, ret, KvOutput.ok());
  }

  static Operation<KvInput, KvOutput> append(
      int client, String key, String value, long call, long ret) {
    return Operation.completed(client, KvInput.append(key, value), call, ret, KvOutput.ok());
  }

  static Operation<KvInput, KvOutput> get(
      int client, String key, String value, long call, long ret) {
    return Operation.completed(client, KvInput.get(key), call, ret, KvOutput.value(value));
  }

  static Operation<KvInput, KvOutput> getMissing(int client, String key, long call, long ret) {
    return Operation.completed(client, KvInput.get(key), call, ret, KvOutput.noKey());
  }

  static Operation<KvInput, KvOutput> delete(int client, String key, long call, long ret) {
    return Operation.completed(client, KvInput.delete(key), call, ret, KvOutput.ok());
  }

  static Operation<KvInput, KvOutput> deleteMissing(int client, String key, long call, long ret) {
    return Operation.completed(client, KvInput.delete(key), call, ret, KvOutput.noKey());
  }

  static Operation<KvInput, KvOutput> timedOut(int client, KvInput input, long call) {
    return Operation.unknown(client, input, call);
  }

  @SafeVarargs
  static CheckResult check(Operation<KvInput, KvOutput>... ops) {
    List<Operation<KvInput, KvOutput>> list = new ArrayList<>();
    for (Operation<KvInput, KvOutput> op : ops) {
      list.add(op);
    }
    return check(list);
  }

  static CheckResult check(List<Operation<KvInput, KvOutput>> ops) {
    return LinearizabilityChecker.withBudget(Duration.ofSeconds(10))
        .check(new KvModel(), new History<>(ops));
  }
}
