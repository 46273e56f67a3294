package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class PercentilesTest {
  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(Percentiles.median(List.of(5L, 1L, 3L))).isEqualTo(3.0);
    assertThat(Percentiles.median(List.of(4L, 1L, 3L, 2L))).isEqualTo(2.5);
    assertThat(Percentiles.median(List.of(9L))).isEqualTo(9.0);
  }

  @Test
  void minMaxAndNearestRankPercentiles() {
    List<Long> tenShuffled = List.of(7L, 3L, 10L, 1L, 9L, 2L, 8L, 5L, 4L, 6L);
    assertThat(Percentiles.min(tenShuffled)).isEqualTo(1.0);
    assertThat(Percentiles.max(tenShuffled)).isEqualTo(10.0);
    assertThat(Percentiles.percentile(tenShuffled, 90)).isEqualTo(9.0);
    assertThat(Percentiles.percentile(tenShuffled, 100)).isEqualTo(10.0);
    List<Long> upTo21 = LongStream.rangeClosed(1, 21).boxed().toList();
    assertThat(Percentiles.percentile(upTo21, 90)).isEqualTo(19.0); // ceil(18.9) = 19th
    assertThat(Percentiles.percentile(List.of(5L), 90)).isEqualTo(5.0);
  }

  @Test
  void noSamplesOrABadPercentileIsAnError() {
    assertThatThrownBy(() -> Percentiles.median(List.of())).hasMessageContaining("no samples");
    assertThatThrownBy(() -> Percentiles.percentile(List.of(1L), 0))
        .hasMessageContaining("percentile");
  }
}
