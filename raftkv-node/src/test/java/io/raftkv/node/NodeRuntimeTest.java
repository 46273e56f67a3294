package io.raftkv.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteResponse;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.raft.SoftState;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The node runtime's own decisions, one rule per test: tick catch-up, the start-up grace and the
 * {@code --leader} hint, apply-result routing, what clients hear when leadership is lost, and
 * request deadlines. Time is given in milliseconds (1 ms per tick here).
 */
class NodeRuntimeTest {
  private static final long MS = 1_000_000L;
  private static final long TIMEOUT_MS = 500;

  private final List<RaftMessage> sent = new ArrayList<>();
  private final List<Entry> persisted = new ArrayList<>();
  private final List<List<Entry>> applied = new ArrayList<>();
  private long now;

  /** Node 0 of {@code voters}; election timeout 10-20 ticks, heartbeat 2; 1 ms ticks. */
  private NodeRuntime<String> node(int voters, boolean preVote) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < voters; i++) {
      ids.add(i);
    }
    RaftConfig config =
        RaftConfig.defaults(0, ids)
            .withElectionTimeout(10, 20)
            .withHeartbeat(2)
            .withPreVoteAndCheckQuorum(preVote, preVote);
    return runtime(
        config, new NodeRuntime.Timing(MS, TIMEOUT_MS * MS), new NodeRuntime.Listener() {});
  }

  /** Node 0 with {@code config}, recording what it persists, sends and applies. */
  private NodeRuntime<String> runtime(
      RaftConfig config, NodeRuntime.Timing timing, NodeRuntime.Listener listener) {
    return runtime(
        config,
        timing,
        listener,
        entries -> {
          applied.add(entries);
          return entries.stream().map(e -> "result of " + e.getIndex()).toList();
        });
  }

  private NodeRuntime<String> runtime(
      RaftConfig config,
      NodeRuntime.Timing timing,
      NodeRuntime.Listener listener,
      NodeRuntime.StateMachine<String> stateMachine) {
    Raft raft = new Raft(config, new SplittableRandom(7), PersistentState.empty());
    return new NodeRuntime<>(
        raft,
        0,
        (hs, entries, sync) -> persisted.addAll(entries),
        sent::addAll,
        stateMachine,
        timing,
        listener,
        0,
        timing.tickNanos());
  }

  /** Advances the clock by {@code ms} one millisecond per turn, as a loop that wakes on time. */
  private void run(NodeRuntime<?> n, long ms) {
    for (long i = 0; i < ms; i++) {
      now += MS;
      n.setTime(now);
      n.flush();
    }
  }

  /** Advances the clock by {@code ms} in a single turn, as a loop that was stalled. */
  private void stall(NodeRuntime<?> n, long ms) {
    now += ms * MS;
    n.setTime(now);
    n.flush();
  }

  private long voteRequests() {
    return sent.stream().filter(RaftMessage::hasVoteRequest).count();
  }

  /** Makes node 0 of a 3-node cluster (no PreVote) the leader of term 1 and commits its no-op. */
  private NodeRuntime<String> leaderOfThree() {
    NodeRuntime<String> n = node(3, false);
    n.campaign();
    n.flush();
    n.receive(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(0)
            .setTerm(1)
            .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(true))
            .build());
    n.flush();
    assertThat(n.softState().role()).isEqualTo(Role.LEADER);
    ackAll(n);
    return n;
  }

  /** Follower 1 acknowledges everything the leader has, echoing the last round it was sent. */
  private void ackAll(NodeRuntime<?> n) {
    long round = 0;
    for (RaftMessage m : sent) {
      if (m.getTo() == 1 && m.hasAppendRequest()) {
        round = m.getAppendRequest().getRound();
      }
    }
    n.receive(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(0)
            .setTerm(n.term())
            .setAppendResponse(
                io.raftkv.proto.raft.AppendEntriesResponse.newBuilder()
                    .setSuccess(true)
                    .setMatchIndex(n.status().lastIndex())
                    .setRound(round))
            .build());
    n.flush();
  }

  private static RaftMessage heartbeatFrom(int leader, long term) {
    return RaftMessage.newBuilder()
        .setFrom(leader)
        .setTo(0)
        .setTerm(term)
        .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
        .build();
  }

  // ---------------------------------------------------------------- ticks

  @Test
  void aStalledLoopCatchesUpOnTicksButNeverAMinimumElectionTimeoutAtOnce() {
    NodeRuntime<String> n = node(3, true);
    // 100 ms owed in one turn: at most 9 ticks run (the minimum election timeout is 10), so a
    // follower that was stalled does not time out before it handled what arrived meanwhile.
    stall(n, 100);
    assertThat(voteRequests()).isZero();
    // The rest of the stall is forgiven, not owed: the next ticks come one per millisecond.
    run(n, 10);
    assertThat(voteRequests()).as("pre-votes after 19 ticks").isPositive();
  }

  /**
   * The bug of b35edcf: a leader whose loop stalled (a slow fsync) while its followers kept
   * answering must not depose itself when it catches up. The answers that queued up are handled
   * before the owed ticks, and the capped burst crosses at most one CheckQuorum check (§6.2 of the
   * dissertation: a leader steps down only if an election timeout passed without a majority).
   */
  @Test
  void aLeaderWhoseLoopStalledWhileItsFollowersAnsweredStaysLeader() {
    NodeRuntime<String> n = node(3, true);
    n.campaign();
    n.flush();
    for (boolean preVote : new boolean[] {true, false}) {
      n.receive(
          RaftMessage.newBuilder()
              .setFrom(1)
              .setTo(0)
              .setTerm(1)
              .setVoteResponse(
                  RequestVoteResponse.newBuilder().setVoteGranted(true).setPreVote(preVote))
              .build());
      n.flush();
    }
    assertThat(n.softState().role()).isEqualTo(Role.LEADER);
    for (int stall = 0; stall < 5; stall++) {
      now += 100 * MS;
      n.setTime(now);
      ackAll(n); // follower 1's answer waited in the inbox during the stall
      assertThat(n.softState().role()).as("after stall %d", stall).isEqualTo(Role.LEADER);
    }
  }

  @Test
  void ticksFollowTimeNotTurns() {
    NodeRuntime<String> n = node(3, true);
    // Many turns within one millisecond owe no tick.
    for (int i = 0; i < 1000; i++) {
      n.setTime(now + MS / 2);
      n.flush();
    }
    run(n, 9);
    assertThat(voteRequests()).isZero();
    run(n, 12);
    assertThat(voteRequests()).as("a timeout within 10-20 ms").isPositive();
  }

  @Test
  void theClockNeverGoesBack() {
    NodeRuntime<String> n = node(3, true);
    n.setTime(50 * MS);
    n.setTime(10 * MS);
    assertThat(n.now()).isEqualTo(50 * MS);
  }

  // ---------------------------------------------------------------- start-up policy

  @Test
  void theStartupGraceHoldsElectionsWhileNoLeaderIsKnown() {
    NodeRuntime<String> n = node(3, true);
    n.holdElections(100 * MS);
    run(n, 99);
    assertThat(voteRequests()).as("no election during the grace").isZero();
    run(n, 25);
    assertThat(voteRequests()).as("elections after the grace").isPositive();
  }

  @Test
  void anIdleFollowerSleepsUntilItsElectionTimeoutAndCampaignsWhenATickByTickLoopWould() {
    // A loop that wakes every tick: when does this follower's election timeout fire?
    NodeRuntime<String> ticking = node(3, false);
    ticking.receive(heartbeatFrom(1, 1));
    ticking.flush();
    while (voteRequests() == 0) {
      run(ticking, 1);
    }
    long fires = now;
    sent.clear();

    now = 0;
    NodeRuntime<String> n = node(3, false); // the same seed, so the same randomized timeout
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    long wake = n.nextWakeNanos();
    assertThat(wake).as("not the next tick but the timeout (10-20 ticks)").isEqualTo(fires);
    now = wake;
    n.setTime(now);
    n.flush();
    assertThat(voteRequests()).isEqualTo(2);
  }

  @Test
  void anIdleLeaderWakesForItsHeartbeatsOnly() {
    NodeRuntime<String> n = leaderOfThree();
    long wakes = 0;
    long end = now + 100 * MS;
    sent.clear();
    while (n.nextWakeNanos() - end <= 0) {
      now = n.nextWakeNanos();
      n.setTime(now);
      n.flush();
      wakes++;
      ackAll(n); // a follower answers, so CheckQuorum keeps it leader
    }
    // Heartbeat every 2 ticks of 1 ms: 50 turns in 100 ms, not 100.
    assertThat(wakes).isEqualTo(50);
    assertThat(sent.stream().filter(m -> m.getTo() == 1 && m.hasAppendRequest()).count())
        .isEqualTo(50);
  }

  @Test
  void aFollowerThatSleptThroughItsLeaseGrantsAVoteAsIfItHadCountedEveryTick() {
    NodeRuntime<String> n = node(3, true); // PreVote and CheckQuorum: the leader lease (§9.6)
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    assertThat(n.nextWakeNanos() - now).as("its own timeout is later").isGreaterThan(11 * MS);
    // The leader is silent for more than the minimum election timeout (10 ticks): the lease ran
    // out, though nothing woke this node meanwhile.
    now += 11 * MS;
    n.setTime(now);
    n.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(2)
            .setVoteRequest(
                io.raftkv.proto.raft.RequestVoteRequest.newBuilder()
                    .setPreVote(true)
                    .setLastLogIndex(10)
                    .setLastLogTerm(1))
            .build());
    n.flush();
    assertThat(sent)
        .filteredOn(m -> m.getTo() == 2 && m.hasVoteResponse())
        .singleElement()
        .satisfies(m -> assertThat(m.getVoteResponse().getVoteGranted()).isTrue());
  }

  @Test
  void theLogIsCompactedOnlyOnceTheStateMachineSaysItsSnapshotIsDurable() {
    List<io.raftkv.proto.raft.SnapshotMeta> pendingSaves = new ArrayList<>();
    List<io.raftkv.proto.raft.SnapshotMeta> compactedTo = new ArrayList<>();
    RaftConfig config = RaftConfig.defaults(0, List.of(0)).withElectionTimeout(10, 20);
    Raft raft = new Raft(config, new SplittableRandom(7), PersistentState.empty());
    NodeRuntime<String> n =
        new NodeRuntime<>(
            raft,
            0,
            new io.raftkv.raft.ReadyProcessor.LogStorage() {
              @Override
              public void persist(
                  io.raftkv.proto.raft.HardState hs, List<Entry> entries, boolean sync) {}

              @Override
              public void compact(io.raftkv.proto.raft.SnapshotMeta start) {
                compactedTo.add(start);
              }
            },
            sent::addAll,
            new NodeRuntime.StateMachine<>() {
              @Override
              public List<String> apply(List<Entry> entries) {
                return entries.stream().map(e -> "ok").toList();
              }

              @Override
              public boolean saveSnapshotInBackground(io.raftkv.proto.raft.SnapshotMeta meta) {
                pendingSaves.add(meta); // durable later, as the server's background flush
                return false;
              }
            },
            new NodeRuntime.Timing(MS, TIMEOUT_MS * MS),
            new NodeRuntime.Listener() {},
            0,
            MS);
    n.enableSnapshots(
        (m, image) -> {},
        new Compaction(5, 1),
        io.raftkv.proto.raft.SnapshotMeta.getDefaultInstance());
    n.campaign();
    n.flush();
    for (int i = 0; i < 12; i++) {
      n.propose(ByteString.copyFromUtf8("w" + i), r -> {});
      n.flush();
    }
    // 13 entries applied (the no-op and 12 writes): one save asked for at 5, none while it is
    // pending, and the log untouched until it is durable.
    assertThat(pendingSaves).hasSize(1);
    assertThat(compactedTo).isEmpty();
    assertThat(n.lastSnapshot().getIndex()).isZero();

    n.snapshotSaved(io.raftkv.proto.raft.SnapshotMeta.newBuilder().setIndex(3).build());
    n.flush();
    assertThat(compactedTo).as("not the save in progress: ignored").isEmpty();
    n.snapshotSaved(pendingSaves.get(0));
    n.flush();
    assertThat(n.lastSnapshot().getIndex()).isEqualTo(5);
    assertThat(compactedTo)
        .extracting(io.raftkv.proto.raft.SnapshotMeta::getIndex)
        .containsExactly(4L);
    // The next turn asks for the next one (13 - 5 >= 5).
    n.propose(ByteString.copyFromUtf8("w12"), r -> {});
    n.flush();
    assertThat(pendingSaves).hasSize(2);
  }

  @Test
  void theStartupGraceEndsForGoodOnceALeaderIsKnown() {
    NodeRuntime<String> n = node(3, true);
    n.holdElections(1_000 * MS);
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    run(n, 1);
    assertThat(n.softState().leaderId()).isEqualTo(1);
    // The leader goes silent: the follower times out as usual, grace or not.
    run(n, 25);
    assertThat(voteRequests()).isPositive();
  }

  @Test
  void theLeaderHintCampaignsAtOnceAndEveryHeartbeatUntilALeaderIsKnown() {
    NodeRuntime<String> n = node(3, true);
    n.campaignUntilLeaderKnown(50 * MS);
    n.flush();
    assertThat(voteRequests()).as("pre-votes at once").isEqualTo(2);
    run(n, 6);
    // Heartbeat 2 ticks: campaigns again at 2, 4 and 6 ms (election timeout 10+ not reached).
    assertThat(voteRequests()).isEqualTo(8);
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    long before = voteRequests();
    run(n, 9);
    assertThat(voteRequests()).as("a known leader ends the hint").isEqualTo(before);
  }

  @Test
  void theLeaderHintEndsAfterItsWindow() {
    NodeRuntime<String> n = node(3, true);
    n.campaignUntilLeaderKnown(4 * MS);
    n.flush();
    run(n, 4);
    long afterWindow = voteRequests();
    run(n, 9);
    assertThat(voteRequests()).as("no repeats after the window").isEqualTo(afterWindow);
  }

  // ---------------------------------------------------------------- clients

  @Test
  void aProposalHearsTheResultOfApplyingItsEntry() {
    NodeRuntime<String> n = node(1, false);
    n.campaign();
    n.flush();
    List<Outcome<String>> got = new ArrayList<>();
    long index = n.propose(ByteString.copyFromUtf8("x"), got::add);
    assertThat(index).isEqualTo(2); // after the leader's no-op
    n.flush();
    assertThat(got).containsExactly(Outcome.ok("result of 2"));
    assertThat(n.appliedIndex()).isEqualTo(2);
  }

  @Test
  void aFollowerRefusesProposalsAndReadsNamingTheLeader() {
    NodeRuntime<String> n = node(3, true);
    n.receive(heartbeatFrom(2, 1));
    n.flush();
    List<Outcome<String>> writes = new ArrayList<>();
    List<Outcome<Void>> reads = new ArrayList<>();
    assertThat(n.propose(ByteString.copyFromUtf8("x"), writes::add)).isZero();
    assertThat(n.read(reads::add)).isZero();
    assertThat(writes).containsExactly(Outcome.notLeader(2));
    assertThat(reads).containsExactly(Outcome.notLeader(2));
    assertThat(writes.get(0).kind()).isEqualTo(Outcome.Kind.NOT_LEADER);
    assertThat(writes.get(0).leaderId()).isEqualTo(2);
  }

  @Test
  void aReadCompletesOnceAMajorityConfirmedLeadershipAndItsIndexIsApplied() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<Void>> reads = new ArrayList<>();
    assertThat(n.read(reads::add)).isPositive();
    n.flush();
    assertThat(reads).as("not before a majority answered the round").isEmpty();
    ackAll(n);
    assertThat(reads).containsExactly(Outcome.ok(null));
  }

  @Test
  void losingLeadershipAnswersWritesUnknownAndReadsNotLeader() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> writes = new ArrayList<>();
    List<Outcome<Void>> reads = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("x"), writes::add);
    n.read(reads::add);
    n.flush();
    // A leader of a higher term appears: the entry may still be committed by it, or not.
    n.receive(heartbeatFrom(2, 5));
    n.flush();
    assertThat(writes).singleElement().extracting(Outcome::kind).isEqualTo(Outcome.Kind.UNKNOWN);
    assertThat(reads).containsExactly(Outcome.notLeader(2));
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void requestsWithoutAnOutcomeTimeOutAfterTheRequestTimeout() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> writes = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("x"), writes::add);
    n.flush();
    assertThat(n.nextWakeNanos()).isEqualTo(now + 2 * MS); // the next heartbeat comes first
    // Nobody acknowledges the entry (and CheckQuorum is off, so the leader stays).
    run(n, TIMEOUT_MS - 1);
    assertThat(writes).isEmpty();
    run(n, 1);
    assertThat(writes).containsExactly(Outcome.timeout());
  }

  @Test
  void aLateResultAfterATimeoutIsNotDeliveredTwice() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> writes = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("x"), writes::add);
    n.flush();
    run(n, TIMEOUT_MS);
    ackAll(n);
    assertThat(writes).containsExactly(Outcome.timeout());
    assertThat(applied.get(applied.size() - 1)).extracting(Entry::getIndex).contains(2L);
  }

  @Test
  void whenLeaderKnownWaitsForAnElectionThenAnswers() {
    NodeRuntime<String> n = node(3, true);
    List<Outcome<io.raftkv.raft.SoftState>> got = new ArrayList<>();
    n.whenLeaderKnown(got::add);
    n.flush();
    assertThat(got).isEmpty();
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    assertThat(got).singleElement().satisfies(o -> assertThat(o.value().leaderId()).isEqualTo(1));
  }

  @Test
  void whenLeaderKnownTimesOut() {
    NodeRuntime<String> n = node(3, true);
    n.holdElections(10_000 * MS);
    List<Outcome<io.raftkv.raft.SoftState>> got = new ArrayList<>();
    n.whenLeaderKnown(got::add);
    run(n, TIMEOUT_MS);
    assertThat(got).containsExactly(Outcome.timeout());
  }

  @Test
  void stoppingAnswersEveryWaitingClientUnknown() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> writes = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("x"), writes::add);
    n.stop("node stopped: disk full");
    assertThat(writes).containsExactly(Outcome.unknown("node stopped: disk full"));
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void aStateMachineMustReturnOneResultPerEntry() {
    NodeRuntime<String> n =
        runtime(
            RaftConfig.defaults(0, List.of(0)),
            new NodeRuntime.Timing(MS, MS),
            new NodeRuntime.Listener() {},
            entries -> List.of());
    n.campaign();
    assertThatThrownBy(n::flush)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("0 results for 1 entries");
  }

  @Test
  void theNextWakeIsARequestDeadlineWhenItComesBeforeTheNextTick() {
    // Ticks of 1 s, requests of 100 ms.
    NodeRuntime<String> n =
        runtime(
            RaftConfig.defaults(0, List.of(0, 1, 2)).withPreVoteAndCheckQuorum(false, false),
            new NodeRuntime.Timing(1_000 * MS, 100 * MS),
            new NodeRuntime.Listener() {});
    n.whenLeaderKnown(o -> {});
    assertThat(n.nextWakeNanos()).isEqualTo(100 * MS);
    n.stop("stopped");
    assertThat(n.nextWakeNanos()).as("a finished request no longer wakes").isEqualTo(1_000 * MS);
  }

  @Test
  void theCatchUpStopsOneTickShortOfTheMinimumElectionTimeout() {
    // A fixed election timeout of 10 ticks: 9 owed ticks run, a 10th would start an election.
    RaftConfig config =
        RaftConfig.defaults(0, List.of(0, 1, 2))
            .withElectionTimeout(10, 11)
            .withHeartbeat(2)
            .withPreVoteAndCheckQuorum(true, true);
    NodeRuntime<String> n =
        runtime(config, new NodeRuntime.Timing(MS, TIMEOUT_MS * MS), new NodeRuntime.Listener() {});
    stall(n, 1_000);
    assertThat(voteRequests()).isZero();
    run(n, 1);
    assertThat(voteRequests()).as("the 10th tick").isPositive();
  }

  @Test
  void aLeaderWaitersProposalGoesOutInTheTurnThatFoundTheLeader() {
    NodeRuntime<String> n = node(1, false);
    n.whenLeaderKnown(o -> n.propose(ByteString.copyFromUtf8("x"), r -> {}));
    n.campaign();
    n.flush();
    assertThat(persisted).extracting(Entry::getIndex).containsExactly(1L, 2L);
  }

  @Test
  void stoppingAnswersLeaderWaitsUnknown() {
    NodeRuntime<String> n = node(3, true);
    List<Outcome<io.raftkv.raft.SoftState>> got = new ArrayList<>();
    n.whenLeaderKnown(got::add);
    n.stop("node shutting down");
    assertThat(got).containsExactly(Outcome.unknown("node shutting down"));
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void aLeadershipTransferIsRefusedByAFollowerAndTakenByALeader() {
    NodeRuntime<String> follower = node(3, true);
    assertThat(follower.transferLeadership(1)).isFalse();
    NodeRuntime<String> leader = leaderOfThree();
    assertThat(leader.transferLeadership(1)).isTrue();
  }

  @Test
  void theListenerHearsSoftStateReadsAndApplies() {
    List<String> heard = new ArrayList<>();
    NodeRuntime<String> n =
        runtime(
            RaftConfig.defaults(0, List.of(0)),
            new NodeRuntime.Timing(MS, MS),
            new NodeRuntime.Listener() {
              @Override
              public void softStateChanged(
                  io.raftkv.raft.SoftState before, io.raftkv.raft.SoftState now, long term) {
                heard.add(before.role() + "->" + now.role() + " in " + term);
              }

              @Override
              public void applied(List<Entry> entries) {
                heard.add("applied " + entries.size());
              }

              @Override
              public void readRequested(long context) {
                heard.add("read " + context);
              }

              @Override
              public void readReady(io.raftkv.raft.ReadState read) {
                heard.add("ready " + read.context() + " at " + read.index());
              }
            });
    n.campaign();
    n.flush();
    n.read(o -> {});
    n.flush();
    assertThat(heard)
        .containsExactly("FOLLOWER->LEADER in 1", "applied 1", "read 1", "ready 1 at 1");
    assertThat(n.id()).isZero();
  }

  // ---------------------------------------------------------------- boundaries and bookkeeping

  private static RaftMessage voteFrom(int voter, long term) {
    return RaftMessage.newBuilder()
        .setFrom(voter)
        .setTo(0)
        .setTerm(term)
        .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(true))
        .build();
  }

  /**
   * In one turn (no Ready in between): node 1 leads term 2 and overwrites node 0's log from index 1
   * on with its own entry, then node 0 wins term 3 (its no-op goes to index 2). Its Readys show it
   * leading throughout, so the runtime sees no leadership loss: it must notice from the indexes
   * that its earlier proposals will never apply.
   */
  private void overwrittenAndReelectedInOneTurn(NodeRuntime<String> n) {
    n.receive(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(0)
            .setTerm(2)
            .setAppendRequest(
                AppendEntriesRequest.newBuilder()
                    .addEntries(
                        Entry.newBuilder().setTerm(2).setIndex(1).setType(EntryType.ENTRY_NOOP)))
            .build());
    n.campaign();
    n.receive(voteFrom(2, 3));
    assertThat(n.term()).isEqualTo(3);
    assertThat(n.softState().role()).isEqualTo(Role.LEADER);
  }

  /** Node 0 of three, leading term 1 with its no-op at index 1 not yet acknowledged. */
  private NodeRuntime<String> unconfirmedLeaderOfThree(NodeRuntime.Timing timing) {
    NodeRuntime<String> n =
        runtime(
            RaftConfig.defaults(0, List.of(0, 1, 2))
                .withElectionTimeout(10, 20)
                .withHeartbeat(2)
                .withPreVoteAndCheckQuorum(false, false),
            timing,
            new NodeRuntime.Listener() {});
    n.campaign();
    n.flush();
    n.receive(voteFrom(1, 1));
    n.flush();
    assertThat(n.softState().role()).isEqualTo(Role.LEADER);
    return n;
  }

  @Test
  void aTickIsNotDueEvenOneNanosecondBeforeItsTime() {
    // A fixed election timeout of 10 ticks shows the count of ticks: the 10th starts an election.
    RaftConfig config =
        RaftConfig.defaults(0, List.of(0, 1, 2))
            .withElectionTimeout(10, 11)
            .withHeartbeat(2)
            .withPreVoteAndCheckQuorum(true, true);
    NodeRuntime<String> n =
        runtime(config, new NodeRuntime.Timing(MS, TIMEOUT_MS * MS), new NodeRuntime.Listener() {});
    // A turn 1 ns before each tick is due: ticks 1..9 have come by 10 ms - 1 ns, not the 10th.
    for (long ms = 1; ms <= 10; ms++) {
      n.setTime(ms * MS - 1);
      n.flush();
    }
    assertThat(voteRequests()).isZero();
    n.setTime(10 * MS);
    n.flush();
    assertThat(voteRequests()).as("the 10th tick, due at 10 ms").isPositive();
  }

  @Test
  void theStartupGraceEndsAtItsLastInstant() {
    // Fixed 10-tick election timeout: with the grace over at 100 ms, the tick of 100 ms is the
    // first the core sees, and the 10th (109 ms) starts an election.
    RaftConfig config =
        RaftConfig.defaults(0, List.of(0, 1, 2))
            .withElectionTimeout(10, 11)
            .withHeartbeat(2)
            .withPreVoteAndCheckQuorum(true, true);
    NodeRuntime<String> n =
        runtime(config, new NodeRuntime.Timing(MS, TIMEOUT_MS * MS), new NodeRuntime.Listener() {});
    n.holdElections(100 * MS);
    run(n, 108);
    assertThat(voteRequests()).isZero();
    run(n, 1);
    assertThat(voteRequests()).as("the core's 10th tick, at 109 ms").isPositive();
  }

  @Test
  void theLeaderHintsWindowExcludesItsEnd() {
    NodeRuntime<String> n = node(3, true);
    n.campaignUntilLeaderKnown(4 * MS);
    n.flush();
    run(n, 4);
    // Campaigns at once and at 2 ms (two pre-votes each); 4 ms is the window's end: no campaign.
    assertThat(voteRequests()).isEqualTo(4);
  }

  @Test
  void everyReadGetsItsOwnContext() {
    NodeRuntime<String> n = leaderOfThree();
    long first = n.read(o -> {});
    long second = n.read(o -> {});
    // 0 would mean "refused"; a repeated context would confuse the two reads' ReadStates.
    assertThat(first).isPositive();
    assertThat(second).isPositive().isNotEqualTo(first);
  }

  @Test
  void aReadWithoutAMajorityTimesOutAfterTheRequestTimeout() {
    NodeRuntime<String> n = leaderOfThree(); // CheckQuorum off: the leader stays
    List<Outcome<Void>> reads = new ArrayList<>();
    n.read(reads::add);
    n.flush();
    run(n, TIMEOUT_MS - 1);
    assertThat(reads).isEmpty();
    run(n, 1);
    assertThat(reads).containsExactly(Outcome.timeout());
  }

  @Test
  void whenLeaderKnownAnswersAtOnceWhenALeaderIsKnown() {
    NodeRuntime<String> n = node(3, true);
    n.receive(heartbeatFrom(2, 1));
    n.flush();
    List<Outcome<SoftState>> got = new ArrayList<>();
    n.whenLeaderKnown(got::add);
    assertThat(got).containsExactly(Outcome.ok(new SoftState(Role.FOLLOWER, 2)));
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void anAnsweredLeaderWaitIsNoLongerPending() {
    NodeRuntime<String> n = node(3, true);
    List<Outcome<SoftState>> got = new ArrayList<>();
    n.whenLeaderKnown(got::add);
    n.flush();
    assertThat(n.pendingRequests()).isEqualTo(1);
    n.receive(heartbeatFrom(1, 1));
    n.flush();
    assertThat(got).hasSize(1);
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void pendingRequestsCountsWritesReadsAwaitingConfirmationAndReadsAwaitingApply() {
    // One entry applied per Ready (a 1-byte apply limit), so a confirmed read can wait for its
    // index to be applied.
    RaftConfig config = RaftConfig.defaults(0, List.of(0));
    config =
        new RaftConfig(
            0,
            List.of(0),
            config.electionTimeoutMinTicks(),
            config.electionTimeoutMaxTicks(),
            config.heartbeatTicks(),
            config.maxInflightAppends(),
            config.maxMessageBytes(),
            1,
            false,
            false);
    List<Integer> pendingWhenApplied = new ArrayList<>();
    NodeRuntime<?>[] self = new NodeRuntime<?>[1];
    NodeRuntime<String> n =
        runtime(
            config,
            new NodeRuntime.Timing(MS, TIMEOUT_MS * MS),
            new NodeRuntime.Listener() {
              @Override
              public void applied(List<Entry> entries) {
                pendingWhenApplied.add(self[0].pendingRequests());
              }
            });
    self[0] = n;
    n.campaign();
    // Before the no-op commits, the read waits for it and then takes the commit index (3) as its
    // read point; the two writes take indexes 2 and 3.
    List<Outcome<Void>> reads = new ArrayList<>();
    n.read(reads::add);
    n.propose(ByteString.copyFromUtf8("x"), o -> {});
    n.propose(ByteString.copyFromUtf8("y"), o -> {});
    assertThat(n.pendingRequests()).as("two writes, one read awaiting confirmation").isEqualTo(3);
    n.flush();
    // Applied 1: both writes and the read, confirmed at 3. Applied 2: y and the read.
    // Applied 3: nothing is left (the read is answered right after the listener hears of it).
    assertThat(pendingWhenApplied).containsExactly(3, 2, 1);
    assertThat(reads).containsExactly(Outcome.ok(null));
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void pendingRequestsCountsLeaderWaits() {
    NodeRuntime<String> n = node(3, true);
    n.whenLeaderKnown(o -> {});
    n.whenLeaderKnown(o -> {});
    assertThat(n.pendingRequests()).isEqualTo(2);
  }

  @Test
  void theRuntimeReportsItsCoresIdAndTerm() {
    NodeRuntime<String> n =
        runtime(
            RaftConfig.defaults(2, List.of(0, 1, 2)).withPreVoteAndCheckQuorum(false, false),
            new NodeRuntime.Timing(MS, MS),
            new NodeRuntime.Listener() {});
    assertThat(n.id()).isEqualTo(2);
    n.campaign();
    assertThat(n.term()).isEqualTo(1);
    assertThat(n.raft().term()).as("the core it drives").isEqualTo(1);
  }

  @Test
  void aTickAndARequestTimeoutMustBePositive() {
    assertThatIllegalArgumentException().isThrownBy(() -> new NodeRuntime.Timing(0, MS));
    assertThatIllegalArgumentException().isThrownBy(() -> new NodeRuntime.Timing(MS, 0));
    assertThat(new NodeRuntime.Timing(1, 1).requestTimeoutNanos()).isEqualTo(1);
  }

  @Test
  void aProposalWhoseIndexANewerProposalTookHearsNotLeaderAtOnce() {
    NodeRuntime<String> n = unconfirmedLeaderOfThree(new NodeRuntime.Timing(MS, TIMEOUT_MS * MS));
    List<Outcome<String>> lost = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("b"), o -> {}); // index 2
    assertThat(n.propose(ByteString.copyFromUtf8("a"), lost::add)).isEqualTo(3);
    n.flush();
    overwrittenAndReelectedInOneTurn(n);
    // The new term's no-op took index 2, so this proposal takes 3: "a" is gone from the log.
    assertThat(n.propose(ByteString.copyFromUtf8("c"), o -> {})).isEqualTo(3);
    assertThat(lost).as("answered before any Ready").containsExactly(Outcome.notLeader(0));
  }

  @Test
  void aProposalOverwrittenByAnotherTermsEntryHearsNotLeaderWhenThatEntryCommits() {
    NodeRuntime<String> n = unconfirmedLeaderOfThree(new NodeRuntime.Timing(MS, TIMEOUT_MS * MS));
    List<Outcome<String>> lost = new ArrayList<>();
    assertThat(n.propose(ByteString.copyFromUtf8("a"), lost::add)).isEqualTo(2);
    n.flush();
    overwrittenAndReelectedInOneTurn(n);
    n.flush();
    assertThat(lost).isEmpty();
    ackAll(n); // commits index 2: the no-op of term 3, not "a" of term 1
    assertThat(n.appliedIndex()).isEqualTo(2);
    assertThat(lost).containsExactly(Outcome.notLeader(0));
  }

  /**
   * Leadership lost and won again within one turn: no Ready shows a role change, but the core
   * dropped the old term's unconfirmed reads (§8: a read point belongs to one term). Their clients
   * hear NOT_LEADER at the next Ready rather than wait for the request timeout.
   */
  @Test
  void aReadOfATermLostAndRegainedInOneTurnHearsNotLeader() {
    NodeRuntime<String> n = unconfirmedLeaderOfThree(new NodeRuntime.Timing(MS, TIMEOUT_MS * MS));
    List<Outcome<Void>> read = new ArrayList<>();
    assertThat(n.read(read::add)).isPositive();
    n.flush();
    assertThat(n.pendingRequests()).isEqualTo(1);
    overwrittenAndReelectedInOneTurn(n);
    n.flush();
    assertThat(read).containsExactly(Outcome.notLeader(0));
    assertThat(n.pendingRequests()).isZero();
  }

  /** A request answered TIMEOUT no longer counts as waiting. */
  @Test
  void aTimedOutRequestIsNoLongerPending() {
    NodeRuntime<String> n = unconfirmedLeaderOfThree(new NodeRuntime.Timing(MS, 10 * MS));
    List<Outcome<String>> out = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("a"), out::add);
    n.flush();
    assertThat(n.pendingRequests()).isEqualTo(1);
    n.setTime(10 * MS);
    n.flush();
    assertThat(out).containsExactly(Outcome.timeout());
    assertThat(n.pendingRequests()).isZero();
  }

  @Test
  void aRequestAnsweredBetweenTurnsNoLongerWakesTheLoop() {
    // Ticks of 1 s, requests of 100 ms: the next wake is a request's deadline.
    NodeRuntime<String> n = unconfirmedLeaderOfThree(new NodeRuntime.Timing(1_000 * MS, 100 * MS));
    List<Outcome<String>> timedOut = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("b"), timedOut::add); // index 2, deadline 100 ms
    n.flush();
    n.setTime(50 * MS);
    List<Outcome<String>> lost = new ArrayList<>();
    n.propose(ByteString.copyFromUtf8("a"), lost::add); // index 3, deadline 150 ms
    n.flush();
    n.setTime(100 * MS);
    n.flush();
    assertThat(timedOut).containsExactly(Outcome.timeout());
    overwrittenAndReelectedInOneTurn(n);
    n.propose(ByteString.copyFromUtf8("c"), o -> {}); // index 3 again, deadline 200 ms
    assertThat(lost).containsExactly(Outcome.notLeader(0));
    // "a" was answered by that proposal, not by a turn: its deadline must not wake the loop.
    assertThat(n.nextWakeNanos()).isEqualTo(200 * MS);
  }

  // ---------------------------------------------------------------- membership (chapter 4)

  private static io.raftkv.proto.raft.ConfChange removal(int id) {
    return io.raftkv.proto.raft.ConfChange.newBuilder()
        .addChanges(
            io.raftkv.proto.raft.ConfChangeSingle.newBuilder()
                .setType(io.raftkv.proto.raft.ConfChangeType.CONF_CHANGE_REMOVE)
                .setMember(io.raftkv.proto.raft.Member.newBuilder().setId(id)))
        .build();
  }

  @Test
  void aRefusedConfigurationChangeIsAnsweredAtOnceWithTheLeadersReason() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> outcomes = new ArrayList<>();
    assertThat(n.proposeConfChange(removal(7), outcomes::add)).isZero();
    assertThat(outcomes)
        .singleElement()
        .satisfies(
            o -> {
              assertThat(o.kind()).isEqualTo(Outcome.Kind.REFUSED);
              assertThat(o.message()).contains("no member 7");
            });
  }

  @Test
  void aFollowerAnswersAConfigurationChangeNotLeader() {
    NodeRuntime<String> n = node(3, false);
    List<Outcome<String>> outcomes = new ArrayList<>();
    assertThat(n.proposeConfChange(removal(2), outcomes::add)).isZero();
    assertThat(outcomes)
        .singleElement()
        .extracting(Outcome::kind)
        .isEqualTo(Outcome.Kind.NOT_LEADER);
  }

  /**
   * Dissertation §4.2.2: a leader removed by its own change steps down as it commits it; the change
   * was applied, so its proposer hears OK, not "leadership lost".
   */
  @Test
  void aLeaderRemovingItselfHearsThatItsChangeApplied() {
    NodeRuntime<String> n = leaderOfThree();
    List<Outcome<String>> outcomes = new ArrayList<>();
    long index = n.proposeConfChange(removal(0), outcomes::add);
    assertThat(index).isPositive();
    n.flush();
    ackAll(n);
    assertThat(n.softState().role()).as("C_new = {1, 2} needs node 2 too").isEqualTo(Role.LEADER);
    n.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(n.term())
            .setAppendResponse(
                io.raftkv.proto.raft.AppendEntriesResponse.newBuilder()
                    .setSuccess(true)
                    .setMatchIndex(index))
            .build());
    n.flush();
    assertThat(n.softState().role()).isEqualTo(Role.FOLLOWER);
    assertThat(outcomes).singleElement().extracting(Outcome::kind).isEqualTo(Outcome.Kind.OK);
    assertThat(applied.get(applied.size() - 1)).extracting(Entry::getIndex).contains(index);
    assertThat(n.raft().configuration().getVotersList()).containsExactly(1, 2);
  }

  @Test
  void theListenerHearsEveryNewConfigurationOnce() {
    List<io.raftkv.proto.raft.ConfState> heard = new ArrayList<>();
    RaftConfig config = RaftConfig.defaults(0, List.of(0)).withElectionTimeout(10, 20);
    NodeRuntime<String> n =
        runtime(
            config,
            new NodeRuntime.Timing(MS, TIMEOUT_MS * MS),
            new NodeRuntime.Listener() {
              @Override
              public void configurationChanged(io.raftkv.proto.raft.ConfState c) {
                heard.add(c);
              }
            });
    n.campaign();
    n.flush();
    n.flush();
    n.proposeConfChange(
        io.raftkv.proto.raft.ConfChange.newBuilder()
            .addChanges(
                io.raftkv.proto.raft.ConfChangeSingle.newBuilder()
                    .setType(io.raftkv.proto.raft.ConfChangeType.CONF_CHANGE_ADD_LEARNER)
                    .setMember(io.raftkv.proto.raft.Member.newBuilder().setId(5)))
            .build(),
        o -> {});
    n.flush();
    n.flush();
    assertThat(heard).hasSize(2);
    assertThat(heard.get(0).getVotersList()).containsExactly(0);
    assertThat(heard.get(1).getLearnersList()).containsExactly(5);
  }
}
