package io.raftkv.client.retry;

import io.raftkv.client.KvException;
import io.raftkv.client.OutcomeUnknownException;
import io.raftkv.proto.kvs.KvResponse;
import io.raftkv.proto.kvs.SessionHeader;
import io.raftkv.proto.kvs.Status;
import java.util.random.RandomGenerator;

/**
 * How a client routes and retries one operation, without a transport: {@link
 * io.raftkv.client.KvClient} drives it over gRPC, the simulator's clients over the simulated
 * network, so both retry the same way.
 *
 * <ul>
 *   <li>An operation starts at the server believed to lead (else the first one); a NOT_LEADER
 *       answer's leader hint is followed at once (a bounded number of times in a row); without a
 *       hint, and after a transport failure, UNAVAILABLE or TIMEOUT, the next server is tried after
 *       an exponentially growing, jittered backoff.
 *   <li>Everything happens within one overall deadline ({@link #timeoutNanos()}); each attempt
 *       within {@link #attemptTimeoutNanos()} and what is left of it.
 *   <li>A write keeps its session's (client id, sequence) on every attempt, so it applies at most
 *       once. Without a session (the first write, or after an expiry) the operation first registers
 *       one (RegisterClient through the log, dissertation §6.3; {@link Operation#registering()}),
 *       routed and retried the same way: a lost registration leaves at most an unused session. A
 *       write that may have been applied is never reported as failed: it ends with {@link
 *       OutcomeUnknownException}. On SESSION_EXPIRED a new session is registered and the write sent
 *       again under it only if no earlier attempt can have reached the log.
 * </ul>
 *
 * <p>Thread-safety: the policy is immutable; an {@link Operation} belongs to one caller at a time
 * (a write's also changes its {@link WriteSession}, which the caller guards). No clock, thread or
 * hidden randomness: time and the jitter's random source are given.
 *
 * @param timeoutNanos the overall deadline of one operation, retries included
 * @param attemptTimeoutNanos the deadline of one attempt
 * @param initialBackoffNanos the first retry's backoff; it doubles up to the maximum
 * @param maxBackoffNanos the largest backoff between retries
 */
public record RetryPolicy(
    long timeoutNanos, long attemptTimeoutNanos, long initialBackoffNanos, long maxBackoffNanos) {

  /**
   * An attempt needs at least this long: one cut off by its deadline counts as possibly applied.
   */
  static final long MIN_ATTEMPT_NANOS = 20_000_000;

  public RetryPolicy {
    if (timeoutNanos <= 0 || attemptTimeoutNanos <= 0 || initialBackoffNanos <= 0) {
      throw new IllegalArgumentException("timeouts and backoffs must be positive");
    }
    // The maximum is then positive too: it is at least the initial backoff.
    if (maxBackoffNanos < initialBackoffNanos) {
      throw new IllegalArgumentException("max backoff is below the initial backoff");
    }
  }

  /**
   * What one attempt got.
   *
   * @param server the server tried
   * @param status the server's answer, or the client's reading of a transport failure (a deadline
   *     is TIMEOUT; a lost connection or refused call UNAVAILABLE)
   * @param message a one-line explanation
   * @param leaderHint with NOT_LEADER: the leader's address when the server knows it, else ""
   * @param fromServer whether a server answered (false: a transport failure)
   * @param clientId with OK to a registration: the new session's client id, else 0
   */
  public record Answer(
      String server,
      Status status,
      String message,
      String leaderHint,
      boolean fromServer,
      long clientId) {

    /** An answer that names no client id. */
    public Answer(
        String server, Status status, String message, String leaderHint, boolean fromServer) {
      this(server, status, message, leaderHint, fromServer, 0);
    }

    /** A server's response. */
    public static Answer of(String server, KvResponse r) {
      String message = r.getMessage();
      if (message.isEmpty() && r.getStatus() != Status.OK) {
        message = defaultMessage(r.getStatus());
      }
      return new Answer(
          server, r.getStatus(), message, r.getLeaderAddress(), true, r.getClientId());
    }

    /** No response: the call failed in transport, with the client's reading of why. */
    public static Answer transportFailure(String server, Status status, String message) {
      return new Answer(server, status, message, "", false);
    }
  }

  /**
   * What to do after an attempt.
   *
   * @param kind DONE (the answer is the operation's result), RETRY (after {@code delayNanos}, at
   *     {@link Operation#target()}) or FAIL (with {@code error})
   */
  public record Decision(Kind kind, long delayNanos, KvException error) {
    /** The three ends of an attempt. */
    public enum Kind {
      DONE,
      RETRY,
      FAIL
    }

    static Decision done() {
      return new Decision(Kind.DONE, 0, null);
    }

    static Decision retry(long delayNanos) {
      return new Decision(Kind.RETRY, delayNanos, null);
    }

    static Decision fail(KvException error) {
      return new Decision(Kind.FAIL, 0, error);
    }
  }

  /**
   * A write (PUT, APPEND, DELETE) under {@code session}, which takes its next sequence now, or once
   * a session is registered if it has none.
   */
  public Operation write(
      String op,
      ServerRouting routing,
      WriteSession session,
      long nowNanos,
      RandomGenerator random) {
    return new Operation(op, routing, null, session, nowNanos, random);
  }

  /**
   * A read: through the leader when {@code fixedServer} is null (GET), else from that one server
   * only (DIRECT_GET; transport failures are retried on it until the deadline).
   */
  public Operation read(
      String op, ServerRouting routing, String fixedServer, long nowNanos, RandomGenerator random) {
    return new Operation(op, routing, fixedServer, null, nowNanos, random);
  }

  /**
   * One operation's retry state. Use from one thread at a time: KvClient's asynchronous calls hand
   * it from one callback to the next, each hand-off a happens-before edge.
   */
  public final class Operation {
    private final String op;
    private final ServerRouting routing;
    private final String fixed;
    private final WriteSession writes;
    private final long deadline;
    private final RandomGenerator random;
    private SessionHeader session;
    private String target;
    private boolean followHint;
    private int hintsInARow;

    /** The server whose hint started the chain being followed, or null. */
    private String hintGiver;

    private long backoff = initialBackoffNanos;
    private boolean maybeApplied;
    private boolean renewed;
    private Answer last;

    private Operation(
        String op,
        ServerRouting routing,
        String fixed,
        WriteSession writes,
        long now,
        RandomGenerator random) {
      this.op = op;
      this.routing = routing;
      this.fixed = fixed;
      this.writes = writes;
      this.deadline = now + timeoutNanos;
      this.random = random;
      this.target = fixed != null ? fixed : routing.firstTarget();
      this.session = writes != null && writes.registered() ? writes.next() : null;
    }

    /**
     * Whether the next attempt registers a session (a RegisterClient request) rather than sending
     * the write: a write without a session registers one first (§6.3).
     */
    public boolean registering() {
      return writes != null && session == null;
    }

    /** The server to try next. */
    public String target() {
      return target;
    }

    /**
     * A write's session header for the next attempt (the same on every retry of one write); null
     * while {@link #registering()}.
     */
    public SessionHeader session() {
      return session;
    }

    /** How long the next attempt may take, from {@code now}. */
    public long attemptBudgetNanos(long now) {
      return Math.max(1, Math.min(attemptTimeoutNanos, deadline - now));
    }

    /** Decides what follows {@code a}, given at {@code now}. */
    public Decision onAnswer(Answer a, long now) {
      last = a;
      if (registering()) {
        return afterRegister(a, now);
      }
      return writes != null ? afterWrite(a, now) : afterRead(a, now);
    }

    /**
     * Whether the deadline leaves time for another attempt at {@code now} (a caller that slept a
     * backoff checks again: it may have overslept).
     */
    public boolean hasTimeForAnAttempt(long now) {
      return deadline - now >= Math.min(attemptTimeoutNanos, MIN_ATTEMPT_NANOS);
    }

    /**
     * The error that ends the operation without another attempt (the deadline passed while the
     * caller waited, or it was closed or interrupted): as at the deadline, a write that may have
     * applied is {@link OutcomeUnknownException}, never a plain failure.
     */
    public KvException giveUp() {
      if (last == null) {
        return new KvException(Status.UNAVAILABLE, op + " was not attempted");
      }
      return writes != null && maybeApplied ? unknownAtDeadline(last) : deadlineFailure(last);
    }

    /**
     * After a registration attempt. The write itself has not been sent under a live session, so
     * nothing of it can have applied here (an expiry after an attempt that may have applied ends
     * the operation before registering): failures are definite. A registration that may have
     * applied without an answer only leaves an unused session, which expires.
     */
    private Decision afterRegister(Answer a, long now) {
      switch (a.status()) {
        case OK -> {
          if (a.clientId() == 0) {
            return Decision.fail(
                new KvException(
                    Status.INTERNAL,
                    op
                        + " not sent: "
                        + a.server()
                        + " registered a session without naming its client id"));
          }
          routing.leaderIs(a.server());
          writes.registered(a.clientId());
          session = writes.next();
          return Decision.retry(0); // the write, at once, to the leader that registered it
        }
        case INVALID_ARGUMENT, INTERNAL, SESSION_EXPIRED, NO_KEY -> {
          return Decision.fail(
              new KvException(
                  a.status(), op + " not sent: registering a session failed: " + a.message()));
        }
        case NOT_LEADER -> notLeader(a);
        default -> failed(a.server());
      }
      long delay = pause(now);
      return delay >= 0 ? Decision.retry(delay) : Decision.fail(deadlineFailure(a));
    }

    private Decision afterWrite(Answer a, long now) {
      switch (a.status()) {
        case OK, NO_KEY -> {
          routing.leaderIs(a.server());
          return Decision.done();
        }
        case INVALID_ARGUMENT -> {
          // Refused as malformed (possibly by a follower, which checks before redirecting).
          return Decision.fail(new KvException(a.status(), a.message()));
        }
        case INTERNAL -> {
          // A bug or storage failure on the server: it may have happened after the write was
          // proposed, so only "unknown" is safe to claim unless nothing can have applied.
          if (maybeApplied || a.fromServer()) {
            return Decision.fail(
                new OutcomeUnknownException(
                    Status.INTERNAL, op + " outcome unknown: " + a.message()));
          }
          return Decision.fail(new KvException(Status.INTERNAL, a.message()));
        }
        case SESSION_EXPIRED -> {
          routing.leaderIs(a.server());
          // This attempt changed nothing; an earlier one may have been applied, though.
          writes.expired();
          if (maybeApplied) {
            return Decision.fail(
                new OutcomeUnknownException(
                    Status.SESSION_EXPIRED,
                    op
                        + " outcome unknown: the session expired ("
                        + a.message()
                        + "); an earlier attempt may have been applied"));
          }
          if (renewed) {
            return Decision.fail(new KvException(Status.SESSION_EXPIRED, a.message()));
          }
          renewed = true;
          session = null;
          return Decision.retry(0); // nothing was applied: register, then send it again at once
        }
        case NOT_LEADER -> notLeader(a);
        default -> {
          // UNAVAILABLE, TIMEOUT or a transport failure: the write may have been applied.
          maybeApplied = true;
          failed(a.server());
        }
      }
      long delay = pause(now);
      if (delay >= 0) {
        return Decision.retry(delay);
      }
      return Decision.fail(maybeApplied ? unknownAtDeadline(a) : deadlineFailure(a));
    }

    private Decision afterRead(Answer a, long now) {
      switch (a.status()) {
        case OK, NO_KEY -> {
          if (fixed == null) {
            routing.leaderIs(a.server());
          }
          return Decision.done();
        }
        case INVALID_ARGUMENT, INTERNAL, SESSION_EXPIRED -> {
          return Decision.fail(new KvException(a.status(), a.message()));
        }
        case NOT_LEADER -> notLeader(a);
        default -> failed(a.server());
      }
      long delay = pause(now);
      return delay >= 0 ? Decision.retry(delay) : Decision.fail(deadlineFailure(a));
    }

    private void notLeader(Answer a) {
      String hint = a.leaderHint();
      routing.notLeader(a.server());
      if (fixed == null
          && !hint.isEmpty()
          && !hint.equals(a.server())
          && hintsInARow < routing.size()) {
        routing.learnLeader(hint);
        if (hintGiver == null) {
          hintGiver = a.server();
        }
        target = hint;
        followHint = true;
        hintsInARow++;
      } else {
        target = fixed != null ? fixed : nextInTurn(a.server());
        followHint = false;
      }
    }

    private void failed(String server) {
      routing.notLeader(server);
      target = fixed != null ? fixed : nextInTurn(server);
      followHint = false;
    }

    /**
     * The next server in the round robin: after the one that sent us along a chain of hints, if the
     * chain led nowhere. A stale server (one removed from the cluster, or cut off, that still names
     * an old leader) must not send the client back to the same dead end every round.
     */
    private String nextInTurn(String current) {
      String from = hintGiver != null ? hintGiver : current;
      hintGiver = null;
      String next = routing.next(from);
      return next.equals(current) ? routing.next(next) : next;
    }

    /**
     * The wait before the next attempt, or -1 if the deadline leaves no time for one: none after a
     * hint, else the jittered backoff (which then doubles).
     */
    private long pause(long now) {
      long minAttempt = Math.min(attemptTimeoutNanos, MIN_ATTEMPT_NANOS);
      if (followHint) {
        followHint = false;
        return deadline - now >= minAttempt ? 0 : -1;
      }
      hintsInARow = 0;
      long sleep = backoff / 2 + random.nextLong(backoff / 2 + 1);
      backoff = Math.min(maxBackoffNanos, backoff * 2);
      return deadline - now < sleep + minAttempt ? -1 : sleep;
    }

    private OutcomeUnknownException unknownAtDeadline(Answer a) {
      return new OutcomeUnknownException(
          a.status(),
          op
              + " outcome unknown: no answer within "
              + timeoutNanos / 1_000_000
              + " ms; last: "
              + a.message());
    }

    private KvException deadlineFailure(Answer last) {
      String within = "within " + timeoutNanos / 1_000_000 + " ms";
      if (last.status() == Status.NOT_LEADER) {
        return new KvException(
            Status.UNAVAILABLE,
            "no leader found " + within + "; last: " + last.message(),
            last.leaderHint());
      }
      return new KvException(last.status(), "no answer " + within + "; last: " + last.message());
    }
  }

  /** What a status means, for an answer that carries no message. */
  public static String defaultMessage(Status status) {
    return switch (status) {
      case OK -> "ok";
      case NOT_LEADER -> "not the leader";
      case NO_KEY -> "no such key";
      case INVALID_ARGUMENT -> "invalid argument";
      case UNAVAILABLE -> "the cluster is unavailable";
      case TIMEOUT -> "timed out";
      case INTERNAL -> "internal server error";
      case SESSION_EXPIRED -> "the client session expired";
      default -> "unrecognized status " + status;
    };
  }
}
