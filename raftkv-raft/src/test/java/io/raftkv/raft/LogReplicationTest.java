package io.raftkv.raft;

import static io.raftkv.raft.TestNetwork.data;
import static io.raftkv.raft.TestNetwork.entry;
import static io.raftkv.raft.TestNetwork.ids;
import static io.raftkv.raft.TestNetwork.log;
import static io.raftkv.raft.TestNetwork.paperConfig;
import static io.raftkv.raft.TestNetwork.state;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.AppendEntriesResponse;
import io.raftkv.proto.raft.Entry;
import io.raftkv.proto.raft.EntryType;
import io.raftkv.proto.raft.RaftMessage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** §5.3 (log replication) and Figure 2's AppendEntries receiver rules. */
class LogReplicationTest {

  private static Raft follower(int id, long term, long commit, List<Entry> entries) {
    Raft r =
        new Raft(paperConfig(id, ids(3)), new SplittableRandom(id), state(term, commit, entries));
    drain(r);
    return r;
  }

  private static List<RaftMessage> drain(Raft r) {
    List<RaftMessage> out = new ArrayList<>();
    while (r.hasReady()) {
      Ready rd = r.ready();
      out.addAll(rd.messages());
      r.advance(rd);
    }
    return out;
  }

  private static RaftMessage append(
      long term, long prevIndex, long prevTerm, long commit, List<Entry> entries) {
    return RaftMessage.newBuilder()
        .setFrom(1)
        .setTo(2)
        .setTerm(term)
        .setAppendRequest(
            AppendEntriesRequest.newBuilder()
                .setPrevLogIndex(prevIndex)
                .setPrevLogTerm(prevTerm)
                .setLeaderCommit(commit)
                .addAllEntries(entries))
        .build();
  }

  private static AppendEntriesResponse onlyResponse(Raft r) {
    List<RaftMessage> out = drain(r);
    assertThat(out).hasSize(1);
    return out.get(0).getAppendResponse();
  }

  /**
   * §5.3: the leader appends a command to its log, replicates it, and once it is stored on a
   * majority commits it; every node applies it, in log order, after the leader's no-op (§8).
   */
  @Test
  void leaderReplicatesAndCommitsProposal() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    long index = net.raft(1).propose(data("set x=1"));
    assertThat(index).isEqualTo(2);
    net.deliverAll();
    for (int id : net.ids()) {
      assertThat(net.raft(id).commitIndex()).isEqualTo(2);
      assertThat(net.node(id).applied)
          .extracting(Entry::getType, e -> e.getData().toStringUtf8())
          .containsExactly(
              tuple(EntryType.ENTRY_NOOP, ""), tuple(EntryType.ENTRY_NORMAL, "set x=1"));
      assertThat(net.node(id).storage.entries).isEqualTo(net.node(1).storage.entries);
    }
  }

  /** §5.3: followers reject a proposal; only the leader accepts client commands. */
  @Test
  void followersRefuseProposals() {
    TestNetwork net = TestNetwork.create(3, 1);
    net.elect(1);
    assertThat(net.raft(2).propose(data("x"))).isZero();
    assertThat(net.raft(2).hasReady()).isFalse();
  }

  /**
   * Figure 2, AppendEntries rule 2 (the consistency check, §5.3): "Reply false if log doesn't
   * contain an entry at prevLogIndex whose term matches prevLogTerm"; the log is left unchanged.
   */
  @Test
  void followerRejectsAppendFailingConsistencyCheck() {
    Raft f = follower(2, 2, 0, log(1, 1, 2));
    // prevLogIndex beyond the log: conflict term 0, retry from its end.
    f.step(append(3, 5, 2, 0, List.of(entry(6, 3))));
    AppendEntriesResponse r = onlyResponse(f);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getRejectedIndex()).isEqualTo(5);
    assertThat(r.getConflictTerm()).isZero();
    assertThat(r.getConflictIndex()).isEqualTo(4);

    // Term mismatch at prevLogIndex: name the conflicting term and its first index.
    f.step(append(3, 3, 3, 0, List.of(entry(4, 3))));
    r = onlyResponse(f);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getRejectedIndex()).isEqualTo(3);
    assertThat(r.getConflictTerm()).isEqualTo(2);
    assertThat(r.getConflictIndex()).isEqualTo(3);
    assertThat(f.lastIndex()).isEqualTo(3);

    // Still, the follower learned of the leader of term 3.
    assertThat(f.term()).isEqualTo(3);
    assertThat(f.leaderId()).isEqualTo(1);
  }

  /** Figure 2, AppendEntries rule 1: "Reply false if term < currentTerm." */
  @Test
  void followerRejectsAppendFromStaleTerm() {
    Raft f = follower(2, 5, 0, log(1, 1));
    f.step(append(3, 2, 1, 2, List.of(entry(3, 3))));
    List<RaftMessage> out = drain(f);
    assertThat(out).hasSize(1);
    assertThat(out.get(0).getTerm()).isEqualTo(5); // tells the stale leader it is behind
    assertThat(out.get(0).getAppendResponse().getSuccess()).isFalse();
    assertThat(f.lastIndex()).isEqualTo(2);
    assertThat(f.commitIndex()).isZero();
  }

  /**
   * Figure 2, AppendEntries rules 3–4: "If an existing entry conflicts with a new one (same index
   * but different terms), delete the existing entry and all that follow it"; append new entries not
   * already in the log. The next Ready tells the driver to overwrite the persisted suffix.
   */
  @Test
  void followerReplacesConflictingUncommittedSuffix() {
    Raft f = follower(2, 2, 1, log(1, 2, 2, 2));
    f.step(append(3, 1, 1, 1, List.of(entry(2, 3), entry(3, 3))));
    Ready rd = f.ready();
    assertThat(rd.entries()).containsExactly(entry(2, 3), entry(3, 3));
    assertThat(rd.mustSync()).isTrue();
    assertThat(rd.messages()).hasSize(1);
    assertThat(rd.messages().get(0).getAppendResponse().getSuccess()).isTrue();
    assertThat(rd.messages().get(0).getAppendResponse().getMatchIndex()).isEqualTo(3);
    f.advance(rd);
    assertThat(f.lastIndex()).isEqualTo(3); // the stale entry 4 of term 2 is gone
    assertThat(f.status().lastTerm()).isEqualTo(3);
  }

  /**
   * Figure 2, AppendEntries rule 3 applies only to a conflict: an old, reordered AppendEntries
   * whose entries the follower already holds must not truncate what follows them.
   */
  @Test
  void followerDoesNotTruncateOnStaleMatchingAppend() {
    Raft f = follower(2, 3, 0, log(1, 3, 3, 3));
    f.step(append(3, 1, 1, 0, List.of(entry(2, 3))));
    AppendEntriesResponse r = onlyResponse(f);
    assertThat(r.getSuccess()).isTrue();
    assertThat(r.getMatchIndex()).isEqualTo(2);
    assertThat(f.lastIndex()).isEqualTo(4);
  }

  /**
   * Figure 2, AppendEntries rule 5: "If leaderCommit > commitIndex, set commitIndex =
   * min(leaderCommit, index of last new entry)"; a follower never commits beyond what the message
   * proved to match, even if its log is longer.
   */
  @Test
  void followerCommitsUpToLeaderCommitButNotBeyondVerifiedEntries() {
    Raft f = follower(2, 3, 0, log(1, 1, 2, 2));
    f.step(append(3, 1, 1, 4, List.of()));
    drain(f);
    assertThat(f.commitIndex()).isEqualTo(1); // entries 2..4 were not checked by this message
    f.step(append(3, 2, 1, 4, List.of(entry(3, 3))));
    drain(f);
    assertThat(f.commitIndex()).isEqualTo(3);
    assertThat(f.lastIndex()).isEqualTo(3);
  }

  /**
   * §5.3 Log Matching after truncation ("the leader handles inconsistencies by forcing the
   * followers' logs to duplicate its own", Figure 7): whatever a follower's log looks like, once
   * the new leader has brought it up to date, the two logs are identical.
   */
  @Test
  void logMatchingAfterTruncation() {
    List<Entry> leaderLog = log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6);
    List<List<Entry>> followerLogs =
        List.of(
            log(1, 1, 1, 4, 4, 5, 5, 6, 6), // (a) missing one entry
            log(1, 1, 1, 4), // (b) missing many
            log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6), // (c) one extra, uncommitted
            log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7), // (d) extra entries of a later term
            log(1, 1, 1, 4, 4, 4, 4), // (e) conflicting entries of term 4
            log(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3)); // (f) conflicting entries of terms 2, 3
    for (List<Entry> followerLog : followerLogs) {
      long followerTerm = followerLog.get(followerLog.size() - 1).getTerm();
      TestNetwork net =
          TestNetwork.restored(
              1,
              c -> c,
              state(8, 3, leaderLog),
              state(followerTerm, 3, followerLog),
              state(8, 3, leaderLog));
      net.elect(1);
      net.deliverAll();
      List<Entry> expected = net.node(1).storage.entries;
      assertThat(expected).hasSize(11);
      assertThat(expected.get(10).getTerm()).isEqualTo(9); // the no-op of term 9
      assertThat(net.node(2).storage.entries)
          .as("follower log %s", followerLog)
          .isEqualTo(expected);
      assertThat(net.raft(2).lastIndex()).isEqualTo(11);
      assertThat(net.raft(2).commitIndex()).as("follower log %s", followerLog).isEqualTo(11);
    }
  }

  /**
   * §5.3 accelerated backoff ("the follower can include the term of the conflicting entry and the
   * first index it stores for that term ... one AppendEntries RPC will be required for each term
   * with conflicting entries, rather than one RPC per entry"): a follower with 100 entries of an
   * old term diverging from the leader's log catches up in a couple of round trips.
   */
  @Test
  void fastBackoffSkipsAWholeConflictingTermPerRoundTrip() {
    long[] stale = new long[101];
    Arrays.fill(stale, 2);
    stale[0] = 1;
    long[] leader = new long[11];
    Arrays.fill(leader, 3);
    leader[0] = 1;
    TestNetwork net =
        TestNetwork.restored(
            1, c -> c, state(3, 1, log(leader)), state(2, 1, log(stale)), state(3, 1, log(leader)));
    net.elect(1);
    net.deliverAll();
    assertThat(net.node(2).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(rejections(net, 2)).isEqualTo(1);
    assertThat(appendsWithEntries(net, 2)).isLessThanOrEqualTo(2);
  }

  /**
   * §5.3: when the leader holds the follower's conflicting term, it skips to its own last entry of
   * that term at once; a follower merely missing entries answers with its log's end.
   */
  @Test
  void fastBackoffUsesLeadersKnowledgeOfTheConflictingTerm() {
    long[] leader = new long[60];
    Arrays.fill(leader, 0, 50, 2);
    Arrays.fill(leader, 50, 60, 4);
    leader[0] = 1;
    long[] stale = new long[101];
    Arrays.fill(stale, 2);
    stale[0] = 1;
    TestNetwork net =
        TestNetwork.restored(
            1, c -> c, state(4, 1, log(leader)), state(2, 1, log(stale)), state(4, 1, log(1)));
    net.elect(1);
    net.deliverAll();
    assertThat(net.node(2).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(rejections(net, 2)).isEqualTo(1);
    assertThat(rejections(net, 3)).isEqualTo(1); // far behind: one rejection names its log's end
    // Node 2 kept its 49 matching entries of term 2: the entries sent to it start at 51.
    assertThat(
            net.sent.stream()
                .filter(m -> m.getTo() == 2 && m.hasAppendRequest())
                .filter(m -> m.getAppendRequest().getEntriesCount() > 0)
                .mapToLong(m -> m.getAppendRequest().getEntries(0).getIndex())
                .min())
        .hasValue(51);
  }

  private static long rejections(TestNetwork net, int follower) {
    return net.sent.stream()
        .filter(m -> m.getFrom() == follower && m.hasAppendResponse())
        .filter(m -> !m.getAppendResponse().getSuccess())
        .count();
  }

  private static long appendsWithEntries(TestNetwork net, int follower) {
    return net.sent.stream()
        .filter(m -> m.getTo() == follower && m.hasAppendRequest())
        .filter(m -> m.getAppendRequest().getEntriesCount() > 0)
        .count();
  }

  /**
   * §5.4.3 (State Machine Safety): committed entries are never truncated. A follower's conflict
   * hint never points at or below its commit index, and the log refuses to truncate a committed
   * entry even if told to.
   */
  @Test
  void committedEntriesAreNeverTruncated() {
    Raft f = follower(2, 2, 5, log(1, 2, 2, 2, 2, 2, 2, 2, 2, 2));
    f.step(append(3, 8, 3, 5, List.of(entry(9, 3))));
    AppendEntriesResponse r = onlyResponse(f);
    assertThat(r.getSuccess()).isFalse();
    assertThat(r.getConflictTerm()).isEqualTo(2);
    assertThat(r.getConflictIndex()).isEqualTo(6); // not 2: entries up to 5 are committed

    RaftLog raftLog = new RaftLog(log(1, 2, 2), 2, 0);
    assertThatThrownBy(() -> raftLog.maybeAppend(1, 1, 2, List.of(entry(2, 3))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("refusing to truncate committed entry 2");
    assertThat(raftLog.term(2)).isEqualTo(2);
    assertThat(raftLog.lastIndex()).isEqualTo(3);
  }

  /**
   * §5.3: "If followers crash or run slowly, or if network packets are lost, the leader retries
   * AppendEntries RPCs indefinitely ... until all followers eventually store all log entries."
   */
  @Test
  void leaderRetriesLostAppendsUntilFollowerCatchesUp() {
    TestNetwork net = TestNetwork.create(3, 4);
    net.elect(1);
    net.isolate(3);
    for (int i = 0; i < 5; i++) {
      net.raft(1).propose(data("v" + i));
      net.deliverAll();
    }
    assertThat(net.raft(3).lastIndex()).isEqualTo(1);
    net.heal();
    net.tickAll(3);
    assertThat(net.node(3).storage.entries).isEqualTo(net.node(1).storage.entries);
    assertThat(net.raft(3).commitIndex()).isEqualTo(6);
  }
}
