package io.raftkv.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A system under test: a running cluster (started by bench or given) and a way to reach it. */
interface Target extends AutoCloseable {
  /** "raftkv" or "etcd". */
  String name();

  /** One line about the cluster: size, who started it, where. */
  String describe();

  /** Number of nodes (members), or -1 when unknown (an existing cluster). */
  int nodes();

  /**
   * The process ids of the servers bench started, one per node in node order, so that their memory
   * can be sampled; empty for an existing cluster (bench cannot see its processes).
   */
  default List<Long> serverPids() {
    return List.of();
  }

  /** The client of simulated client number {@code index}, connected and ready. */
  Session session(int index) throws Exception;

  @Override
  void close();

  /**
   * One simulated client's view: blocking operations (an exception is an error) and, for the load's
   * {@link Runner}, the same without waiting.
   */
  interface Session extends AutoCloseable {
    /** A linearizable read: the value, or empty when the key does not exist. */
    java.util.Optional<byte[]> read(byte[] key) throws Exception;

    /** The workload's GET: a linearizable read whose value nobody looks at. */
    default void get(byte[] key) throws Exception {
      read(key);
    }

    void put(byte[] key, byte[] value) throws Exception;

    void append(byte[] key, byte[] value) throws Exception;

    /**
     * The workload's GET without waiting: the future completes (exceptionally on an error) when the
     * read does. The asynchronous calls never block the caller, nor the thread that completes their
     * future; the session has at most one of them in flight at a time. Sessions used only outside
     * the Runner need not have them.
     */
    default CompletableFuture<?> getAsync(byte[] key) {
      throw new UnsupportedOperationException(getClass().getName() + " is blocking only");
    }

    /** A PUT without waiting; as {@link #getAsync}. */
    default CompletableFuture<?> putAsync(byte[] key, byte[] value) {
      throw new UnsupportedOperationException(getClass().getName() + " is blocking only");
    }

    /** An APPEND without waiting; as {@link #getAsync}. */
    default CompletableFuture<?> appendAsync(byte[] key, byte[] value) {
      throw new UnsupportedOperationException(getClass().getName() + " is blocking only");
    }

    @Override
    void close();
  }
}
