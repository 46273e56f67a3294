package io.raftkv.bench;

/** A system under test: a running cluster (started by bench or given) and a way to reach it. */
interface Target extends AutoCloseable {
  /** "raftkv" or "etcd". */
  String name();

  /** One line about the cluster: size, who started it, where. */
  String describe();

  /** Number of nodes (members), or -1 when unknown (an existing cluster). */
  int nodes();

  /** The client of simulated client number {@code index}, connected and ready. */
  Session session(int index) throws Exception;

  @Override
  void close();

  /** One simulated client's view: blocking operations; an exception is an error. */
  interface Session extends AutoCloseable {
    void get(byte[] key) throws Exception;

    void put(byte[] key, byte[] value) throws Exception;

    void append(byte[] key, byte[] value) throws Exception;

    @Override
    void close();
  }
}
