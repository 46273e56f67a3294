package io.raftkv.nemesis;

import io.grpc.ManagedChannel;
import io.raftkv.client.KvClient;
import io.raftkv.client.KvException;
import io.raftkv.client.OutcomeUnknownException;
import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.proto.kvs.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The clients: {@code clients} threads, each with its own {@link KvClient} over every node, running
 * a random mix over a small key space (~50% appends of unique tokens, ~10% puts, ~40% linearizable
 * gets) and recording every operation's call and return on one monotonic clock.
 *
 * <p>The key space moves on every {@code generation}: keys are {@code g<generation>k<i>}, so values
 * (and the reads that return them) stay short however long the run. Keys with an even {@code i}
 * take puts, keys with an odd one only appends, so most acknowledged appends must survive to the
 * end.
 */
final class Workload {
  /** The prefix of the keys the nemesis writes; the settle probe uses another key. */
  static final String KEY_PREFIX = "g";

  /** The members' KV addresses now: they change as the nemesis replaces, adds and removes nodes. */
  private final Supplier<List<String>> endpoints;

  /** How a client reaches a node (plaintext or TLS). */
  private final Function<String, ManagedChannel> channels;

  private final int clients;
  private final long seed;
  private final LongSupplier clock;
  private final int keysPerGeneration;
  private final long generationNanos;
  private final long thinkMillis;
  private final Duration timeout;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Op> ops = new ArrayList<>();
  private long[] okWrites = new long[1024];
  private int okWriteCount;
  private final List<Thread> threads = new ArrayList<>();
  private long start;

  Workload(
      Supplier<List<String>> endpoints,
      Function<String, ManagedChannel> channels,
      int clients,
      long seed,
      LongSupplier clock,
      int keysPerGeneration,
      Duration generation,
      long thinkMillis,
      Duration timeout) {
    this.endpoints = endpoints;
    this.channels = channels;
    this.clients = clients;
    this.seed = seed;
    this.clock = clock;
    this.keysPerGeneration = keysPerGeneration;
    this.generationNanos = generation.toNanos();
    this.thinkMillis = thinkMillis;
    this.timeout = timeout;
  }

  void start() {
    start = clock.getAsLong();
    for (int c = 0; c < clients; c++) {
      int id = c;
      Thread t = new Thread(() -> run(id), "nemesis-client-" + c);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Stops the clients and waits for their last operations to end. */
  void stop() {
    stop.set(true);
    for (Thread t : threads) {
      try {
        t.join(timeout.toMillis() + 10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * A client for the members' endpoints as they are now (a client made later, after nodes were
   * replaced, must not know only dead ones), starting at node {@code first}.
   */
  KvClient newClient(int first) {
    return newClient(first, endpoints.get());
  }

  private KvClient newClient(int first, List<String> now) {
    List<String> order = new ArrayList<>();
    for (int i = 0; i < now.size(); i++) {
      order.add(now.get((first + i) % now.size()));
    }
    return KvClient.builder(order)
        .channelFactory(channels)
        .timeout(timeout)
        .attemptTimeout(Duration.ofMillis(Math.min(1500, timeout.toMillis())))
        .maxBackoff(Duration.ofMillis(200))
        .build();
  }

  private void run(int id) {
    Random random = new Random(seed * 1_000_003L + id);
    long seq = 0;
    List<String> known = endpoints.get();
    KvClient client = newClient(id, known);
    try {
      while (!stop.get()) {
        List<String> now = endpoints.get();
        if (!now.equals(known)) {
          // The members changed: a new client that knows them all (the old one learns a new
          // leader only from a hint, and keeps trying removed nodes). Between two operations,
          // so no write is outstanding; the next write registers a new session.
          client.close();
          known = now;
          client = newClient(id, now);
        }
        long gen = (clock.getAsLong() - start) / generationNanos;
        int k = random.nextInt(keysPerGeneration);
        int dice = random.nextInt(100);
        KvInput input;
        if (dice < 40) {
          input = KvInput.get(key(gen, k));
        } else {
          String token = "[" + id + "." + (++seq) + "]";
          if (dice < 50) {
            // Puts go to the even keys only.
            input = KvInput.put(key(gen, k & ~1), token);
          } else {
            input = KvInput.append(key(gen, k), token);
          }
        }
        record(execute(client, id, input));
        if (thinkMillis > 0) {
          try {
            Thread.sleep(random.nextInt((int) thinkMillis + 1));
          } catch (InterruptedException e) {
            return;
          }
        }
      }
    } finally {
      client.close();
    }
  }

  static String key(long generation, int i) {
    return KEY_PREFIX + generation + "k" + i;
  }

  /** Runs one operation and says what became of it. */
  Op execute(KvClient client, int id, KvInput input) {
    byte[] key = input.key().getBytes(StandardCharsets.UTF_8);
    long call = clock.getAsLong();
    try {
      KvOutput out;
      if (input instanceof KvInput.Get) {
        Optional<byte[]> v = client.get(key);
        out =
            v.map(b -> KvOutput.value(new String(b, StandardCharsets.UTF_8)))
                .orElse(KvOutput.noKey());
      } else if (input instanceof KvInput.Put p) {
        client.put(key, p.value().getBytes(StandardCharsets.UTF_8));
        out = KvOutput.ok();
      } else if (input instanceof KvInput.Append a) {
        client.append(key, a.value().getBytes(StandardCharsets.UTF_8));
        out = KvOutput.ok();
      } else {
        throw new IllegalArgumentException("unsupported " + input);
      }
      return new Op(id, input, call, clock.getAsLong(), out, Op.Outcome.OK, null);
    } catch (OutcomeUnknownException e) {
      return new Op(id, input, call, -1, null, Op.Outcome.UNKNOWN, e.getMessage());
    } catch (KvException e) {
      long ret = clock.getAsLong();
      if (input instanceof KvInput.Get || definitelyNotApplied(e)) {
        // A failed read changed nothing; a write the client guarantees was never applied.
        return new Op(
            id, input, call, ret, null, Op.Outcome.FAILED, e.status() + ": " + e.getMessage());
      }
      return new Op(
          id, input, call, -1, null, Op.Outcome.UNKNOWN, e.status() + ": " + e.getMessage());
    } catch (RuntimeException e) {
      // Anything unexpected (a closed channel, ...): a write may have been sent, so unknown.
      if (input instanceof KvInput.Get) {
        return new Op(id, input, call, clock.getAsLong(), null, Op.Outcome.FAILED, e.toString());
      }
      return new Op(id, input, call, -1, null, Op.Outcome.UNKNOWN, e.toString());
    }
  }

  /**
   * Whether a plain (not outcome-unknown) KvException of a write is one the client guarantees
   * changed nothing: refused as malformed, the session expired before anything could be applied, or
   * no server would take it (every attempt answered NOT_LEADER). Anything else (e.g. an INTERNAL
   * failure) is recorded as unknown: a false "did not happen" would make a correct run fail.
   */
  static boolean definitelyNotApplied(KvException e) {
    if (e.outcomeUnknown()) {
      return false;
    }
    Status s = e.status();
    if (s == Status.INVALID_ARGUMENT || s == Status.SESSION_EXPIRED) {
      return true;
    }
    return s == Status.UNAVAILABLE
        && e.getMessage() != null
        && e.getMessage().startsWith("no leader found");
  }

  void record(Op op) {
    synchronized (ops) {
      ops.add(op);
      if (op.outcome() == Op.Outcome.OK && op.isWrite()) {
        if (okWriteCount == okWrites.length) {
          okWrites = Arrays.copyOf(okWrites, okWriteCount * 2);
        }
        okWrites[okWriteCount++] = op.ret();
      }
    }
  }

  int opCount() {
    synchronized (ops) {
      return ops.size();
    }
  }

  List<Op> ops() {
    synchronized (ops) {
      return List.copyOf(ops);
    }
  }

  /**
   * The longest time in [from, to] without an acknowledged write: the gaps between the
   * acknowledgements in the window, and from its edges to the first and last of them.
   */
  long longestWriteGap(long from, long to) {
    long[] times;
    synchronized (ops) {
      times = Arrays.copyOf(okWrites, okWriteCount);
    }
    Arrays.sort(times);
    long prev = from;
    long longest = 0;
    for (long t : times) {
      if (t <= from) {
        continue;
      }
      if (t > to) {
        break;
      }
      longest = Math.max(longest, t - prev);
      prev = t;
    }
    return Math.max(longest, to - prev);
  }
}
