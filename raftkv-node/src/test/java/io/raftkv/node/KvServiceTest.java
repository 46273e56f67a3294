package io.raftkv.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftkv.proto.kvs.AppendRequest;
import io.raftkv.proto.kvs.DeleteRequest;
import io.raftkv.proto.kvs.DirectGetRequest;
import io.raftkv.proto.kvs.GetRequest;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.PutRequest;
import io.raftkv.proto.kvs.RegisterClientRequest;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import io.raftkv.proto.raft.AppendEntriesRequest;
import io.raftkv.proto.raft.RaftMessage;
import io.raftkv.proto.raft.RequestVoteResponse;
import io.raftkv.raft.PersistentState;
import io.raftkv.raft.Raft;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.Role;
import io.raftkv.storage.KvStateMachine;
import io.raftkv.storage.MemoryKvEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The KV service's decisions over a real runtime and state machine (in memory): validation, routing
 * of a follower's requests to the leader, writes through the log with the client's session,
 * ReadIndex reads, and the answers clients get when there is no outcome.
 */
class KvServiceTest {
  private static final long MS = 1_000_000L;

  /** One session at most: a second registration evicts the first. */
  private final KvStateMachine sm =
      new KvStateMachine(
          new MemoryKvEngine(), new KvStateMachine.Options(KvStateMachine.DEFAULT_SESSION_TTL, 1));

  private final List<KvResponse> replies = new ArrayList<>();
  private NodeRuntime<KvStateMachine.Applied> node;
  private KvService service;
  private long wallMillis = 1_000;
  private long now;

  /** The session {@link #session} names: 0 (none) until {@link #register} opens one. */
  private long clientId;

  /** Node 0 of {@code voters} nodes; 1 ms ticks, election timeout 10-20 ms, 100 ms requests. */
  private void start(int voters) {
    start(voters, true);
  }

  private void start(int voters, boolean preVoteAndCheckQuorum) {
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < voters; i++) {
      ids.add(i);
    }
    Raft raft =
        new Raft(
            RaftConfig.defaults(0, ids)
                .withElectionTimeout(10, 20)
                .withHeartbeat(2)
                .withPreVoteAndCheckQuorum(preVoteAndCheckQuorum, preVoteAndCheckQuorum),
            new SplittableRandom(3),
            PersistentState.empty());
    node =
        new NodeRuntime<>(
            raft,
            0,
            (hs, entries, sync) -> {},
            messages -> {},
            entries -> sm.apply(entries).results(),
            new NodeRuntime.Timing(MS, 100 * MS),
            new NodeRuntime.Listener() {},
            0,
            MS);
    service = service(new KvService.Probe() {});
  }

  /** The service over {@link #node}, with the test's clocks and {@code probe}. */
  private KvService service(KvService.Probe probe) {
    return new KvService(
        node,
        sm,
        new KvService.Limits(8, 16),
        id -> id == 2 ? "10.0.0.2:2025" : "",
        new KvService.Clock() {
          @Override
          public long wallMillis() {
            return wallMillis;
          }

          @Override
          public long nanos() {
            return now;
          }
        },
        probe);
  }

  private void leaderAlone() {
    start(1);
    node.campaign();
    node.flush();
  }

  private void run(long ms) {
    for (long i = 0; i < ms; i++) {
      now += MS;
      node.setTime(now);
      node.flush();
    }
  }

  private SessionHeader session(long seq) {
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(seq).build();
  }

  /** Registers a session (§6.3) on the leader and makes it the one {@link #session} names. */
  private long register() {
    service.registerClient(RegisterClientRequest.getDefaultInstance(), replies::add);
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.OK);
    clientId = last().getClientId();
    replies.clear();
    return clientId;
  }

  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private KvResponse last() {
    return replies.get(replies.size() - 1);
  }

  @Test
  void writesGoThroughTheLogAndReadsSeeThem() {
    leaderAlone();
    register();
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    service.append(
        AppendRequest.newBuilder().setSession(session(2)).setKey(b("k")).setValue(b("w")).build(),
        replies::add);
    node.flush();
    service.get(GetRequest.newBuilder().setKey(b("k")).build(), replies::add);
    node.flush();
    assertThat(replies).extracting(KvResponse::getStatus).containsOnly(Status.OK);
    assertThat(last().getValue().toStringUtf8()).isEqualTo("vw");
    assertThat(sm.clockMillis()).as("the leader stamped its clock").isEqualTo(1_000);
  }

  @Test
  void aRetriedWriteIsAnsweredFromTheSessionNotAppliedAgain() {
    leaderAlone();
    register();
    AppendRequest a =
        AppendRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("x")).build();
    service.append(a, replies::add);
    node.flush();
    service.append(a, replies::add);
    node.flush();
    assertThat(replies).extracting(KvResponse::getStatus).containsExactly(Status.OK, Status.OK);
    assertThat(service.directGet(DirectGetRequest.newBuilder().setKey(b("k")).build()).getValue())
        .isEqualTo(b("x"));
  }

  @Test
  void aRegistrationGoesThroughTheLogAndItsIndexIsTheClientId() {
    leaderAlone();
    long noop = sm.appliedIndex(); // the leader's no-op (§8)
    long id = register();
    assertThat(id).isEqualTo(noop + 1).isEqualTo(sm.appliedIndex());
    assertThat(sm.session(id)).isPresent();
  }

  @Test
  void aWriteNamingAnUnregisteredSessionIsSessionExpiredAndNotApplied() {
    leaderAlone();
    clientId = 42;
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(last().getMessage()).contains("register a new session");
    assertThat(service.directGet(DirectGetRequest.newBuilder().setKey(b("k")).build()).getStatus())
        .isEqualTo(Status.NO_KEY);
  }

  /** The exactly-once hole of sequence 1, through the service: the session evicted in between. */
  @Test
  void aFirstWriteRetriedAfterItsSessionWasEvictedIsSessionExpiredAndNotAppliedTwice() {
    leaderAlone();
    long first = register();
    AppendRequest a =
        AppendRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("x")).build();
    service.append(a, replies::add);
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.OK);
    register(); // the cap is one session: this evicts the first
    assertThat(sm.session(first)).isEmpty();

    service.append(a, replies::add); // the client never heard the OK, and retries
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.SESSION_EXPIRED);
    assertThat(service.directGet(DirectGetRequest.newBuilder().setKey(b("k")).build()).getValue())
        .isEqualTo(b("x"));
  }

  @Test
  void badKeysAndValuesAreRefusedNamingTheLimitAndChangeNothing() {
    leaderAlone();
    service.put(PutRequest.newBuilder().setKey(b("")).build(), replies::add);
    service.put(PutRequest.newBuilder().setKey(b("123456789")).build(), replies::add);
    service.put(
        PutRequest.newBuilder().setKey(b("k")).setValue(b("12345678901234567")).build(),
        replies::add);
    service.get(GetRequest.newBuilder().setKey(b("123456789")).build(), replies::add);
    assertThat(replies).extracting(KvResponse::getStatus).containsOnly(Status.INVALID_ARGUMENT);
    assertThat(replies)
        .extracting(KvResponse::getMessage)
        .containsExactly(
            "the key is empty",
            "key of 9 bytes exceeds the limit of 8 bytes",
            "value of 17 bytes exceeds the limit of 16 bytes",
            "key of 9 bytes exceeds the limit of 8 bytes");
    assertThat(node.pendingRequests()).isZero();
  }

  @Test
  void aFollowerRedirectsToTheLeaderWithItsAddressWhenKnown() {
    start(3);
    node.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(1)
            .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
            .build());
    node.flush();
    service.put(PutRequest.newBuilder().setKey(b("k")).build(), replies::add);
    assertThat(last().getStatus()).isEqualTo(Status.NOT_LEADER);
    assertThat(last().getLeaderAddress()).isEqualTo("10.0.0.2:2025");
    assertThat(last().getMessage())
        .isEqualTo("not the leader; the leader is node 2 at 10.0.0.2:2025");
  }

  @Test
  void duringAnElectionARequestWaitsThenFailsUnavailableIfNoLeaderEmerges() {
    start(3);
    node.holdElections(10_000 * MS);
    service.delete(DeleteRequest.newBuilder().setKey(b("k")).build(), replies::add);
    run(99);
    assertThat(replies).isEmpty();
    run(1);
    assertThat(last().getStatus()).isEqualTo(Status.UNAVAILABLE);
    assertThat(last().getMessage()).isEqualTo("no leader elected within 100 ms");
  }

  /** Makes node 0 the leader of a 3-node cluster whose followers never acknowledge entries. */
  private void leaderOfSilentFollowers() {
    node.campaign();
    node.flush();
    node.receive(
        RaftMessage.newBuilder()
            .setFrom(1)
            .setTo(0)
            .setTerm(1)
            .setVoteResponse(RequestVoteResponse.newBuilder().setVoteGranted(true))
            .build());
    node.flush();
    assertThat(node.softState().role()).isEqualTo(Role.LEADER);
  }

  @Test
  void aWriteWithoutAnOutcomeTimesOutSayingItMayStillApply() {
    start(3, false); // no CheckQuorum: the leader stays although nobody answers
    leaderOfSilentFollowers();
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    run(99);
    assertThat(replies).isEmpty();
    run(1);
    assertThat(last().getStatus()).isEqualTo(Status.TIMEOUT);
    assertThat(last().getMessage())
        .isEqualTo("no outcome within 100 ms; the write may still apply");
  }

  @Test
  void aWriteWhoseLeaderStepsDownIsUnavailableWithItsOutcomeUnknown() {
    start(3, false);
    leaderOfSilentFollowers();
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    node.flush();
    node.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(7)
            .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
            .build());
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.UNAVAILABLE);
    assertThat(last().getMessage()).isEqualTo("leadership lost; the write may or may not apply");
  }

  @Test
  void aReadWhoseLeaderStepsDownIsRedirectedToTheNewLeader() {
    start(3, false);
    leaderOfSilentFollowers();
    service.get(GetRequest.newBuilder().setKey(b("k")).build(), replies::add);
    node.flush();
    assertThat(replies).as("no majority confirmed the read yet").isEmpty();
    node.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(7)
            .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
            .build());
    node.flush();
    // Nothing was read, so the client may simply ask the new leader.
    assertThat(last().getStatus()).isEqualTo(Status.NOT_LEADER);
    assertThat(last().getLeaderAddress()).isEqualTo("10.0.0.2:2025");
  }

  @Test
  void deletingAMissingKeyAnswersNoKey() {
    leaderAlone();
    register();
    service.delete(
        DeleteRequest.newBuilder().setSession(session(1)).setKey(b("k")).build(), replies::add);
    service.get(GetRequest.newBuilder().setKey(b("k")).build(), replies::add);
    node.flush();
    assertThat(replies)
        .extracting(KvResponse::getStatus)
        .containsExactly(Status.NO_KEY, Status.NO_KEY);
  }

  @Test
  void aKeyAndAValueOfExactlyTheLimitAreAccepted() {
    leaderAlone();
    service.put(
        PutRequest.newBuilder()
            .setSession(session(1))
            .setKey(b("12345678"))
            .setValue(b("1234567890123456"))
            .build(),
        replies::add);
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.OK);
  }

  @Test
  void aRequestThatWaitedForAnElectionThisNodeWonIsServedInThatTurn() {
    start(1);
    node.holdElections(50 * MS);
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    assertThat(replies).isEmpty();
    node.campaign();
    node.flush();
    assertThat(replies).extracting(KvResponse::getStatus).containsExactly(Status.OK);
  }

  @Test
  void aRequestThatWaitedForAnElectionAnotherNodeWonIsRedirected() {
    start(3);
    node.holdElections(10_000 * MS);
    service.get(GetRequest.newBuilder().setKey(b("k")).build(), replies::add);
    node.receive(
        RaftMessage.newBuilder()
            .setFrom(2)
            .setTo(0)
            .setTerm(1)
            .setAppendRequest(AppendEntriesRequest.getDefaultInstance())
            .build());
    node.flush();
    assertThat(last().getStatus()).isEqualTo(Status.NOT_LEADER);
    assertThat(last().getLeaderAddress()).isEqualTo("10.0.0.2:2025");
  }

  @Test
  void theProbeCountsRequestsAndTimesThemOnTheInjectedClock() {
    List<String> events = new ArrayList<>();
    start(1);
    service =
        service(
            new KvService.Probe() {
              @Override
              public void writeProposed() {
                events.add("proposed");
              }

              @Override
              public void writeCompleted(long nanos) {
                events.add("write " + nanos);
              }

              @Override
              public void readRequested() {
                events.add("read");
              }

              @Override
              public void readIndexCompleted(long nanos) {
                events.add("read index " + nanos);
              }
            });
    node.campaign();
    node.flush();
    // The requests arrive at 5 ms on the injected clock: a latency is measured from then, not from
    // the clock's origin.
    now = 5 * MS;
    service.put(
        PutRequest.newBuilder().setSession(session(1)).setKey(b("k")).setValue(b("v")).build(),
        replies::add);
    service.get(GetRequest.newBuilder().setKey(b("k")).build(), replies::add);
    now += 7 * MS; // the turn's fsync and apply take 7 ms on the injected clock
    node.flush();
    // The read (of what was committed when it came) need not wait for the concurrent write.
    assertThat(events).containsExactly("proposed", "read", "read index 7000000", "write 7000000");
  }
}
