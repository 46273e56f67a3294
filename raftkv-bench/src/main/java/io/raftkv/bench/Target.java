package io.raftkv.bench;

import java.util.List;

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

  /** One simulated client's view: blocking operations; an exception is an error. */
  interface Session extends AutoCloseable {
    /** A linearizable read: the value, or empty when the key does not exist. */
    java.util.Optional<byte[]> read(byte[] key) throws Exception;

    /** The workload's GET: a linearizable read whose value nobody looks at. */
    default void get(byte[] key) throws Exception {
      read(key);
    }

    void put(byte[] key, byte[] value) throws Exception;

    void append(byte[] key, byte[] value) throws Exception;

    @Override
    void close();
  }
}
