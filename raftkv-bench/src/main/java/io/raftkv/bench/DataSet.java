package io.raftkv.bench;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The data set a trial loads first: {@code keys} keys of 16 bytes, each with a seeded value of
 * {@code valueSize} bytes, written as fast as {@code loadClients} clients can; the value of the
 * marker key a trial writes last; a seeded sample of the keys to read back.
 */
final class DataSet {
  private final TrialParams p;

  DataSet(TrialParams p) {
    this.p = p;
  }

  /** Key number i: "cl" then i zero-padded to 16 bytes. */
  static byte[] key(int i) {
    return String.format("cl%014d", i).getBytes(StandardCharsets.US_ASCII);
  }

  byte[] value(int i) {
    return ValueCheck.value(i, p.valueSize(), p.seed());
  }

  /**
   * The value of the key a trial writes last: a node whose own store returns it holds every write
   * before it.
   */
  byte[] markerValue() {
    return ("done-" + p.seed()).getBytes(StandardCharsets.US_ASCII);
  }

  /** The load's outcome, and the node that was leader after it. */
  record Loaded(BulkWriter.Result writes, int leader) {}

  Loaded load(CatchupCluster cluster, String system, PrintStream progress) throws Exception {
    if (progress != null) {
      progress.printf(
          "[%s] loading %,d keys of %d B with %d clients%n",
          system, p.keys(), p.valueSize(), p.loadClients());
    }
    BulkWriter.Result writes =
        BulkWriter.write(
            cluster.target(),
            p.loadClients(),
            p.keys(),
            DataSet::key,
            this::value,
            "load",
            progress);
    int leader = cluster.leader();
    if (leader < 0) {
      throw new IllegalStateException(system + ": no leader after the load");
    }
    return new Loaded(writes, leader);
  }

  /** The first and the last key, and {@code verifyKeys} drawn with the seed. */
  List<ReadBack.Expected> sample() {
    SplittableRandom rnd = new SplittableRandom(p.seed());
    List<Integer> keys = new ArrayList<>(List.of(0, p.keys() - 1));
    for (int i = 0; i < p.verifyKeys(); i++) {
      keys.add(rnd.nextInt(p.keys()));
    }
    return keys.stream().map(k -> new ReadBack.Expected(key(k), value(k))).toList();
  }
}
