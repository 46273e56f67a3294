package io.raftkv.bench;

import io.raftkv.testkit.ServerProcesses;
import java.util.List;
import java.util.function.Supplier;

/**
 * The process of a member bench started to replace another, and the client that reads from its own
 * store (opened on first use); both end with it.
 */
final class NewMember<C extends AutoCloseable> implements AutoCloseable {
  private final Supplier<C> open;
  private Process process;
  private C client;

  NewMember(Supplier<C> open) {
    this.open = open;
  }

  synchronized void started(Process p) {
    process = p;
  }

  private synchronized C client() {
    if (client == null) {
      client = open.get();
    }
    return client;
  }

  /**
   * Reads through the client with {@code read}; after a failure the client is dropped, so that the
   * next read connects afresh instead of waiting out gRPC's reconnect backoff (a new member refuses
   * connections or requests while it starts, and the time it starts serving is what is measured).
   */
  <T> T read(ReadCall<C, T> read) throws Exception {
    try {
      return read.call(client());
    } catch (Exception e) {
      dropClient();
      throw e;
    }
  }

  /** A read through the new member's client. */
  interface ReadCall<C, T> {
    T call(C client) throws Exception;
  }

  private synchronized void dropClient() {
    if (client != null) {
      try {
        client.close();
      } catch (Exception e) {
        // a client of a node that failed to answer: nothing to do about it
      }
      client = null;
    }
  }

  @Override
  public synchronized void close() {
    dropClient();
    if (process != null) {
      ServerProcesses.stopAll(List.of(process));
    }
  }
}
