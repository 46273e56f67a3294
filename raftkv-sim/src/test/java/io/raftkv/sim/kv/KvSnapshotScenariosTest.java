package io.raftkv.sim.kv;

import static io.raftkv.sim.kv.KvScenariosTest.checkLogSize;
import static io.raftkv.sim.kv.KvScenariosTest.genericTest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftkv.linearizability.KvInput;
import io.raftkv.linearizability.KvOutput;
import io.raftkv.node.Compaction;
import org.junit.jupiter.api.Test;

/**
 * The course's kvraft snapshot scenarios (3B) on the simulator: the servers snapshot their state
 * machine (data and client sessions) and compact their logs (§7), a server that fell behind the
 * compacted log catches up by InstallSnapshot, and the persisted log stays within the labs' bound
 * of 8 times maxraftstate. The shared loop is {@link KvScenariosTest}'s, with that bound checked
 * after every iteration.
 */
class KvSnapshotScenariosTest {

  /** The labs' maxraftstate for every 3B scenario, in bytes. */
  static final long MAX_RAFT_STATE = 1_000;

  /** The labs' bound on one key's snapshot (SnapshotSize), in bytes. */
  static final long MAX_SNAPSHOT_STATE = 500;

  /**
   * A command of these scenarios in the log: its session header, key and value, 30 to 45 bytes
   * serialized (an Append of "x 12 345 y" to key "12" is about 40).
   */
  static final long COMMAND_ENTRY_BYTES = 40;

  /**
   * The labs' servers snapshot once their persisted Raft state reaches maxraftstate bytes, and Raft
   * then trims its log through the snapshot. Our policy counts entries, so: a snapshot every {@code
   * maxRaftState / COMMAND_ENTRY_BYTES} applied entries (25 for 1,000 bytes), none kept before it.
   * The log then holds about maxraftstate bytes plus what is not yet applied, as theirs.
   */
  static Compaction compaction(long maxRaftState) {
    return new Compaction(Math.max(1, maxRaftState / COMMAND_ENTRY_BYTES), 0);
  }

  private static void check(SimKvCluster h, SimKvClient ck, String key, String value) {
    assertThat(h.call(ck, KvInput.get(key)))
        .as("Get(%s)%s", key, h.replay())
        .isEqualTo(KvOutput.value(value));
  }

  private static void put(SimKvCluster h, SimKvClient ck, String key, String value) {
    h.call(ck, KvInput.put(key, value));
  }

  /**
   * SnapshotRPC (3): 50 Puts in a majority while server 2 is cut off; the log is trimmed; then a
   * majority that needs server 2, which catches up through InstallSnapshot; then everyone.
   */
  @Test
  void snapshotRpc() {
    snapshotRpc(3201);
  }

  static void snapshotRpc(long seed) {
    try (SimKvCluster h = SimKvCluster.course(3, false, seed, compaction(MAX_RAFT_STATE))) {
      SimKvClient ck = h.makeClient();
      put(h, ck, "a", "A");
      check(h, ck, "a", "A");

      // A bunch of puts into the majority partition.
      h.partition(new int[] {0, 1}, new int[] {2});
      SimKvClient ck1 = h.makeClient();
      ck1.connectTo(0, 1);
      for (int i = 0; i < 50; i++) {
        put(h, ck1, Integer.toString(i), Integer.toString(i));
      }
      h.sleep(SimKvCluster.ELECTION_TIMEOUT_MS);
      put(h, ck1, "b", "B");

      // The majority has thrown away most of its log entries.
      checkLogSize(h, MAX_RAFT_STATE);

      // A group that needs the lagging server, so that it has to catch up.
      h.partition(new int[] {0, 2}, new int[] {1});
      SimKvClient ck2 = h.makeClient();
      ck2.connectTo(0, 2);
      put(h, ck2, "c", "C");
      put(h, ck2, "d", "D");
      check(h, ck2, "a", "A");
      check(h, ck2, "b", "B");
      check(h, ck2, "1", "1");
      check(h, ck2, "49", "49");
      // Server 2 missed 50 Puts, twice the entries between two snapshots: its leader no longer
      // had them.
      assertThat(h.cluster().snapshotsInstalled())
          .as("server 2 caught up by InstallSnapshot" + h.replay())
          .isPositive();

      // Now everybody.
      h.connectAll();
      put(h, ck, "e", "E");
      check(h, ck, "c", "C");
      check(h, ck, "e", "E");
      check(h, ck, "1", "1");
      KvScenariosTest.assertLinearizable(h);
    }
  }

  /**
   * SnapshotSize (3): 200 rounds of Put x=0, Get x, Put x=1, Get x; the persisted log stays within
   * the bound and the snapshot (one key and one client's session) under 500 bytes.
   */
  @Test
  void snapshotSize() {
    snapshotSize(3202, compaction(MAX_RAFT_STATE));
  }

  static void snapshotSize(long seed, Compaction compaction) {
    try (SimKvCluster h = SimKvCluster.course(3, false, seed, compaction)) {
      SimKvClient ck = h.makeClient();
      for (int i = 0; i < 200; i++) {
        put(h, ck, "x", "0");
        check(h, ck, "x", "0");
        put(h, ck, "x", "1");
        check(h, ck, "x", "1");
      }

      // The servers have thrown away most of their log entries.
      checkLogSize(h, MAX_RAFT_STATE);

      // The snapshots are not unreasonably large (nor missing, which would make this vacuous).
      long ssz = h.snapshotSize();
      assertThat(ssz).as("snapshot size" + h.replay()).isPositive();
      assertThat(ssz)
          .as("snapshot too large (%d > %d)%s", ssz, MAX_SNAPSHOT_STATE, h.replay())
          .isLessThanOrEqualTo(MAX_SNAPSHOT_STATE);
    }
  }

  /** SpeedB (3): Speed with snapshots on: three appends or more per heartbeat interval. */
  @Test
  void speedB() {
    KvScenariosTest.speed(3203, compaction(MAX_RAFT_STATE));
  }

  /** SnapshotRecover (5): one client, all servers crash and restart after every iteration. */
  @Test
  void snapshotRecover() {
    genericTest(3204, 1, 5, false, true, false, MAX_RAFT_STATE, false);
  }

  /** SnapshotRecoverManyClients (5): 20 clients, crashes. */
  @Test
  void snapshotRecoverManyClients() {
    genericTest(3205, 20, 5, false, true, false, MAX_RAFT_STATE, false);
  }

  /** SnapshotUnreliable (5): 5 clients on the unreliable network. */
  @Test
  void snapshotUnreliable() {
    genericTest(3206, 5, 5, true, false, false, MAX_RAFT_STATE, false);
  }

  /** SnapshotUnreliableRecover (5): 5 clients, unreliable network, crashes. */
  @Test
  void snapshotUnreliableRecover() {
    genericTest(3207, 5, 5, true, true, false, MAX_RAFT_STATE, false);
  }

  /** SnapshotUnreliableRecoverConcurrentPartition (5): unreliable, crashes, partitions. */
  @Test
  void snapshotUnreliableRecoverConcurrentPartition() {
    genericTest(3208, 5, 5, true, true, true, MAX_RAFT_STATE, false);
  }

  /**
   * SnapshotUnreliableRecoverConcurrentPartitionLinearizable (7): 15 clients on random keys,
   * unreliable, crashes, partitions; the whole history checked linearizable.
   */
  @Test
  void snapshotUnreliableRecoverConcurrentPartitionLinearizable() {
    genericTest(3209, 15, 7, true, true, true, MAX_RAFT_STATE, true);
  }

  // ---------------------------------------------------------------- the harness can fail

  /** Without compaction the persisted log passes the labs' bound: the size check can fail. */
  @Test
  void aServerThatNeverCompactsFailsTheLogSizeBound() {
    assertThatThrownBy(() -> snapshotSize(3202, Compaction.OFF))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("logs were not trimmed");
  }
}
