package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class FailoverStatsTest {

  @Test
  void defaultGroupsAreFigure16sAndMapToInclusiveRangesOnSvr() {
    List<TimingGroup> all = TimingGroup.parseList(TimingGroup.ALL);
    assertThat(all).hasSize(10);
    assertThat(all.get(0)).isEqualTo(new TimingGroup(150, 150));
    assertThat(all.get(9)).isEqualTo(new TimingGroup(100, 200));
    // 150-150 is a fixed timeout: svr's core excludes the upper bound, hence max + 1.
    assertThat(all.get(0).svrArgs())
        .containsExactly(
            "--tick-ms",
            "1",
            "--election-timeout-min-ms",
            "150",
            "--election-timeout-max-ms",
            "151",
            "--heartbeat-ms",
            "75");
    TimingGroup g = TimingGroup.parse(" 25 - 50 ");
    assertThat(g.heartbeatMs()).isEqualTo(12); // floored
    assertThat(TimingGroup.parse("2-3").heartbeatMs()).isEqualTo(1);
    assertThat(all.stream().filter(TimingGroup::inTopGraph).map(TimingGroup::label))
        .containsExactly("150-150", "150-151", "150-155", "150-175", "150-200", "150-300");
    assertThat(all.stream().filter(TimingGroup::inBottomGraph).map(TimingGroup::label))
        .containsExactly("150-300", "12-24", "25-50", "50-100", "100-200");
  }

  @Test
  void badGroupsAreRefused() {
    assertThatThrownBy(() -> TimingGroup.parse("150")).hasMessageContaining("MIN-MAX");
    assertThatThrownBy(() -> TimingGroup.parse("a-b")).hasMessageContaining("MIN-MAX");
    assertThatThrownBy(() -> TimingGroup.parse("200-150")).hasMessageContaining("min <= max");
    assertThatThrownBy(() -> TimingGroup.parse("1-5")).hasMessageContaining("min <= max");
    assertThatThrownBy(() -> TimingGroup.parseList("12-24,12-24")).hasMessageContaining("twice");
    assertThatThrownBy(() -> TimingGroup.parseList(" , ")).hasMessageContaining("no timing");
  }

  @Test
  void nearestRankPercentilesAndCdfCountMissingTrials() {
    // 1..10 ms shuffled, plus two trials that saw nothing
    double[] samples = {7, 3, Double.NaN, 10, 1, 9, 2, 8, Double.NaN, 5, 4, 6};
    FailoverStats s = new FailoverStats(samples);
    assertThat(s.count()).isEqualTo(10);
    assertThat(s.missing()).isEqualTo(2);
    assertThat(s.percentile(50)).isEqualTo(5.0);
    assertThat(s.percentile(90)).isEqualTo(9.0);
    assertThat(s.percentile(91)).isEqualTo(10.0);
    assertThat(s.percentile(1)).isEqualTo(1.0);
    assertThat(s.max()).isEqualTo(10.0);
    assertThat(s.cdfX()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    double[] y = s.cdfPercent();
    assertThat(y[0]).isEqualTo(100.0 / 12);
    assertThat(y[9]).isEqualTo(1000.0 / 12); // stops below 100%: two trials failed
    assertThat(new FailoverStats(new double[] {Double.NaN}).percentile(50)).isNaN();
    assertThatThrownBy(() -> s.percentile(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void singleSampleIsEveryPercentile() {
    FailoverStats s = new FailoverStats(new double[] {42.5});
    assertThat(s.percentile(50)).isEqualTo(42.5);
    assertThat(s.percentile(100)).isEqualTo(42.5);
    assertThat(s.cdfPercent()).containsExactly(100.0);
  }
}
