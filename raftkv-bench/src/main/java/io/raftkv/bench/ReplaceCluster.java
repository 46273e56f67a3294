package io.raftkv.bench;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * A cluster bench started, and what an operator does to replace a member whose machine died: the
 * commands of the system's own procedure (raftkv: start the new node, {@code clt member replace};
 * etcd 3.4: {@code etcdctl member remove/add --learner}, start the new member, {@code etcdctl
 * member promote}), run as processes, as the operator would type them.
 */
interface ReplaceCluster extends AutoCloseable {
  /** The nodes the cluster started with (reads, logs, the light load's sessions). */
  CatchupCluster cluster();

  /** The new member's node number in {@link CatchupCluster#scanLog} and its log's name. */
  int newNode();

  /**
   * Before the fault: looks up what the operator has at hand when a machine dies (the cluster id,
   * the members' ids and addresses) and picks the new member's ports; returns a line saying what.
   */
  String prepare(int dead) throws Exception;

  /**
   * Replaces dead node {@code dead} (given to {@link #prepare}) with a new member; returns once the
   * new member votes and the dead one is out of the configuration; throws when a step fails or
   * {@code deadlineMillis} (wall clock) passes.
   */
  Replacement replace(long deadlineMillis, Consumer<String> say) throws Exception;

  /** A read from the new member's own store (raftkv DIRECT_GET, etcd serializable GET). */
  Optional<byte[]> readNew(byte[] key) throws Exception;

  /** Stops the new member, then the cluster. */
  @Override
  void close();
}
