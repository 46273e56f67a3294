package io.raftkv.linearizability;

import java.util.Arrays;
import java.util.List;

/**
 * The call and return events of a partition's operations in one doubly linked list ordered by time,
 * calls before returns at equal times (so operations that touch are concurrent), with Knuth's
 * dancing-links removal and reinsertion of an operation's two events. Arrays, not nodes: event
 * {@code 2i} is operation i's call, {@code 2i + 1} its return, and {@link #HEAD} precedes them.
 */
final class EventList {

  private static final int NONE = -1;

  private final int head;
  private final int[] next;
  private final int[] prev;

  EventList(List<? extends Operation<?, ?>> ops) {
    int events = 2 * ops.size();
    head = events;
    next = new int[events + 1];
    prev = new int[events + 1];
    Integer[] order = new Integer[events];
    for (int e = 0; e < events; e++) {
      order[e] = e;
    }
    Arrays.sort(
        order,
        (a, b) -> {
          int byTime = Long.compare(time(ops, a), time(ops, b));
          if (byTime != 0) {
            return byTime;
          }
          int byKind = Boolean.compare(isReturn(a), isReturn(b)); // calls first
          return byKind != 0 ? byKind : Integer.compare(a, b);
        });
    int last = head;
    for (int e : order) {
      next[last] = e;
      prev[e] = last;
      last = e;
    }
    next[last] = NONE;
    prev[head] = NONE;
  }

  private static long time(List<? extends Operation<?, ?>> ops, int event) {
    Operation<?, ?> op = ops.get(event / 2);
    return isReturn(event) ? op.returnTime() : op.callTime();
  }

  static boolean isReturn(int event) {
    return (event & 1) != 0;
  }

  static int operation(int event) {
    return event >>> 1;
  }

  /** Whether every operation has been removed. */
  boolean isEmpty() {
    return next[head] == NONE;
  }

  /** The first event, or -1 when empty. */
  int first() {
    return next[head];
  }

  /** The event after {@code event}, or -1. */
  int next(int event) {
    return next[event];
  }

  /** Removes the call event {@code call} and its return. */
  void lift(int call) {
    unlink(call);
    unlink(call + 1);
  }

  /** Puts back what {@link #lift} removed; lifts must be undone in reverse order. */
  void unlift(int call) {
    relink(call + 1);
    relink(call);
  }

  private void unlink(int e) {
    next[prev[e]] = next[e];
    if (next[e] != NONE) {
      prev[next[e]] = prev[e];
    }
  }

  private void relink(int e) {
    next[prev[e]] = e;
    if (next[e] != NONE) {
      prev[next[e]] = e;
    }
  }
}
