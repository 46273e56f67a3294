package io.raftkv.raft;

import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Who is in the cluster (dissertation chapter 4, in the shape of etcd's ConfChangeV2): the voters,
 * which decide elections and commitment; while a change is under way, the outgoing voters (C_old of
 * the joint configuration C_old,new, §4.3), whose majority is needed too; and the learners, which
 * receive the log but never vote or count. Every id is in at most one of the three sets.
 *
 * <p>Immutable; sets iterate in id order (determinism).
 */
final class Configuration {
  static final Configuration EMPTY =
      new Configuration(List.of(), List.of(), List.of(), new TreeMap<>(), List.of());

  private final SortedSet<Integer> voters;
  private final SortedSet<Integer> outgoing;
  private final SortedSet<Integer> learners;
  private final Map<Integer, Member> members;

  /** Ids removed so far: never reused. */
  private final SortedSet<Integer> removed;

  private final ConfState confState;

  private Configuration(
      Collection<Integer> voters,
      Collection<Integer> outgoing,
      Collection<Integer> learners,
      Map<Integer, Member> members,
      Collection<Integer> removed) {
    this.removed = Collections.unmodifiableSortedSet(new TreeSet<>(removed));
    this.voters = Collections.unmodifiableSortedSet(new TreeSet<>(voters));
    this.outgoing = Collections.unmodifiableSortedSet(new TreeSet<>(outgoing));
    this.learners = Collections.unmodifiableSortedSet(new TreeSet<>(learners));
    TreeMap<Integer, Member> kept = new TreeMap<>();
    members.forEach(
        (id, m) -> {
          if (contains(id)) {
            kept.put(id, m);
          }
        });
    this.members = Collections.unmodifiableMap(kept);
    this.confState =
        ConfState.newBuilder()
            .addAllVoters(this.voters)
            .addAllVotersOutgoing(this.outgoing)
            .addAllLearners(this.learners)
            .addAllMembers(this.members.values())
            .addAllRemoved(this.removed)
            .build();
  }

  /** A configuration of voters only, as a cluster is first started. */
  static Configuration ofVoters(Collection<Integer> voters) {
    return new Configuration(voters, List.of(), List.of(), new TreeMap<>(), List.of());
  }

  static Configuration fromConfState(ConfState cs) {
    Map<Integer, Member> members = new TreeMap<>();
    for (Member m : cs.getMembersList()) {
      members.put(m.getId(), m);
    }
    return new Configuration(
        cs.getVotersList(),
        cs.getVotersOutgoingList(),
        cs.getLearnersList(),
        members,
        cs.getRemovedList());
  }

  ConfState toConfState() {
    return confState;
  }

  /** No configuration at all: a node waiting to be added. */
  boolean isEmpty() {
    return voters.isEmpty() && outgoing.isEmpty() && learners.isEmpty();
  }

  /** C_old,new (§4.3): decisions need a majority of the voters and of the outgoing voters. */
  boolean isJoint() {
    return !outgoing.isEmpty();
  }

  SortedSet<Integer> voters() {
    return voters;
  }

  SortedSet<Integer> outgoing() {
    return outgoing;
  }

  SortedSet<Integer> learners() {
    return learners;
  }

  /** Whether {@code id} votes in this configuration (in either half of a joint one). */
  boolean isVoter(int id) {
    return voters.contains(id) || outgoing.contains(id);
  }

  boolean isLearner(int id) {
    return learners.contains(id);
  }

  boolean contains(int id) {
    return isVoter(id) || learners.contains(id);
  }

  /** Every voter of either half, in id order. */
  SortedSet<Integer> allVoters() {
    TreeSet<Integer> all = new TreeSet<>(voters);
    all.addAll(outgoing);
    return all;
  }

  /** Every member, voters and learners, in id order. */
  SortedSet<Integer> allMembers() {
    TreeSet<Integer> all = new TreeSet<>(allVoters());
    all.addAll(learners);
    return all;
  }

  /**
   * The configuration that {@code change} asks for, or why it is refused. A change of at most one
   * voter (an addition, removal or promotion, plus any learner changes) takes effect directly: any
   * two majorities of configurations that differ by one voter overlap (§4.1). A larger change
   * enters the joint configuration C_old,new (§4.3), which the leader leaves once it is committed.
   *
   * @throws ConfChangeRefusedException the change is invalid here (the message says why)
   */
  Configuration apply(ConfChange change) {
    if (isJoint()) {
      throw new ConfChangeRefusedException(
          "the configuration is joint (a change is still being completed); retry once it is left");
    }
    if (change.getChangesCount() == 0) {
      throw new ConfChangeRefusedException("the change is empty");
    }
    TreeSet<Integer> newVoters = new TreeSet<>(voters);
    TreeSet<Integer> newLearners = new TreeSet<>(learners);
    TreeMap<Integer, Member> newMembers = new TreeMap<>(members);
    TreeSet<Integer> newRemoved = new TreeSet<>(removed);
    Set<Integer> touched = new TreeSet<>();
    for (ConfChangeSingle c : change.getChangesList()) {
      int id = c.getMember().getId();
      if (id < 0) {
        throw new ConfChangeRefusedException("member ids must be >= 0, not " + id);
      }
      if (!touched.add(id)) {
        // Remove-then-add would let a new process (an empty log) take over a voter's id.
        throw new ConfChangeRefusedException("member " + id + " is named twice in one change");
      }
      boolean known = newVoters.contains(id) || newLearners.contains(id);
      switch (c.getType()) {
        case CONF_CHANGE_ADD_LEARNER, CONF_CHANGE_ADD_VOTER -> {
          if (known) {
            throw new ConfChangeRefusedException("member " + id + " exists already");
          }
          if (removed.contains(id)) {
            throw new ConfChangeRefusedException(
                "member id " + id + " was removed from this cluster before; ids are never reused");
          }
          checkAddressFree(newMembers, c.getMember());
          (c.getType() == io.raftkv.proto.raft.ConfChangeType.CONF_CHANGE_ADD_VOTER
                  ? newVoters
                  : newLearners)
              .add(id);
          newMembers.put(id, c.getMember());
        }
        case CONF_CHANGE_PROMOTE -> {
          if (!newLearners.contains(id)) {
            throw new ConfChangeRefusedException(
                newVoters.contains(id)
                    ? "member " + id + " is a voter already"
                    : "no learner " + id + " to promote");
          }
          newLearners.remove(id);
          newVoters.add(id);
        }
        case CONF_CHANGE_REMOVE -> {
          if (!known) {
            throw new ConfChangeRefusedException("no member " + id + " to remove");
          }
          newVoters.remove(id);
          newLearners.remove(id);
          newMembers.remove(id);
          newRemoved.add(id);
        }
        default -> throw new ConfChangeRefusedException("unknown change type " + c.getTypeValue());
      }
    }
    if (newVoters.isEmpty()) {
      throw new ConfChangeRefusedException(
          "the change would leave no voter (a cluster needs at least one)");
    }
    TreeSet<Integer> changed = new TreeSet<>(voters);
    changed.addAll(newVoters);
    TreeSet<Integer> common = new TreeSet<>(voters);
    common.retainAll(newVoters);
    changed.removeAll(common);
    if (changed.size() <= 1) {
      return new Configuration(newVoters, List.of(), newLearners, newMembers, newRemoved);
    }
    for (int learner : newLearners) {
      if (voters.contains(learner)) {
        throw new ConfChangeRefusedException(
            "member " + learner + " cannot turn from voter into learner (remove it instead)");
      }
    }
    // Keep the addresses of the outgoing voters: they still take part until the joint
    // configuration is left.
    TreeMap<Integer, Member> jointMembers = new TreeMap<>(members);
    jointMembers.putAll(newMembers);
    return new Configuration(newVoters, voters, newLearners, jointMembers, newRemoved);
  }

  /** C_new after C_old,new (§4.3): the outgoing voters no longer count and leave. */
  Configuration leaveJoint() {
    if (!isJoint()) {
      throw new IllegalStateException("not a joint configuration: " + this);
    }
    return new Configuration(voters, List.of(), learners, members, removed);
  }

  private static void checkAddressFree(Map<Integer, Member> members, Member added) {
    if (added.getRaftAddress().isEmpty()) {
      return;
    }
    for (Member m : members.values()) {
      if (m.getRaftAddress().equals(added.getRaftAddress())) {
        throw new ConfChangeRefusedException(
            "raft address " + added.getRaftAddress() + " is used by member " + m.getId());
      }
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Configuration c
        && voters.equals(c.voters)
        && outgoing.equals(c.outgoing)
        && learners.equals(c.learners)
        && members.equals(c.members)
        && removed.equals(c.removed);
  }

  @Override
  public int hashCode() {
    return voters.hashCode() * 31 + outgoing.hashCode() * 17 + learners.hashCode();
  }

  @Override
  public String toString() {
    return "voters="
        + voters
        + (isJoint() ? " outgoing=" + outgoing : "")
        + (learners.isEmpty() ? "" : " learners=" + learners);
  }
}
