package io.raftkv.client.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.raftkv.client.KvException;
import io.raftkv.client.OutcomeUnknownException;
import io.raftkv.client.retry.RetryPolicy.Answer;
import io.raftkv.client.retry.RetryPolicy.Decision;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/**
 * The client's routing and retry rules, without a transport: each test feeds answers and checks the
 * decision (the same rules KvClient follows over gRPC and the simulator's clients follow).
 */
class RetryPolicyTest {
  private static final long MS = 1_000_000L;

  /** 1 s overall, 200 ms per attempt, backoff 10 ms doubling to 40 ms. */
  private final RetryPolicy policy = new RetryPolicy(1_000 * MS, 200 * MS, 10 * MS, 40 * MS);

  private final ServerRouting routing = new ServerRouting(List.of("a", "b", "c"));

  /** Registered as client 101 (most tests are about what follows registration). */
  private final WriteSession session = new WriteSession();

  {
    session.registered(101);
  }

  private final SplittableRandom random = new SplittableRandom(1);

  private static Answer server(String server, Status status) {
    return new Answer(server, status, status.toString(), "", true);
  }

  private static Answer notLeader(String server, String hint) {
    return new Answer(server, Status.NOT_LEADER, "not the leader", hint, true);
  }

  private static Answer registered(String server, long clientId) {
    return new Answer(server, Status.OK, "", "", true, clientId);
  }

  private static Answer lost(String server) {
    return Answer.transportFailure(server, Status.UNAVAILABLE, server + ": connection refused");
  }

  @Test
  void anOperationStartsAtTheRememberedLeaderElseTheFirstServer() {
    assertThat(policy.read("GET", routing, null, 0, random).target()).isEqualTo("a");
    routing.leaderIs("c");
    assertThat(policy.read("GET", routing, null, 0, random).target()).isEqualTo("c");
  }

  @Test
  void aLeaderHintIsFollowedAtOnceAndRemembered() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    Decision d = op.onAnswer(notLeader("a", "c"), 0);
    assertThat(d).isEqualTo(new Decision(Decision.Kind.RETRY, 0, null));
    assertThat(op.target()).isEqualTo("c");
    assertThat(routing.leader()).isEqualTo("c");
  }

  /**
   * A stale server (removed from the cluster, or cut off) that names a dead leader must not send
   * the client back to it every round: when the hinted server fails, the round robin goes on after
   * the server that gave the hint.
   */
  @Test
  void aStaleHintToADeadServerDoesNotTrapTheClientBetweenTwoServers() {
    ServerRouting four = new ServerRouting(List.of("a", "b", "c", "d"));
    RetryPolicy.Operation op = policy.read("GET", four, null, 0, random);
    op.onAnswer(notLeader("a", "b"), 0);
    assertThat(op.target()).isEqualTo("b");
    op.onAnswer(lost("b"), 0);
    assertThat(op.target()).as("after a (whose hint led nowhere) and b").isEqualTo("c");
    op.onAnswer(notLeader("c", "b"), 0);
    op.onAnswer(lost("b"), 0);
    assertThat(op.target()).isEqualTo("d");
  }

  @Test
  void aHintNamingANewServerAddsItToTheKnownOnes() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    op.onAnswer(notLeader("a", "d"), 0);
    assertThat(op.target()).isEqualTo("d");
    assertThat(routing.size()).isEqualTo(4);
  }

  @Test
  void hintsInARowAreBoundedSoTwoConfusedServersCannotPingPongForever() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    // a says b, b says a, ... : after as many hints as there are servers, back off instead.
    String[] ring = {"a", "b"};
    long delays = 0;
    for (int i = 0; i < 3; i++) {
      Decision d = op.onAnswer(notLeader(ring[i % 2], ring[(i + 1) % 2]), 0);
      delays += d.delayNanos();
    }
    assertThat(delays).isZero();
    Decision fourth = op.onAnswer(notLeader("b", "a"), 0);
    assertThat(fourth.delayNanos()).isPositive();
  }

  @Test
  void aFailureMovesToTheNextServerAfterAJitteredBackoffThatDoubles() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    Decision d1 = op.onAnswer(lost("a"), 0);
    assertThat(op.target()).isEqualTo("b");
    assertThat(d1.delayNanos()).isBetween(5 * MS, 10 * MS);
    Decision d2 = op.onAnswer(lost("b"), 0);
    assertThat(op.target()).isEqualTo("c");
    assertThat(d2.delayNanos()).isBetween(10 * MS, 20 * MS);
    Decision d3 = op.onAnswer(lost("c"), 0);
    assertThat(d3.delayNanos()).isBetween(20 * MS, 40 * MS);
    Decision d4 = op.onAnswer(lost("a"), 0);
    assertThat(d4.delayNanos()).as("capped at the maximum").isBetween(20 * MS, 40 * MS);
  }

  @Test
  void aFailedLeaderIsForgotten() {
    routing.leaderIs("b");
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    op.onAnswer(lost("b"), 0);
    assertThat(routing.leader()).isNull();
  }

  @Test
  void everyAttemptOfOneWriteCarriesTheSameSession() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    SessionHeader first = op.session();
    op.onAnswer(lost("a"), 0);
    op.onAnswer(Answer.transportFailure("b", Status.TIMEOUT, "no answer"), 0);
    assertThat(op.session()).isEqualTo(first);
    assertThat(first.getSequence()).isEqualTo(1);
    RetryPolicy.Operation next = policy.write("PUT", routing, session, 0, random);
    assertThat(next.session().getClientId()).isEqualTo(first.getClientId());
    assertThat(next.session().getSequence()).isEqualTo(2);
  }

  @Test
  void aWriteThatMayHaveAppliedEndsUnknownAtTheDeadlineNeverFailed() {
    RetryPolicy.Operation op = policy.write("APPEND", routing, session, 0, random);
    Decision d = op.onAnswer(Answer.transportFailure("a", Status.TIMEOUT, "a: no answer"), 0);
    assertThat(d.kind()).isEqualTo(Decision.Kind.RETRY);
    Decision last = op.onAnswer(notLeader("b", ""), 995 * MS);
    assertThat(last.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(last.error()).isInstanceOf(OutcomeUnknownException.class);
    assertThat(last.error().getMessage())
        .isEqualTo("APPEND outcome unknown: no answer within 1000 ms; last: not the leader");
  }

  @Test
  void aWriteRefusedEverywhereFailsDefinitelyAtTheDeadline() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    Decision last = op.onAnswer(notLeader("a", "x:1"), 999 * MS);
    assertThat(last.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(last.error().outcomeUnknown()).isFalse();
    assertThat(last.error().status()).isEqualTo(Status.UNAVAILABLE);
    assertThat(last.error().getMessage()).startsWith("no leader found within 1000 ms");
    assertThat(last.error().leaderAddress()).isEqualTo("x:1");
  }

  @Test
  void aSessionExpiredBeforeAnyAttemptCouldApplyRegistersAgainAndResendsAtOnce() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    Decision d = op.onAnswer(server("a", Status.SESSION_EXPIRED), 0);
    assertThat(d).isEqualTo(new Decision(Decision.Kind.RETRY, 0, null));
    assertThat(op.registering()).isTrue();
    assertThat(session.clientId()).isZero();
    assertThat(op.onAnswer(registered("a", 102), 0)).isEqualTo(Decision.retry(0));
    assertThat(op.registering()).isFalse();
    assertThat(op.session()).isEqualTo(header(102, 1));
    // A second expiry in a row: give up, definitely (nothing was applied).
    Decision again = op.onAnswer(server("a", Status.SESSION_EXPIRED), 0);
    assertThat(again.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(again.error().outcomeUnknown()).isFalse();
  }

  @Test
  void aSessionExpiredAfterAnAttemptThatMayHaveAppliedIsUnknown() {
    RetryPolicy.Operation op = policy.write("APPEND", routing, session, 0, random);
    op.onAnswer(lost("a"), 0);
    Decision d = op.onAnswer(server("b", Status.SESSION_EXPIRED), 0);
    assertThat(d.error()).isInstanceOf(OutcomeUnknownException.class);
    assertThat(session.clientId()).as("the next write registers a new session").isZero();
    assertThat(policy.write("PUT", routing, session, 0, random).registering()).isTrue();
  }

  @Test
  void aWriteWithoutASessionRegistersOneFirstAndKeepsItForLaterWrites() {
    WriteSession fresh = new WriteSession();
    RetryPolicy.Operation op = policy.write("PUT", routing, fresh, 0, random);
    assertThat(op.registering()).isTrue();
    assertThat(op.session()).isNull();
    // Registration is routed like a write: hints followed, failures retried elsewhere.
    assertThat(op.onAnswer(notLeader("a", "c"), 0)).isEqualTo(Decision.retry(0));
    assertThat(op.onAnswer(lost("c"), 0).kind()).isEqualTo(Decision.Kind.RETRY);
    assertThat(op.registering()).isTrue();
    String leader = op.target();
    assertThat(op.onAnswer(registered(leader, 7), 0)).isEqualTo(Decision.retry(0));
    assertThat(op.target()).as("the write goes to the leader that registered it").isEqualTo(leader);
    assertThat(op.session()).isEqualTo(header(7, 1));
    assertThat(op.onAnswer(server(leader, Status.OK), 0).kind()).isEqualTo(Decision.Kind.DONE);
    RetryPolicy.Operation next = policy.write("PUT", routing, fresh, 0, random);
    assertThat(next.registering()).isFalse();
    assertThat(next.session()).isEqualTo(header(7, 2));
  }

  @Test
  void aRegistrationThatNeverSucceedsFailsDefinitelyNothingOfTheWriteWasSent() {
    RetryPolicy.Operation op = policy.write("APPEND", routing, new WriteSession(), 0, random);
    op.onAnswer(Answer.transportFailure("a", Status.TIMEOUT, "a: no answer"), 0);
    Decision last = op.onAnswer(server("b", Status.UNAVAILABLE), 999 * MS);
    assertThat(last.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(last.error().outcomeUnknown()).isFalse();
    assertThat(op.giveUp().outcomeUnknown()).isFalse();
    RetryPolicy.Operation refused = policy.write("PUT", routing, new WriteSession(), 0, random);
    Decision bad = refused.onAnswer(server("a", Status.INTERNAL), 0);
    assertThat(bad.error().outcomeUnknown()).isFalse();
    assertThat(bad.error().getMessage())
        .isEqualTo("PUT not sent: registering a session failed: INTERNAL");
  }

  @Test
  void aRegistrationAnsweredWithoutAClientIdIsAFailure() {
    RetryPolicy.Operation op = policy.write("PUT", routing, new WriteSession(), 0, random);
    Decision d = op.onAnswer(server("a", Status.OK), 0);
    assertThat(d.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(d.error().status()).isEqualTo(Status.INTERNAL);
    assertThat(d.error().getMessage())
        .isEqualTo("PUT not sent: a registered a session without naming its client id");
  }

  private static SessionHeader header(long clientId, long sequence) {
    return SessionHeader.newBuilder().setClientId(clientId).setSequence(sequence).build();
  }

  @Test
  void invalidArgumentIsAFinalAnswer() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    Decision d = op.onAnswer(server("a", Status.INVALID_ARGUMENT), 0);
    assertThat(d.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(d.error().status()).isEqualTo(Status.INVALID_ARGUMENT);
  }

  @Test
  void anInternalErrorFromAServerMayHaveHappenedAfterTheProposal() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    assertThat(op.onAnswer(server("a", Status.INTERNAL), 0).error())
        .isInstanceOf(OutcomeUnknownException.class);
    RetryPolicy.Operation op2 = policy.write("PUT", routing, session, 0, random);
    Decision local = op2.onAnswer(Answer.transportFailure("a", Status.INTERNAL, "bad call"), 0);
    assertThat(local.error().outcomeUnknown()).isFalse();
  }

  @Test
  void aSuccessRemembersTheLeader() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    assertThat(op.onAnswer(server("b", Status.OK), 0).kind()).isEqualTo(Decision.Kind.DONE);
    assertThat(routing.leader()).isEqualTo("b");
  }

  @Test
  void aDirectGetStaysOnItsServerAndRemembersNoLeader() {
    RetryPolicy.Operation op = policy.read("DIRECT_GET", routing, "c", 0, random);
    op.onAnswer(lost("c"), 0);
    assertThat(op.target()).isEqualTo("c");
    op.onAnswer(notLeader("c", "a"), 0);
    assertThat(op.target()).isEqualTo("c");
    op.onAnswer(server("c", Status.OK), 0);
    assertThat(routing.leader()).isNull();
  }

  @Test
  void anAttemptGetsAtMostItsTimeoutAndWhatIsLeftOfTheDeadline() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    assertThat(op.attemptBudgetNanos(0)).isEqualTo(200 * MS);
    assertThat(op.attemptBudgetNanos(900 * MS)).isEqualTo(100 * MS);
    assertThat(op.attemptBudgetNanos(2_000 * MS)).isEqualTo(1);
  }

  @Test
  void givingUpOnAWriteThatMayHaveAppliedIsUnknownNeverAFailure() {
    // E.g. the client is closed or interrupted during a backoff.
    RetryPolicy.Operation op = policy.write("APPEND", routing, session, 0, random);
    op.onAnswer(lost("a"), 0);
    assertThat(op.giveUp()).isInstanceOf(OutcomeUnknownException.class);
    RetryPolicy.Operation refused = policy.write("PUT", routing, session, 0, random);
    refused.onAnswer(notLeader("a", ""), 0);
    assertThat(refused.giveUp().outcomeUnknown()).isFalse();
    assertThat(refused.giveUp().getMessage()).startsWith("no leader found within 1000 ms");
  }

  @Test
  void aCallerThatOversleptItsBackoffHasNoTimeForAnotherAttempt() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    assertThat(op.hasTimeForAnAttempt(980 * MS)).isTrue();
    assertThat(op.hasTimeForAnAttempt(981 * MS)).isFalse();
  }

  /** A jitter source that always draws {@code pick.applyAsLong(bound)} from {@code [0, bound)}. */
  private static RandomGenerator jitter(LongUnaryOperator pick) {
    return new RandomGenerator() {
      @Override
      public long nextLong() {
        throw new UnsupportedOperationException("the policy draws only bounded jitter");
      }

      @Override
      public long nextLong(long bound) {
        return pick.applyAsLong(bound);
      }
    };
  }

  @Test
  void everyTimeoutAndBackoffMustBePositive() {
    assertThatIllegalArgumentException().isThrownBy(() -> new RetryPolicy(0, 1, 1, 1));
    assertThatIllegalArgumentException().isThrownBy(() -> new RetryPolicy(1, 0, 1, 1));
    assertThatIllegalArgumentException().isThrownBy(() -> new RetryPolicy(1, 1, 0, 1));
    // A maximum of 0 is below any initial backoff.
    assertThatIllegalArgumentException().isThrownBy(() -> new RetryPolicy(1, 1, 1, 0));
    assertThat(new RetryPolicy(1, 1, 1, 1).maxBackoffNanos()).isEqualTo(1);
  }

  @Test
  void theMaximumBackoffMayEqualButNotUndercutTheInitialOne() {
    // Equal: a constant backoff.
    assertThat(new RetryPolicy(1_000 * MS, 200 * MS, 10 * MS, 10 * MS).initialBackoffNanos())
        .isEqualTo(10 * MS);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> new RetryPolicy(1_000 * MS, 200 * MS, 10 * MS, 10 * MS - 1));
  }

  @Test
  void aServerAnswerWithoutAMessageIsExplainedByItsStatus() {
    KvResponse refused =
        KvResponse.newBuilder().setStatus(Status.NOT_LEADER).setLeaderAddress("c").build();
    assertThat(Answer.of("a", refused))
        .isEqualTo(new Answer("a", Status.NOT_LEADER, "not the leader", "c", true));
    // A server's own message is kept, and a success needs no explanation.
    KvResponse explained =
        KvResponse.newBuilder()
            .setStatus(Status.TIMEOUT)
            .setMessage("no outcome within 5 ms")
            .build();
    assertThat(Answer.of("a", explained).message()).isEqualTo("no outcome within 5 ms");
    assertThat(Answer.of("a", KvResponse.getDefaultInstance()))
        .isEqualTo(new Answer("a", Status.OK, "", "", true));
  }

  @Test
  void everyStatusHasItsOwnDefaultMessage() {
    List<String> messages = new ArrayList<>();
    for (Status status : Status.values()) {
      messages.add(RetryPolicy.defaultMessage(status));
    }
    assertThat(messages).doesNotContain("").doesNotHaveDuplicates();
    assertThat(RetryPolicy.defaultMessage(Status.SESSION_EXPIRED))
        .isEqualTo("the client session expired");
  }

  @Test
  void aReadAnsweredByAServerRemembersItAsTheLeader() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    assertThat(op.onAnswer(server("a", Status.NO_KEY), 0)).isEqualTo(Decision.done());
    assertThat(routing.leader()).isEqualTo("a");
  }

  @Test
  void aReadRefusedAsInvalidOrFailedOnTheServerIsAFinalAnswer() {
    for (Status status :
        List.of(Status.INVALID_ARGUMENT, Status.INTERNAL, Status.SESSION_EXPIRED)) {
      RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
      Decision d = op.onAnswer(server("a", status), 0);
      assertThat(d.kind()).isEqualTo(Decision.Kind.FAIL);
      assertThat(d.error().status()).isEqualTo(status);
      assertThat(d.error().getMessage()).isEqualTo(status.toString());
    }
  }

  @Test
  void aSessionExpiredAnswerComesFromTheLeader() {
    // Sessions expire in the state machine, through the log: only the leader answers so.
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    op.onAnswer(server("a", Status.SESSION_EXPIRED), 0);
    assertThat(routing.leader()).isEqualTo("a");
  }

  @Test
  void aWriteFollowsALeaderHintAtOnce() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    assertThat(op.onAnswer(notLeader("a", "c"), 0)).isEqualTo(Decision.retry(0));
    assertThat(op.target()).isEqualTo("c");
    assertThat(routing.leader()).isEqualTo("c");
  }

  @Test
  void aWriteWhoseAttemptFailedMovesToTheNextServerAndForgetsTheLeader() {
    routing.leaderIs("a");
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    assertThat(op.onAnswer(lost("a"), 0).kind()).isEqualTo(Decision.Kind.RETRY);
    assertThat(op.target()).isEqualTo("b");
    assertThat(routing.leader()).isNull();
  }

  @Test
  void aServerThatSaysItDoesNotLeadIsForgottenAsTheLeader() {
    routing.leaderIs("b");
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    op.onAnswer(notLeader("b", ""), 0);
    assertThat(routing.leader()).isNull();
    assertThat(op.target()).isEqualTo("c");
  }

  @Test
  void aReadOutOfTimeFailsWithItsLastAnswer() {
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    Decision d = op.onAnswer(lost("a"), 999 * MS);
    assertThat(d.kind()).isEqualTo(Decision.Kind.FAIL);
    assertThat(d.error().outcomeUnknown()).isFalse();
    assertThat(d.error().status()).isEqualTo(Status.UNAVAILABLE);
    assertThat(d.error().getMessage())
        .isEqualTo("no answer within 1000 ms; last: a: connection refused");
  }

  @Test
  void givingUpBeforeAnyAttemptSaysSo() {
    KvException e = policy.read("GET", routing, null, 0, random).giveUp();
    assertThat(e.status()).isEqualTo(Status.UNAVAILABLE);
    assertThat(e.getMessage()).isEqualTo("GET was not attempted");
  }

  @Test
  void aHintIsFollowedWhileTheDeadlineLeavesExactlyOneMinimalAttempt() {
    // 1 s deadline, minimal attempt min(200 ms, 20 ms): 980 ms is the last moment to try.
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, random);
    assertThat(op.onAnswer(notLeader("a", "c"), 980 * MS)).isEqualTo(Decision.retry(0));
    RetryPolicy.Operation late = policy.read("GET", routing, null, 0, random);
    assertThat(late.onAnswer(notLeader("a", "c"), 980 * MS + 1).kind())
        .isEqualTo(Decision.Kind.FAIL);
  }

  @Test
  void theJitteredBackoffSpansHalfToAllOfTheBackoffThenDoublesUpToTheMaximum() {
    for (boolean highest : new boolean[] {false, true}) {
      RetryPolicy.Operation op =
          policy.read("GET", routing, null, 0, jitter(bound -> highest ? bound - 1 : 0));
      List<Long> delays = new ArrayList<>();
      for (String server : List.of("a", "b", "c", "a")) {
        delays.add(op.onAnswer(lost(server), 0).delayNanos());
      }
      if (highest) {
        assertThat(delays).containsExactly(10 * MS, 20 * MS, 40 * MS, 40 * MS);
      } else {
        assertThat(delays).containsExactly(5 * MS, 10 * MS, 20 * MS, 20 * MS);
      }
    }
  }

  @Test
  void aBackoffIsTakenIfItLeavesExactlyOneMinimalAttemptBeforeTheDeadline() {
    // The shortest first backoff is 5 ms, the minimal attempt 20 ms: 975 ms is the last moment.
    RetryPolicy.Operation op = policy.read("GET", routing, null, 0, jitter(bound -> 0));
    assertThat(op.onAnswer(lost("a"), 975 * MS)).isEqualTo(Decision.retry(5 * MS));
    RetryPolicy.Operation late = policy.read("GET", routing, null, 0, jitter(bound -> 0));
    assertThat(late.onAnswer(lost("a"), 975 * MS + 1).kind()).isEqualTo(Decision.Kind.FAIL);
  }
}
