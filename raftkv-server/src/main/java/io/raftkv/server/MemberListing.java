package io.raftkv.server;

import io.raftkv.proto.admin.MemberListResponse;
import io.raftkv.proto.admin.MemberRole;
import io.raftkv.proto.admin.MemberStatus;
import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;

/**
 * The member list (admin.proto's MemberList) as one node sees it: the configuration in effect on
 * this node (§4.1: the latest in its log, committed or not), each member's addresses from the
 * {@link MemberDirectory}, and, on the leader, each member's match index. A follower answers with
 * its own view rather than NOT_LEADER: during an outage "who does this node think the members are"
 * is what an operator needs, and {@code from_leader} says whether the view is authoritative.
 *
 * <p>Thread-safety: stateless; reads published snapshots only.
 */
final class MemberListing {
  private MemberListing() {}

  static MemberListResponse of(RaftStatus s, MemberDirectory members) {
    ConfState c = s.configuration();
    boolean leading = s.role() == Role.LEADER;
    int leader = s.leaderId() == RaftConfig.NONE ? -1 : s.leaderId();
    MemberListResponse.Builder b =
        MemberListResponse.newBuilder()
            .setNodeId(s.id())
            .setFromLeader(leading)
            .setLeaderId(leader)
            .setLeaderAddress(leader < 0 ? "" : members.kvAddress(leader))
            .setConfigurationIndex(s.configurationIndex())
            .setJoint(c.getVotersOutgoingCount() > 0)
            .setCommitIndex(s.commitIndex());
    for (int id : MemberDirectory.ids(c)) {
      MemberStatus.Builder m =
          MemberStatus.newBuilder()
              .setId(id)
              .setRole(role(c, id))
              .setRaftAddress(raftAddress(c, id, members))
              .setKvAddress(kvAddress(c, id, members))
              .setLeader(id == leader);
      if (leading) {
        RaftStatus.PeerProgress p = s.peers().get(id);
        m.setMatchIndex(id == s.id() ? s.lastIndex() : p == null ? 0 : p.matchIndex());
      }
      b.addMembers(m);
    }
    return b.build();
  }

  static MemberRole role(ConfState c, int id) {
    if (c.getVotersList().contains(id)) {
      return MemberRole.VOTER;
    }
    if (c.getVotersOutgoingList().contains(id)) {
      return MemberRole.OUTGOING;
    }
    return c.getLearnersList().contains(id) ? MemberRole.LEARNER : MemberRole.MEMBER_ROLE_UNKNOWN;
  }

  /** From the configuration itself (a member added by a change), else the directory's (-r). */
  static String raftAddress(ConfState c, int id, MemberDirectory members) {
    for (Member m : c.getMembersList()) {
      if (m.getId() == id && !m.getRaftAddress().isEmpty()) {
        return m.getRaftAddress();
      }
    }
    return members.raftAddress(id).map(PeerAddress::toString).orElse("");
  }

  static String kvAddress(ConfState c, int id, MemberDirectory members) {
    for (Member m : c.getMembersList()) {
      if (m.getId() == id && !m.getKvAddress().isEmpty()) {
        return m.getKvAddress();
      }
    }
    return members.kvAddress(id);
  }
}
