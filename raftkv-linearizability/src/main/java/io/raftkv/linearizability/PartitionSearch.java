package io.raftkv.linearizability;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Porcupine's {@code checkSingle} for one partition: the Wing &amp; Gong backtracking search over
 * the time-ordered event list, with Lowe's memoization of (linearized set, state).
 *
 * <p>Walk the list from its head. At a call whose operation the model accepts from the current
 * state, mark it linearized; if that (set, state) was not seen before, remember it, push (call,
 * previous state), lift the operation's call and return out of the list and restart from the head;
 * otherwise skip it. Reaching a return means its operation can no longer be placed after those on
 * the stack: pop the last one, put its events back, and try the call after it. An empty stack there
 * means the partition is not linearizable; an empty list means it is.
 *
 * <p>Unknown outcomes: such an operation's return is at +infinity, after every other event, so it
 * may be linearized anywhere after its call. Reaching such a return means every operation left has
 * an unknown outcome (any other return would come first): the search succeeds with those never
 * having taken effect.
 */
final class PartitionSearch<S, I, O> {

  /** How often (in loop iterations) the stop condition is polled. */
  private static final int POLL_MASK = 1023;

  private final Model<S, I, O> model;
  private final String label;
  private final List<Operation<I, O>> ops;

  PartitionSearch(Model<S, I, O> model, String label, List<Operation<I, O>> ops) {
    this.model = model;
    this.label = label;
    this.ops = ops;
  }

  /** The result of one partition's search. */
  record Outcome(CheckResult.Verdict verdict, Counterexample counterexample, long states) {}

  /**
   * Runs the search, giving up (verdict UNKNOWN) soon after {@code stop} becomes true or once more
   * than {@code maxStates} configurations are memoized.
   */
  Outcome run(BooleanSupplier stop, long maxStates) {
    int n = ops.size();
    EventList events = new EventList(ops);
    LinearizedSet linearized = new LinearizedSet(n);
    Set<Config> cache = new HashSet<>();
    int[] stackCall = new int[n];
    Object[] stackState = new Object[n];
    int depth = 0;
    S state = model.init();
    Deepest deepest = null;
    long iterations = 0;
    if (stop.getAsBoolean()) {
      return new Outcome(CheckResult.Verdict.UNKNOWN, null, 0);
    }
    int entry = events.first();
    while (!events.isEmpty()) {
      if ((++iterations & POLL_MASK) == 0 && (stop.getAsBoolean() || cache.size() > maxStates)) {
        return new Outcome(CheckResult.Verdict.UNKNOWN, null, cache.size());
      }
      int opIndex = EventList.operation(entry);
      Operation<I, O> op = ops.get(opIndex);
      if (!EventList.isReturn(entry)) {
        Optional<S> next = model.step(state, op.input(), op.output());
        if (next.isPresent()) {
          S newState = next.get();
          linearized.set(opIndex);
          Config config = new Config(linearized.words(), linearized.hash(), newState);
          if (!cache.contains(config)) {
            cache.add(config.freeze());
            stackCall[depth] = entry;
            stackState[depth] = state;
            depth++;
            state = newState;
            events.lift(entry);
            entry = events.first();
            continue;
          }
          linearized.clear(opIndex);
        }
        entry = events.next(entry);
      } else {
        if (!op.outcomeKnown()) {
          return new Outcome(CheckResult.Verdict.OK, null, cache.size());
        }
        if (deepest == null || depth > deepest.prefix.length) {
          deepest = new Deepest(stackOps(stackCall, depth), state, pendingCalls(events, entry), op);
        }
        if (depth == 0) {
          return new Outcome(CheckResult.Verdict.ILLEGAL, explain(deepest), cache.size());
        }
        depth--;
        int call = stackCall[depth];
        @SuppressWarnings("unchecked")
        S previous = (S) stackState[depth];
        state = previous;
        stackState[depth] = null;
        linearized.clear(EventList.operation(call));
        events.unlift(call);
        entry = events.next(call);
      }
    }
    return new Outcome(CheckResult.Verdict.OK, null, cache.size());
  }

  private static int[] stackOps(int[] stackCall, int depth) {
    int[] prefix = new int[depth];
    for (int i = 0; i < depth; i++) {
      prefix[i] = EventList.operation(stackCall[i]);
    }
    return prefix;
  }

  /** The operations whose calls precede {@code returnEvent} in the list. */
  private static int[] pendingCalls(EventList events, int returnEvent) {
    int[] pending = new int[8];
    int count = 0;
    for (int e = events.first(); e != returnEvent; e = events.next(e)) {
      if (count == pending.length) {
        pending = Arrays.copyOf(pending, 2 * count);
      }
      pending[count++] = EventList.operation(e);
    }
    return Arrays.copyOf(pending, count);
  }

  private Counterexample explain(Deepest deepest) {
    List<Operation<?, ?>> prefix = new ArrayList<>();
    for (int i : deepest.prefix) {
      prefix.add(ops.get(i));
    }
    List<Operation<?, ?>> rejected = new ArrayList<>();
    List<Operation<?, ?>> deadEnds = new ArrayList<>();
    for (int i : deepest.pending) {
      Operation<I, O> op = ops.get(i);
      boolean allowed = model.step(deepest.state, op.input(), op.output()).isPresent();
      (allowed ? deadEnds : rejected).add(op);
    }
    return new Counterexample(
        label,
        ops.size(),
        prefix,
        model.describeState(deepest.state),
        rejected,
        deadEnds,
        deepest.overdue);
  }

  /** The deepest point where the search had to backtrack. */
  private final class Deepest {
    final int[] prefix;
    final S state;
    final int[] pending;
    final Operation<I, O> overdue;

    Deepest(int[] prefix, S state, int[] pending, Operation<I, O> overdue) {
      this.prefix = prefix;
      this.state = state;
      this.pending = pending;
      this.overdue = overdue;
    }
  }

  /**
   * A memoized search configuration. Built around the live words of the linearized set for the
   * lookup; {@link #freeze} copies them before the configuration is kept.
   */
  private final class Config {
    private long[] words;
    private final S state;
    private final int hash;

    Config(long[] words, long setHash, S state) {
      this.words = words;
      this.state = state;
      this.hash = Long.hashCode(setHash) * 31 + model.stateHash(state);
    }

    Config freeze() {
      words = words.clone();
      return this;
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof PartitionSearch<?, ?, ?>.Config)) {
        return false;
      }
      @SuppressWarnings("unchecked")
      Config other = (Config) o;
      return hash == other.hash
          && LinearizedSet.sameWords(words, other.words)
          && model.stateEquals(state, other.state);
    }
  }
}
