package io.raftkv.server;

import io.raftkv.proto.raft.ConfState;
import io.raftkv.proto.raft.Member;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Who the members are and where to reach them (dissertation chapter 4): the configuration in
 * effect, as the core last reported it, and each member's raft and KV address. A member added by a
 * membership change carries its addresses in the configuration; the members of the first
 * configuration have theirs on the command line ({@code -r}, {@code --kvs-peers}), by id.
 *
 * <p>Thread-safety: {@link #update} runs on the node's loop; readers (transport, snapshot streams,
 * the Admin and KV services) may call from any thread and see a consistent view.
 */
final class MemberDirectory {
  /** One consistent view. */
  private record View(ConfState configuration, Map<Integer, Member> members) {}

  private final int self;
  private final ServerConfig config;
  private volatile View view;
  private final List<Consumer<ConfState>> listeners = new CopyOnWriteArrayList<>();

  MemberDirectory(ServerConfig config, ConfState initial) {
    this.self = config.nodeId();
    this.config = config;
    this.view = build(initial);
  }

  /** The configuration took effect on this node (the loop thread): listeners hear it. */
  void update(ConfState configuration) {
    view = build(configuration);
    listeners.forEach(l -> l.accept(configuration));
  }

  /** {@code listener} hears every new configuration (on the loop thread). */
  void onChange(Consumer<ConfState> listener) {
    listeners.add(listener);
  }

  private View build(ConfState c) {
    Map<Integer, Member> members = new TreeMap<>();
    for (int id : ids(c)) {
      members.put(id, bootstrapMember(id));
    }
    for (Member m : c.getMembersList()) {
      Member known = members.getOrDefault(m.getId(), bootstrapMember(m.getId()));
      members.put(
          m.getId(),
          Member.newBuilder()
              .setId(m.getId())
              .setRaftAddress(
                  m.getRaftAddress().isEmpty() ? known.getRaftAddress() : m.getRaftAddress())
              .setKvAddress(m.getKvAddress().isEmpty() ? known.getKvAddress() : m.getKvAddress())
              .build());
    }
    return new View(c, members);
  }

  /** A member of the first configuration: its addresses from the command line, by id. */
  private Member bootstrapMember(int id) {
    Member.Builder b = Member.newBuilder().setId(id);
    PeerAddress raft = config.raftPeersById().get(id);
    if (raft != null) {
      b.setRaftAddress(raft.toString());
    }
    b.setKvAddress(config.kvsAddressOf(id));
    return b.build();
  }

  /** Every member of {@code c}: voters of either half and learners, in id order. */
  static SortedSet<Integer> ids(ConfState c) {
    TreeSet<Integer> ids = new TreeSet<>(c.getVotersList());
    ids.addAll(c.getVotersOutgoingList());
    ids.addAll(c.getLearnersList());
    return ids;
  }

  ConfState configuration() {
    return view.configuration();
  }

  /** Every member with its addresses, in id order. */
  Map<Integer, Member> members() {
    return view.members();
  }

  /** Whether this node is a member (voter or learner) of the configuration in effect. */
  boolean selfIsMember() {
    return view.members().containsKey(self);
  }

  /**
   * Where node {@code id}'s Raft port is: from the configuration, else from {@code -r} (a node
   * being added, or removed, is still reached there).
   */
  Optional<PeerAddress> raftAddress(int id) {
    Member m = view.members().get(id);
    String a = m != null && !m.getRaftAddress().isEmpty() ? m.getRaftAddress() : "";
    if (a.isEmpty()) {
      PeerAddress boot = config.raftPeersById().get(id);
      return Optional.ofNullable(boot);
    }
    return Optional.of(PeerAddress.parse(a));
  }

  /** Node {@code id}'s KV address, or "" if not known (the leader hint a client follows). */
  String kvAddress(int id) {
    Member m = view.members().get(id);
    return m != null && !m.getKvAddress().isEmpty() ? m.getKvAddress() : config.kvsAddressOf(id);
  }
}
