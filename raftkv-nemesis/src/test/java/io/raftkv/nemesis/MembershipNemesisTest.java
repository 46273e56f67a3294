package io.raftkv.nemesis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The membership faults on real svr nodes under the clients' load: a node replaced by a new member,
 * the cluster grown from 5 to 6 or 7 by new members, then shrunk back to 5 by removing members (the
 * leader one time in three); the checks hold and the leader's configuration ends as the nemesis
 * made it. About 30 s.
 */
class MembershipNemesisTest {
  private static final Pattern REPLACED =
      Pattern.compile("node (\\d+) replaced by new member (\\d+)");
  private static final Pattern ADDED = Pattern.compile("new member (\\d+) added as a voter");
  private static final Pattern REMOVED = Pattern.compile("member (\\d+) removed, then stopped");

  @Test
  @Timeout(240)
  void replaceGrowAndShrinkKeepTheChecksAndEndWithTheMembersTheyMade() throws Exception {
    ShortRuns.Run run =
        ShortRuns.run(
            ShortRuns.config(
                20261201L, 3, Set.of(FaultType.REPLACE_NODE, FaultType.GROW, FaultType.SHRINK)));
    NemesisRunner.Result r = run.result();
    String log = run.log();

    assertThat(r.violations()).as("violations (history in %s)\n%s", r.historyFile(), log).isEmpty();
    assertThat(r.disturbances()).as("nodes killed from outside the test").isEmpty();
    assertThat(r.linearizability().isOk()).as("linearizability: %s", r.linearizability()).isTrue();
    assertThat(r.faults())
        .extracting(NemesisRunner.FaultRecord::type)
        .as(log)
        .containsExactly(FaultType.REPLACE_NODE, FaultType.GROW, FaultType.SHRINK);
    assertThat(r.faults())
        .extracting(NemesisRunner.FaultRecord::description)
        .as(log)
        .noneMatch(d -> d.contains("did not complete"));

    // Replay the changes the fault lines report on the first configuration {0..4}: the members
    // the run ended with must be what they make, back to 5.
    Set<Integer> expected = new TreeSet<>(List.of(0, 1, 2, 3, 4));
    List<Integer> added = new ArrayList<>();
    for (NemesisRunner.FaultRecord f : r.faults()) {
      Matcher m = REPLACED.matcher(f.description());
      while (m.find()) {
        expected.remove(Integer.parseInt(m.group(1)));
        expected.add(Integer.parseInt(m.group(2)));
      }
      m = ADDED.matcher(f.description());
      while (m.find()) {
        added.add(Integer.parseInt(m.group(1)));
        expected.add(Integer.parseInt(m.group(1)));
      }
      m = REMOVED.matcher(f.description());
      while (m.find()) {
        expected.remove(Integer.parseInt(m.group(1)));
      }
    }
    assertThat(added).as("grow adds one or two members to 5\n%s", log).hasSizeBetween(1, 2);
    assertThat(new TreeSet<>(r.members())).as(log).isEqualTo(expected).hasSize(5);
    assertThat(r.acknowledged()).as("acknowledged operations").isGreaterThan(500);
  }
}
