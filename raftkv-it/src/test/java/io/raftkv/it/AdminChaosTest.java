package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Admin service on real processes: {@code clt status} shows the cluster, {@code clt chaos}
 * partitions the leader away (its messages dropped, so peers time out and elect another), and a
 * reset heals the cluster.
 */
class AdminChaosTest {

  /** One row of {@code clt status}'s table. */
  record Row(
      String endpoint, int id, String role, long term, int leader, long commit, long applied) {}

  private static List<Row> status(LocalCluster c) {
    LocalCluster.Result r = LocalCluster.run(List.of("status", "-s", c.kvsList()));
    assertThat(r.exit()).as("clt status: %s\n%s", r, c.logs()).isZero();
    List<Row> rows = new ArrayList<>();
    for (String line : r.out().lines().toList()) {
      if (!line.startsWith("| ") || line.contains("ENDPOINT")) {
        continue;
      }
      String[] f = line.substring(1).split("\\|");
      for (int i = 0; i < f.length; i++) {
        f[i] = f[i].strip();
      }
      rows.add(
          new Row(
              f[0],
              Integer.parseInt(f[1]),
              f[2],
              Long.parseLong(f[3]),
              f[4].equals("-") ? -1 : Integer.parseInt(f[4]),
              Long.parseLong(f[5]),
              Long.parseLong(f[6])));
    }
    assertThat(rows).as(r.out()).hasSize(c.size);
    return rows;
  }

  /** One leader that every node names, all in one term; the leader's id, else -1. */
  private static int agreedLeader(List<Row> rows) {
    List<Row> leaders = rows.stream().filter(r -> r.role().equals("leader")).toList();
    if (leaders.size() != 1) {
      return -1;
    }
    int id = leaders.get(0).id();
    boolean agree =
        rows.stream().allMatch(r -> r.leader() == id && r.term() == leaders.get(0).term());
    return agree ? id : -1;
  }

  private static LocalCluster.Result chaos(LocalCluster c, int node, String... args) {
    List<String> cmd = new ArrayList<>(List.of("chaos", "-p", Integer.toString(c.kvsPorts[node])));
    cmd.addAll(List.of(args));
    LocalCluster.Result r = LocalCluster.run(cmd);
    assertThat(r.exit()).as("clt chaos: %s", r).isZero();
    return r;
  }

  @Test
  void cutTheLeaderOffThenHeal(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir, "--enable-chaos")) {
      c.startAll(0);
      int[] leader = {-1};
      AtomicReference<List<Row>> last = new AtomicReference<>();
      LocalCluster.await(
          "one leader that all nodes agree on",
          Duration.ofSeconds(30),
          () -> {
            last.set(status(c));
            leader[0] = agreedLeader(last.get());
            return leader[0] >= 0;
          });
      int old = leader[0];
      long oldTerm = last.get().get(0).term();
      List<Integer> others = new ArrayList<>();
      for (int i = 0; i < c.size; i++) {
        if (i != old) {
          others.add(i);
        }
      }

      // Cut the leader off from both peers, on all three nodes.
      String peers = others.stream().map(String::valueOf).collect(Collectors.joining(","));
      assertThat(chaos(c, old, "--peer", peers, "--cut").out()).contains("cut");
      for (int o : others) {
        chaos(c, o, "--peer", Integer.toString(old), "--cut");
      }

      int[] next = {-1};
      LocalCluster.await(
          "a new leader among nodes " + others,
          Duration.ofSeconds(20),
          () -> {
            List<Row> rows = status(c);
            List<Row> rest = rows.stream().filter(r -> r.id() != old).toList();
            List<Row> leaders = rest.stream().filter(r -> r.role().equals("leader")).toList();
            if (leaders.size() != 1) {
              return false;
            }
            Row l = leaders.get(0);
            next[0] = l.id();
            return l.term() > oldTerm
                && rest.stream().allMatch(r -> r.leader() == l.id() && r.term() == l.term());
          });
      assertThat(next[0]).isNotEqualTo(old).isIn(others);

      // Every change is logged with who made it.
      assertThat(c.log(old))
          .containsPattern("chaos faults now .* \\(set by /127\\.0\\.0\\.1:\\d+\\)");

      // Heal, write, and see everyone converge.
      LocalCluster.Result reset = LocalCluster.run(List.of("chaos", "-s", c.kvsList(), "--reset"));
      assertThat(reset.exit()).as(reset.toString()).isZero();
      assertThat(reset.out().lines()).allMatch(l -> l.endsWith("no faults"));
      LocalCluster.Result put = c.cltAny("-o", "PUT", "-k", "healed", "-v", "yes");
      assertThat(put.exit()).as(put + "\n" + c.logs()).isZero();
      LocalCluster.await(
          "all nodes to agree on the leader and commit and apply the same index",
          Duration.ofSeconds(20),
          () -> {
            List<Row> rows = status(c);
            long commit = rows.get(0).commit();
            return agreedLeader(rows) >= 0
                && commit > 0
                && rows.stream().allMatch(r -> r.commit() == commit && r.applied() == commit);
          });
      for (int i = 0; i < c.size; i++) {
        assertThat(c.clt(i, "-o", "DIRECT_GET", "-k", "healed").out().strip()).isEqualTo("yes");
      }
    }
  }

  @Test
  void aNodeWithoutEnableChaosRefusesChaosAndKeepsItsFaults(@TempDir Path dir) throws Exception {
    try (LocalCluster c = new LocalCluster(3, dir)) {
      c.startAll(0);
      int leader = c.findLeader();
      String peers = leader == 0 ? "1,2" : "0";
      LocalCluster.Result r =
          LocalCluster.run(
              List.of(
                  "chaos", "-p", Integer.toString(c.kvsPorts[leader]), "--peer", peers, "--cut"));
      assertThat(r.exit()).as(r.toString()).isEqualTo(4);
      assertThat(r.err().lines()).as(r.toString()).hasSize(1);
      assertThat(r.err()).contains("start svr with --enable-chaos");

      // Nothing changed: no fault in force, and the leader still leads and writes.
      LocalCluster.Result json =
          LocalCluster.run(List.of("status", "-p", Integer.toString(c.kvsPorts[leader]), "--json"));
      assertThat(json.exit()).as(json.toString()).isZero();
      assertThat(json.out()).contains("\"cut\":false").doesNotContain("\"cut\":true");
      assertThat(c.clt(leader, "-o", "PUT", "-k", "k", "-v", "v").exit()).isZero();
      assertThat(c.findLeader()).isEqualTo(leader);
      assertThat(c.log(leader)).contains("refused a Chaos call from /127.0.0.1:");
    }
  }
}
