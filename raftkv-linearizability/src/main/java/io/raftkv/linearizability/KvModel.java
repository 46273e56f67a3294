package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * raftkv's key-value service as a sequential specification, one key at a time: the state is the
 * key's value, or empty when the key is absent.
 *
 * <ul>
 *   <li>Get returns the value, or {@link KvOutput#noKey()} when the key is absent.
 *   <li>Put sets the value and returns {@link KvOutput#ok()}.
 *   <li>Append appends to the value (to the empty string when the key is absent, so it acts like
 *       Put then) and returns {@link KvOutput#ok()}.
 *   <li>Delete removes the key and returns {@link KvOutput#ok()}; on a missing key it returns
 *       {@link KvOutput#noKey()} and changes nothing.
 * </ul>
 *
 * <p>{@link #partition} splits a history by key (keys are independent), labelling each part with
 * its key. It drops operations of unknown outcome that nothing could have observed, which would
 * only widen the search (exponentially in their number) without changing the verdict: Gets (they
 * change nothing and nobody saw their result), and Puts and Appends whose non-empty value appears
 * in no Get's output of the key when no Delete of the key returned OK after they were called.
 * {@link #step} assumes all its operations are on one key, which {@link #partition} guarantees.
 */
public final class KvModel implements Model<Optional<String>, KvInput, KvOutput> {

  @Override
  public Optional<String> init() {
    return Optional.empty();
  }

  @Override
  public Optional<Optional<String>> step(Optional<String> state, KvInput input, KvOutput output) {
    if (input instanceof KvInput.Get) {
      if (output == null) {
        return Optional.of(state);
      }
      KvOutput expected = state.map(KvOutput::value).orElse(KvOutput.noKey());
      return expected.equals(output) ? Optional.of(state) : Optional.empty();
    }
    if (input instanceof KvInput.Put put) {
      return acceptsOk(output) ? Optional.of(Optional.of(put.value())) : Optional.empty();
    }
    if (input instanceof KvInput.Append append) {
      return acceptsOk(output)
          ? Optional.of(Optional.of(state.orElse("") + append.value()))
          : Optional.empty();
    }
    // Delete
    if (output == null) {
      return Optional.of(Optional.empty());
    }
    KvOutput expected = state.isPresent() ? KvOutput.ok() : KvOutput.noKey();
    return expected.equals(output) ? Optional.of(Optional.empty()) : Optional.empty();
  }

  private static boolean acceptsOk(KvOutput output) {
    return output == null || output.status() == KvOutput.Status.OK;
  }

  @Override
  public Map<String, List<Operation<KvInput, KvOutput>>> partition(
      List<Operation<KvInput, KvOutput>> history) {
    Map<String, List<Operation<KvInput, KvOutput>>> byKey = new LinkedHashMap<>();
    for (Operation<KvInput, KvOutput> op : history) {
      if (!op.outcomeKnown() && op.input() instanceof KvInput.Get) {
        continue;
      }
      byKey.computeIfAbsent(op.input().key(), k -> new ArrayList<>()).add(op);
    }
    byKey.replaceAll((key, ops) -> withoutUnobservedWrites(ops));
    return byKey;
  }

  /**
   * Drops the Puts and Appends of unknown outcome that no operation could have observed, so that
   * the search need not try them at every point. Such an operation's non-empty value appears in no
   * Get's output, and no Delete that returned OK finished after it was called. Sound: take any
   * linearization with the write in it; until the next Put or Delete takes effect, every Get would
   * contain the value (there is none), no known Delete may run (it would report OK or, wrongly,
   * NO_KEY), and Appends return OK either way; so removing the write leaves a linearization.
   */
  private static List<Operation<KvInput, KvOutput>> withoutUnobservedWrites(
      List<Operation<KvInput, KvOutput>> ops) {
    List<String> reads = new ArrayList<>();
    for (Operation<KvInput, KvOutput> op : ops) {
      if (op.outcomeKnown() && op.output().status() == KvOutput.Status.VALUE) {
        reads.add(op.output().value());
      }
    }
    List<Operation<KvInput, KvOutput>> kept = new ArrayList<>(ops.size());
    for (Operation<KvInput, KvOutput> op : ops) {
      if (op.outcomeKnown() || !isUnobservedWrite(op, ops, reads)) {
        kept.add(op);
      }
    }
    return kept;
  }

  private static boolean isUnobservedWrite(
      Operation<KvInput, KvOutput> write,
      List<Operation<KvInput, KvOutput>> ops,
      List<String> reads) {
    String value;
    if (write.input() instanceof KvInput.Put put) {
      value = put.value();
    } else if (write.input() instanceof KvInput.Append append) {
      value = append.value();
    } else {
      return false;
    }
    if (value.isEmpty()) {
      return false;
    }
    for (String read : reads) {
      if (read.contains(value)) {
        return false;
      }
    }
    for (Operation<KvInput, KvOutput> op : ops) {
      if (op.input() instanceof KvInput.Delete
          && op.outcomeKnown()
          && op.output().status() == KvOutput.Status.OK
          && op.returnTime() >= write.callTime()) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String describeState(Optional<String> state) {
    return state.map(v -> "\"" + v + "\"").orElse("(absent)");
  }
}
