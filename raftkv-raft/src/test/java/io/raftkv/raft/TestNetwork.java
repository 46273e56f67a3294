package io.raftkv.raft;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.HardState;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.SnapshotMeta;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A deterministic in-memory cluster for the core's tests: several {@link Raft} instances, each
 * handled through a {@link ReadyProcessor} with an in-memory storage, and a network that delivers
 * messages only when asked (all, or selectively, dropping some). Nothing happens on its own: ticks,
 * deliveries and Ready handling are explicit, so every test is one exact, reproducible schedule.
 */
final class TestNetwork {

  /**
   * The settings of the paper's model (§5): election timeout 10–20 ticks, heartbeat every tick,
   * PreVote and CheckQuorum off (tests of §9.6 turn them on).
   */
  static RaftConfig paperConfig(int id, List<Integer> voters) {
    return new RaftConfig(id, voters, 10, 20, 1, 256, 1 << 20, 4 << 20, false, false);
  }

  static List<Integer> ids(int n) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      ids.add(i);
    }
    return ids;
  }

  /** An entry for a PersistentState. */
  static Entry entry(long index, long term) {
    return Entry.newBuilder().setIndex(index).setTerm(term).build();
  }

  /** A log whose entry i (1-based) has term terms[i-1]. */
  static List<Entry> log(long... terms) {
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < terms.length; i++) {
      out.add(entry(i + 1, terms[i]));
    }
    return out;
  }

  static PersistentState state(long term, long commit, List<Entry> entries) {
    return new PersistentState(
        HardState.newBuilder().setCurrentTerm(term).setCommit(commit).build(), entries, 0);
  }

  static ByteString data(String s) {
    return ByteString.copyFromUtf8(s);
  }

  /**
   * Durable storage in memory: the persisted hard state and log of one node. The log starts after
   * {@link #start} (index 0 until compacted): {@code entries.get(k)} is index {@code start + k +
   * 1}.
   */
  static final class MemoryStorage implements ReadyProcessor.LogStorage, LogReader {
    HardState hardState = HardState.getDefaultInstance();
    final List<Entry> entries = new ArrayList<>();
    SnapshotMeta start = SnapshotMeta.getDefaultInstance();

    /** What the driver did, in order ("persist ..." / "send ..."), to check the Ready contract. */
    final List<String> events;

    MemoryStorage(List<String> events) {
      this.events = events;
    }

    @Override
    public void persist(HardState hs, List<Entry> newEntries, boolean sync) {
      if (hs != null) {
        hardState = hs;
      }
      if (!newEntries.isEmpty()) {
        long first = newEntries.get(0).getIndex();
        assertThat(first).as("persisted entries leave no gap").isLessThanOrEqualTo(size() + 1);
        assertThat(first)
            .as("persisted entries follow the snapshot")
            .isGreaterThan(start.getIndex());
        entries.subList((int) (first - start.getIndex() - 1), entries.size()).clear();
        entries.addAll(newEntries);
      }
      events.add(
          "persist term="
              + hardState.getCurrentTerm()
              + " vote="
              + (hardState.hasVotedFor() ? hardState.getVotedFor() : "none")
              + " entries="
              + newEntries.size()
              + " sync="
              + sync);
    }

    /** The last persisted index. */
    long size() {
      return start.getIndex() + entries.size();
    }

    /** The persisted term at {@code index}, or -1 if not held. */
    long termAt(long index) {
      if (index == start.getIndex()) {
        return start.getTerm();
      }
      if (index < start.getIndex() || index > size()) {
        return -1;
      }
      return entries.get((int) (index - start.getIndex() - 1)).getTerm();
    }

    @Override
    public void compact(SnapshotMeta to) {
      assertThat(to.getIndex())
          .as("compaction moves forward")
          .isGreaterThanOrEqualTo(start.getIndex());
      if (termAt(to.getIndex()) == to.getTerm()) {
        entries.subList(0, (int) (to.getIndex() - start.getIndex())).clear(); // Figure 13, rule 6
      } else {
        entries.clear(); // rule 7
      }
      start = to;
      compactions++;
      events.add("compact to " + to.getIndex());
    }

    /** How often the log was compacted. */
    int compactions;

    @Override
    public List<Entry> read(long from, long to) {
      assertThat(to).as("reads only persisted entries").isLessThanOrEqualTo(size());
      assertThat(from).as("reads no compacted entry").isGreaterThan(start.getIndex());
      reads++;
      readRanges.add(new long[] {from, to});
      return List.copyOf(
          entries.subList((int) (from - start.getIndex() - 1), (int) (to - start.getIndex())));
    }

    /** How often the core read released entries back. */
    int reads;

    /** Each read's range of indexes (from, to), in order. */
    final List<long[]> readRanges = new ArrayList<>();

    /** What a restart loads: like the server, only the tail after {@code applied - MEMORY_TAIL}. */
    PersistentState persistentState(long applied) {
      long onDisk = Math.max(start.getIndex(), applied - MEMORY_TAIL);
      return new PersistentState(
          hardState,
          entries.subList((int) (onDisk - start.getIndex()), entries.size()),
          applied,
          onDisk,
          termAt(onDisk),
          start);
    }
  }

  /** One member: its core, its storage and what its state machine has been handed. */
  final class Node {
    final int id;
    final RaftConfig config;
    final MemoryStorage storage;
    final List<String> events = new ArrayList<>();
    Raft raft;
    ReadyProcessor processor;

    /** The state machine: every entry applied, from index 1 (a snapshot brings the prefix). */
    List<Entry> applied = new ArrayList<>();

    final List<ReadState> readStates = new ArrayList<>();
    final List<SoftState> softStates = new ArrayList<>();

    /** The snapshot a delivered install_snapshot message brought, until the core takes it. */
    List<Entry> stagedSnapshot;

    /** Snapshots installed, in order. */
    final List<SnapshotMeta> installed = new ArrayList<>();

    Node(int id, RaftConfig config) {
      this.id = id;
      this.config = config;
      this.storage = new MemoryStorage(events);
    }

    void start(PersistentState state) {
      // A tiny memory tail: every test also exercises releasing applied entries and reading
      // them back for lagging followers.
      raft = new Raft(config, new SplittableRandom(random.nextLong()), state, storage, MEMORY_TAIL);
      processor =
          new ReadyProcessor(
              storage,
              messages -> {
                for (RaftMessage m : messages) {
                  events.add("send " + m.getBodyCase() + " to " + m.getTo());
                  if (m.hasInstallSnapshot()) {
                    // The driver captures the state machine as it sends: it must be exactly the
                    // state the message describes.
                    assertThat((long) applied.size())
                        .as("the state machine is at the snapshot's index when it is sent")
                        .isEqualTo(m.getInstallSnapshot().getMeta().getIndex());
                    snapshotData.put(m, List.copyOf(applied));
                  }
                  inFlight.add(m);
                  sent.add(m);
                }
              },
              (soft, committed, reads) -> {
                if (soft != null) {
                  softStates.add(soft);
                }
                if (!committed.isEmpty()) {
                  assertThat(committed.get(0).getIndex())
                      .as("entries are applied in order")
                      .isEqualTo(applied.size() + 1);
                }
                applied.addAll(committed);
                readStates.addAll(reads);
              },
              meta -> {
                events.add("install snapshot " + meta.getIndex());
                assertThat(stagedSnapshot).as("a snapshot was staged").isNotNull();
                assertThat((long) stagedSnapshot.size()).isEqualTo(meta.getIndex());
                applied = new ArrayList<>(stagedSnapshot);
                stagedSnapshot = null;
                installed.add(meta);
              });
    }
  }

  static final int MEMORY_TAIL = 2;

  private final SplittableRandom random;
  private final Map<Integer, Node> nodes = new TreeMap<>();

  /** Sent, not yet delivered, in send order. */
  final List<RaftMessage> inFlight = new ArrayList<>();

  /** Every message ever sent, in send order. */
  final List<RaftMessage> sent = new ArrayList<>();

  /** Every message ever delivered, in delivery order. */
  final List<RaftMessage> delivered = new ArrayList<>();

  /** The state machine each install_snapshot message carries beside it (what the driver sends). */
  private final Map<RaftMessage, List<Entry>> snapshotData = new java.util.IdentityHashMap<>();

  private final TreeSet<Integer> isolated = new TreeSet<>();
  private Predicate<RaftMessage> dropIf = m -> false;

  private TestNetwork(long seed) {
    this.random = new SplittableRandom(seed);
  }

  /** n fresh nodes with the paper's settings, changed by {@code tweak}. */
  static TestNetwork create(int n, long seed, UnaryOperator<RaftConfig> tweak) {
    TestNetwork net = new TestNetwork(seed);
    for (int id : ids(n)) {
      net.add(id, tweak.apply(paperConfig(id, ids(n))), PersistentState.empty());
    }
    return net;
  }

  static TestNetwork create(int n, long seed) {
    return create(n, seed, c -> c);
  }

  /** Nodes 1..states.size() restored from the given states (index 0 is node 1). */
  static TestNetwork restored(
      long seed, UnaryOperator<RaftConfig> tweak, PersistentState... states) {
    TestNetwork net = new TestNetwork(seed);
    List<Integer> voters = ids(states.length);
    for (int i = 0; i < states.length; i++) {
      net.add(i + 1, tweak.apply(paperConfig(i + 1, voters)), states[i]);
    }
    return net;
  }

  /**
   * A new, empty node that is in nobody's configuration yet (its own is empty: it waits to be
   * added, dissertation §4.2.1).
   */
  void addBlankNode(int id, UnaryOperator<RaftConfig> tweak) {
    add(id, tweak.apply(paperConfig(id, List.of())), PersistentState.empty());
  }

  void addBlankNode(int id) {
    addBlankNode(id, c -> c);
  }

  private void add(int id, RaftConfig config, PersistentState state) {
    Node node = new Node(id, config);
    node.storage.hardState = state.hardState();
    node.storage.start = state.snapshot();
    node.storage.entries.addAll(state.entries());
    node.start(state);
    nodes.put(id, node);
  }

  Raft raft(int id) {
    return nodes.get(id).raft;
  }

  Node node(int id) {
    return nodes.get(id);
  }

  List<Integer> ids() {
    return List.copyOf(nodes.keySet());
  }

  /** Handles every node's Readys until none has anything more to say. */
  void flush() {
    boolean any = true;
    while (any) {
      any = false;
      for (Node n : nodes.values()) {
        while (n.processor.processOne(n.raft)) {
          any = true;
        }
      }
    }
  }

  boolean dropped(RaftMessage m) {
    return isolated.contains(m.getFrom()) || isolated.contains(m.getTo()) || dropIf.test(m);
  }

  /** Drops every message to or from these nodes until {@link #heal()}. */
  void isolate(int... ids) {
    for (int id : ids) {
      isolated.add(id);
    }
  }

  /** Drops messages between the two groups (each side still talks among itself). */
  void partition(List<Integer> a, List<Integer> b) {
    dropIf =
        dropIf.or(
            m ->
                (a.contains(m.getFrom()) && b.contains(m.getTo()))
                    || (b.contains(m.getFrom()) && a.contains(m.getTo())));
  }

  void dropIf(Predicate<RaftMessage> p) {
    dropIf = dropIf.or(p);
  }

  void heal() {
    isolated.clear();
    dropIf = m -> false;
  }

  /**
   * Hands {@code m} to its receiver. A snapshot's data is staged first (the receiver's next Ready
   * installs it if its core accepted it), and the sender hears that the transfer succeeded, as the
   * server's snapshot stream reports it.
   */
  void deliver(RaftMessage m) {
    delivered.add(m);
    Node to = nodes.get(m.getTo());
    if (m.hasInstallSnapshot()) {
      to.stagedSnapshot = snapshotData.remove(m);
    }
    to.raft.step(m);
    if (m.hasInstallSnapshot()) {
      nodes.get(m.getFrom()).raft.reportSnapshot(m, true);
    }
  }

  /** Delivers an install_snapshot message made by a test, with the state machine it carries. */
  void deliverSnapshot(RaftMessage m, List<Entry> data) {
    snapshotData.put(m, List.copyOf(data));
    deliver(m);
  }

  /** A message is lost; a snapshot's sender hears that its transfer failed. */
  void lose(RaftMessage m) {
    if (m.hasInstallSnapshot()) {
      snapshotData.remove(m);
      nodes.get(m.getFrom()).raft.reportSnapshot(m, false);
    }
  }

  /**
   * One round trip's worth: flushes, then delivers every message in flight (dropping those the
   * filters drop), then flushes again.
   *
   * @return how many were delivered
   */
  int deliverWave() {
    flush();
    List<RaftMessage> wave = new ArrayList<>(inFlight);
    inFlight.clear();
    int count = 0;
    for (RaftMessage m : wave) {
      if (!dropped(m)) {
        deliver(m);
        count++;
      } else {
        lose(m);
      }
    }
    flush();
    return count;
  }

  /** Delivers (or drops) messages until none is in flight; returns the number of waves. */
  int deliverAll() {
    int waves = 0;
    flush();
    while (!inFlight.isEmpty()) {
      deliverWave();
      if (++waves > 10_000) {
        throw new AssertionError("the cluster never went quiet");
      }
    }
    return waves;
  }

  /** Flushes, then removes and returns the in-flight messages matching {@code p}, undelivered. */
  List<RaftMessage> take(Predicate<RaftMessage> p) {
    flush();
    List<RaftMessage> out = new ArrayList<>();
    inFlight.removeIf(
        m -> {
          if (p.test(m)) {
            out.add(m);
            return true;
          }
          return false;
        });
    return out;
  }

  /** Ticks every node once, then delivers everything. */
  void tickAll() {
    for (Node n : nodes.values()) {
      n.raft.tick();
    }
    deliverAll();
  }

  void tickAll(int times) {
    for (int i = 0; i < times; i++) {
      tickAll();
    }
  }

  /** Starts an election at {@code id} (the --leader hint) and delivers everything. */
  void elect(int id) {
    raft(id).campaign();
    deliverAll();
    assertThat(raft(id).role()).as("node %d won the election", id).isEqualTo(Role.LEADER);
  }

  /**
   * Rebuilds a node from what it persisted, as after a crash; its state machine kept the entries up
   * to {@code appliedIndex} (at most the persisted commit index).
   */
  void restart(int id, long appliedIndex) {
    Node n = nodes.get(id);
    // The state machine keeps what it applied up to appliedIndex; the rest is lost with the crash.
    n.applied.subList((int) Math.min(appliedIndex, n.applied.size()), n.applied.size()).clear();
    n.readStates.clear();
    n.start(
        n.storage
            .persistentState(appliedIndex)
            .withConfiguration(recordedConfiguration(n.applied, appliedIndex)));
  }

  /**
   * What a state machine records (and the restart hands back): the configuration of the last
   * configuration entry it applied, or none.
   */
  static io.raftkv.proto.raft.ConfState recordedConfiguration(List<Entry> applied, long upTo) {
    io.raftkv.proto.raft.ConfState recorded = io.raftkv.proto.raft.ConfState.getDefaultInstance();
    for (Entry e : applied) {
      if (e.getIndex() <= upTo && e.getType() == io.raftkv.proto.raft.EntryType.ENTRY_CONFIG) {
        try {
          recorded = io.raftkv.proto.raft.ConfState.parseFrom(e.getData());
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
          throw new AssertionError(ex);
        }
      }
    }
    return recorded;
  }

  /**
   * Node {@code id}'s disk is lost (its data directory deleted) and it starts again from nothing,
   * {@link PersistentState#empty()}, with the same identity: outside Raft's model.
   */
  void wipe(int id) {
    Node n = nodes.get(id);
    n.storage.hardState = HardState.getDefaultInstance();
    n.storage.entries.clear();
    n.storage.start = SnapshotMeta.getDefaultInstance();
    n.applied = new ArrayList<>();
    n.readStates.clear();
    n.start(PersistentState.empty());
  }

  /**
   * §7: node {@code id}'s state machine holds everything up to {@code index}; its core and storage
   * drop the log up to there (what the node runtime's compaction policy does).
   */
  SnapshotMeta compact(int id, long index) {
    Node n = nodes.get(id);
    SnapshotMeta meta = n.raft.compact(index);
    n.storage.compact(meta);
    return meta;
  }

  /** The leader, if exactly one node in the highest term believes it leads. */
  Integer leader() {
    long maxTerm = nodes.values().stream().mapToLong(n -> n.raft.term()).max().orElse(0);
    List<Integer> leaders =
        nodes.values().stream()
            .filter(n -> n.raft.role() == Role.LEADER && n.raft.term() == maxTerm)
            .map(n -> n.id)
            .toList();
    return leaders.size() == 1 ? leaders.get(0) : null;
  }

  static Predicate<RaftMessage> to(int id) {
    return m -> m.getTo() == id;
  }

  static Predicate<RaftMessage> between(int from, int to) {
    return m -> m.getFrom() == from && m.getTo() == to;
  }
}
