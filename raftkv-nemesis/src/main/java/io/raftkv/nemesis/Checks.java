package io.raftkv.nemesis;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.History;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvModel;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The checks on a recorded history that need no cluster. */
final class Checks {
  private static final Pattern TOKEN = Pattern.compile("\\[[^\\]]*\\]");

  private Checks() {}

  /** Linearizability of the history (FAILED operations left out: they did not happen). */
  static CheckResult linearizability(List<Op> ops, Duration budget) {
    List<Operation<KvInput, KvOutput>> history = new ArrayList<>(ops.size());
    for (Op op : ops) {
      Operation<KvInput, KvOutput> o = op.toOperation();
      if (o != null) {
        history.add(o);
      }
    }
    return LinearizabilityChecker.withBudget(budget).check(new KvModel(), new History<>(history));
  }

  /**
   * No acknowledged write lost: every acknowledged Put or Append whose token no later Put of its
   * key can have overwritten (no other Put, acknowledged or of unknown outcome, returned after it
   * was called) must be in the key's final value. Puts only happen on some keys, so on the others
   * every acknowledged append is checked.
   *
   * @param finals each key's final value, read linearizably after the cluster healed (null: absent)
   */
  static List<String> lostWrites(List<Op> ops, Map<String, String> finals) {
    Map<String, List<Op>> putsByKey = new HashMap<>();
    for (Op op : ops) {
      if (op.input() instanceof KvInput.Put && op.outcome() != Op.Outcome.FAILED) {
        putsByKey.computeIfAbsent(op.input().key(), k -> new ArrayList<>()).add(op);
      }
    }
    List<String> lost = new ArrayList<>();
    for (Op op : ops) {
      if (!op.isWrite() || op.outcome() != Op.Outcome.OK) {
        continue;
      }
      String key = op.input().key();
      String fin = finals.get(key);
      if (fin != null && fin.contains(op.token())) {
        continue;
      }
      boolean mayBeOverwritten = false;
      for (Op put : putsByKey.getOrDefault(key, List.of())) {
        if (put != op && put.returnOrInfinity() >= op.call()) {
          mayBeOverwritten = true;
          break;
        }
      }
      if (!mayBeOverwritten) {
        lost.add(
            "acknowledged write lost: "
                + op.input()
                + " by client "
                + op.client()
                + " (acknowledged at "
                + op.ret()
                + ") is not in the final value "
                + (fin == null ? "(absent)" : "\"" + fin + "\""));
      }
    }
    return lost;
  }

  /** No write applied twice: no value read (final values included) holds a token twice. */
  static List<String> duplicates(List<Op> ops, Map<String, String> finals) {
    List<String> dups = new ArrayList<>();
    for (Op op : ops) {
      if (op.outcome() == Op.Outcome.OK && op.output().status() == KvOutput.Status.VALUE) {
        String d = duplicateToken(op.output().value());
        if (d != null) {
          dups.add("token " + d + " applied twice: " + op.input() + " read " + op.output());
        }
      }
    }
    for (Map.Entry<String, String> e : finals.entrySet()) {
      String d = e.getValue() == null ? null : duplicateToken(e.getValue());
      if (d != null) {
        dups.add(
            "token " + d + " applied twice: final value of " + e.getKey() + " " + e.getValue());
      }
    }
    return dups;
  }

  private static String duplicateToken(String value) {
    Set<String> seen = new HashSet<>();
    Matcher m = TOKEN.matcher(value);
    while (m.find()) {
      if (!seen.add(m.group())) {
        return m.group();
      }
    }
    return null;
  }
}
