package io.raftkv.sim;

import io.raftkv.proto.raft.ConfChange;
import io.raftkv.proto.raft.ConfChangeSingle;
import io.raftkv.proto.raft.ConfChangeType;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Random membership changes for a simulated run (chapter 4 of the dissertation), asked of whichever
 * node leads: a learner added, promoted or removed, a voter added or removed directly, a voter
 * replaced (one in, one out: the joint configuration), the cluster grown or shrunk by two (joint
 * too). Nodes start as the first configuration plus spares; a removed node stays up (it may not
 * have heard of its removal: it must not disturb the cluster, §4.2.3), and its id is never given to
 * a member again (the core refuses it).
 *
 * <p>The leader may refuse (a change pending, not yet committed in its term...) or lose leadership
 * on the way: that is part of the test.
 *
 * <p>Thread-safety: none; the simulation thread.
 */
public final class MembershipChanges {
  private final SimCluster cluster;
  private final SplittableRandom random;
  private final Consumer<String> log;

  /** Nodes that have been asked into a configuration: the others are fresh spares. */
  private final TreeSet<Integer> used = new TreeSet<>();

  private int changesAsked;

  public MembershipChanges(SimCluster cluster, SplittableRandom random, Consumer<String> log) {
    this.cluster = cluster;
    this.random = random;
    this.log = log;
    used.addAll(SimConfig.voters(cluster.config().initialVoters()));
  }

  /** How many changes were asked of a leader. */
  public int changesAsked() {
    return changesAsked;
  }

  /** Asks the leader (if any) for one random change. */
  public void step() {
    int leader = cluster.currentLeader();
    if (leader < 0) {
      return;
    }
    ConfState c = cluster.configuration(leader);
    TreeSet<Integer> voters = new TreeSet<>(c.getVotersList());
    List<Integer> learners = c.getLearnersList();
    List<Integer> fresh = new ArrayList<>();
    for (int i = 0; i < cluster.size(); i++) {
      if (!used.contains(i) && cluster.isUp(i)) {
        fresh.add(i);
      }
    }
    ConfChange.Builder change = ConfChange.newBuilder();
    String what;
    switch (random.nextInt(7)) {
      case 0, 1 -> {
        if (fresh.isEmpty()) {
          return;
        }
        int id = pick(fresh);
        add(change, ConfChangeType.CONF_CHANGE_ADD_LEARNER, id);
        what = "add learner n" + id;
      }
      case 2 -> {
        if (learners.isEmpty()) {
          return;
        }
        int id = pick(learners);
        add(change, ConfChangeType.CONF_CHANGE_PROMOTE, id);
        what = "promote n" + id;
      }
      case 3 -> {
        List<Integer> members = new ArrayList<>(voters);
        members.addAll(learners);
        int id = pick(members);
        add(change, ConfChangeType.CONF_CHANGE_REMOVE, id);
        what = "remove n" + id;
      }
      case 4 -> {
        if (fresh.isEmpty()) {
          return;
        }
        int id = pick(fresh);
        add(change, ConfChangeType.CONF_CHANGE_ADD_VOTER, id);
        what = "add voter n" + id;
      }
      case 5 -> {
        List<Integer> in = new ArrayList<>(learners);
        in.addAll(fresh);
        if (in.isEmpty()) {
          return;
        }
        int out = pick(new ArrayList<>(voters));
        int id = pick(in);
        add(
            change,
            learners.contains(id)
                ? ConfChangeType.CONF_CHANGE_PROMOTE
                : ConfChangeType.CONF_CHANGE_ADD_VOTER,
            id);
        add(change, ConfChangeType.CONF_CHANGE_REMOVE, out);
        what = "replace n" + out + " by n" + id;
      }
      default -> {
        if (random.nextBoolean() && fresh.size() >= 2) {
          int a = fresh.remove(random.nextInt(fresh.size()));
          int b = pick(fresh);
          add(change, ConfChangeType.CONF_CHANGE_ADD_VOTER, a);
          add(change, ConfChangeType.CONF_CHANGE_ADD_VOTER, b);
          what = "grow by n" + a + " and n" + b;
        } else if (voters.size() >= 3) {
          List<Integer> v = new ArrayList<>(voters);
          int a = v.remove(random.nextInt(v.size()));
          int b = pick(v);
          add(change, ConfChangeType.CONF_CHANGE_REMOVE, a);
          add(change, ConfChangeType.CONF_CHANGE_REMOVE, b);
          what = "shrink by n" + a + " and n" + b;
        } else {
          return;
        }
      }
    }
    for (ConfChangeSingle s : change.getChangesList()) {
      used.add(s.getMember().getId());
    }
    changesAsked++;
    String asked = what + " (asked of n" + leader + ")";
    log.accept(cluster.now() + " ms: " + asked);
    cluster.proposeConfChange(
        leader,
        change.build(),
        outcome ->
            log.accept(
                cluster.now()
                    + " ms: "
                    + asked
                    + ": "
                    + outcome.kind()
                    + (outcome.message().isEmpty() ? "" : " (" + outcome.message() + ")")));
  }

  private int pick(List<Integer> ids) {
    return ids.get(random.nextInt(ids.size()));
  }

  private static void add(ConfChange.Builder change, ConfChangeType type, int id) {
    change.addChanges(
        ConfChangeSingle.newBuilder()
            .setType(type)
            .setMember(Member.newBuilder().setId(id).setRaftAddress("sim:" + id)));
  }
}
