package io.raftkv.linearizability;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** KvModel partitioned by key only, without dropping unknown outcomes: the search handles all. */
final class UnreducedKvModel implements Model<Optional<String>, KvInput, KvOutput> {
  private final KvModel kv = new KvModel();

  @Override
  public Optional<String> init() {
    return kv.init();
  }

  @Override
  public Optional<Optional<String>> step(Optional<String> state, KvInput in, KvOutput out) {
    return kv.step(state, in, out);
  }

  @Override
  public Map<String, List<Operation<KvInput, KvOutput>>> partition(
      List<Operation<KvInput, KvOutput>> history) {
    return history.stream()
        .collect(Collectors.groupingBy(op -> op.input().key(), Collectors.toList()));
  }
}
