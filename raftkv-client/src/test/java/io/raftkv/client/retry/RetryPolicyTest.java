package io.raftkv.client.retry;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.OutcomeUnknownException;
import io.raftkv.client.retry.RetryPolicy.Answer;
import io.raftkv.client.retry.RetryPolicy.Decision;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
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
  private final AtomicLong ids = new AtomicLong(100);
  private final WriteSession session = new WriteSession(ids::incrementAndGet);
  private final SplittableRandom random = new SplittableRandom(1);

  private static Answer server(String server, Status status) {
    return new Answer(server, status, status.toString(), "", true);
  }

  private static Answer notLeader(String server, String hint) {
    return new Answer(server, Status.NOT_LEADER, "not the leader", hint, true);
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
    assertThat(last.error().getMessage()).startsWith("APPEND outcome unknown: no answer within");
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
  void aSessionExpiredBeforeAnyAttemptCouldApplyIsRetriedAtOnceUnderANewSession() {
    RetryPolicy.Operation op = policy.write("PUT", routing, session, 0, random);
    long oldId = op.session().getClientId();
    Decision d = op.onAnswer(server("a", Status.SESSION_EXPIRED), 0);
    assertThat(d).isEqualTo(new Decision(Decision.Kind.RETRY, 0, null));
    assertThat(op.session().getClientId()).isNotEqualTo(oldId);
    assertThat(op.session().getSequence()).isEqualTo(1);
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
    assertThat(session.lastSequence()).as("a new session starts for the next write").isZero();
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
}
