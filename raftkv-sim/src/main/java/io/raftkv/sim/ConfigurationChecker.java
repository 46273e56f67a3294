package io.raftkv.sim;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.HardState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Every committed configuration transition is one the dissertation allows (chapter 4): from a
 * simple configuration either to one whose voters differ by at most one (§4.1) or into the joint
 * configuration C_old,new whose outgoing half is exactly the old voters (§4.3); from a joint one
 * only out of it, to C_new. No member is both voter and learner. Checked on what each node applies,
 * in order, starting from the bootstrap configuration (the same for every node: State Machine
 * Safety makes the applied sequences agree).
 */
public final class ConfigurationChecker extends SafetyChecker {
  private final ConfState bootstrap;

  /** The last configuration each node's current state machine applied. */
  private final Map<Integer, ConfState> applied = new HashMap<>();

  public ConfigurationChecker(ConfState bootstrap) {
    super("Configuration changes");
    this.bootstrap = bootstrap;
  }

  @Override
  public void restarted(long time, int node, List<Entry> log, HardState hardState) {
    applied.put(node, bootstrap); // its state machine re-applies from its snapshot or index 1
  }

  @Override
  public void snapshotLoaded(long time, int node, long snapshotIndex, List<Entry> log) {
    applied.put(node, bootstrap);
    for (Entry e : log) {
      if (e.getIndex() <= snapshotIndex) {
        entryApplied(time, node, e);
      }
    }
  }

  @Override
  public void entryApplied(long time, int node, Entry entry) {
    if (entry.getType() != EntryType.ENTRY_CONFIG) {
      return;
    }
    ConfState next;
    try {
      next = ConfState.parseFrom(entry.getData());
    } catch (InvalidProtocolBufferException e) {
      violation(time, "n" + node + " applied an unreadable configuration at " + entry.getIndex());
      return;
    }
    ConfState prev = applied.getOrDefault(node, bootstrap);
    String why = illegal(prev, next);
    if (why != null) {
      violation(
          time,
          "n"
              + node
              + " applied configuration "
              + describe(next)
              + " at index "
              + entry.getIndex()
              + " after "
              + describe(prev)
              + ": "
              + why);
    }
    applied.put(node, next);
  }

  /** Why {@code prev -> next} is not a legal transition, or null if it is. */
  static String illegal(ConfState prev, ConfState next) {
    TreeSet<Integer> voters = new TreeSet<>(next.getVotersList());
    TreeSet<Integer> outgoing = new TreeSet<>(next.getVotersOutgoingList());
    for (int learner : next.getLearnersList()) {
      if (voters.contains(learner) || outgoing.contains(learner)) {
        return "member " + learner + " is both voter and learner";
      }
    }
    if (voters.isEmpty()) {
      return "no voters";
    }
    boolean prevJoint = prev.getVotersOutgoingCount() > 0;
    boolean nextJoint = !outgoing.isEmpty();
    if (prevJoint && nextJoint) {
      return "a joint configuration followed by another joint one";
    }
    if (prevJoint) {
      return voters.equals(new TreeSet<>(prev.getVotersList()))
          ? null
          : "leaving the joint configuration must keep its incoming voters";
    }
    if (nextJoint) {
      return outgoing.equals(new TreeSet<>(prev.getVotersList()))
          ? null
          : "the outgoing voters of a joint configuration must be the previous voters";
    }
    TreeSet<Integer> changed = new TreeSet<>(prev.getVotersList());
    changed.addAll(voters);
    TreeSet<Integer> common = new TreeSet<>(prev.getVotersList());
    common.retainAll(voters);
    changed.removeAll(common);
    return changed.size() <= 1 ? null : "voters " + changed + " changed at once, not jointly";
  }

  static String describe(ConfState c) {
    return "{voters "
        + c.getVotersList()
        + (c.getVotersOutgoingCount() > 0 ? ", outgoing " + c.getVotersOutgoingList() : "")
        + (c.getLearnersCount() > 0 ? ", learners " + c.getLearnersList() : "")
        + "}";
  }
}
