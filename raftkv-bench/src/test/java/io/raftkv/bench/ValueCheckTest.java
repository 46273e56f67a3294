package io.raftkv.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ValueCheckTest {
  @Test
  void theValueWrittenPasses() {
    byte[] v = ValueCheck.value(7, 128, 42);
    assertThat(v).hasSize(128);
    assertThat(ValueCheck.check(v, Optional.of(v.clone()))).isEqualTo(ValueCheck.Outcome.OK);
  }

  @Test
  void aWrongValueIsAMismatch() {
    byte[] v = ValueCheck.value(7, 128, 42);
    byte[] other = v.clone();
    other[100] ^= 1;
    assertThat(ValueCheck.check(v, Optional.of(other))).isEqualTo(ValueCheck.Outcome.MISMATCH);
    // The value of another key, or of another run, is wrong too.
    assertThat(ValueCheck.check(v, Optional.of(ValueCheck.value(8, 128, 42))))
        .isEqualTo(ValueCheck.Outcome.MISMATCH);
    assertThat(ValueCheck.check(v, Optional.of(ValueCheck.value(7, 128, 43))))
        .isEqualTo(ValueCheck.Outcome.MISMATCH);
    // So is a truncated one.
    assertThat(ValueCheck.check(v, Optional.of(ValueCheck.value(7, 127, 42))))
        .isEqualTo(ValueCheck.Outcome.MISMATCH);
    assertThat(ValueCheck.describe(ValueCheck.key(7), v, Optional.of(other)))
        .startsWith("ir00000000000007: read 128 B")
        .contains("expected 128 B");
  }

  @Test
  void anAbsentKeyIsMissing() {
    byte[] v = ValueCheck.value(7, 16, 42);
    assertThat(ValueCheck.check(v, Optional.empty())).isEqualTo(ValueCheck.Outcome.MISSING);
    assertThat(ValueCheck.describe(ValueCheck.key(7), v, Optional.empty())).contains("missing");
  }

  @Test
  void valuesAreDeterministicAndTinySizesWork() {
    assertThat(ValueCheck.value(3, 64, 1)).isEqualTo(ValueCheck.value(3, 64, 1));
    assertThat(new String(ValueCheck.value(12, 2, 1))).isEqualTo("v1");
    assertThat(ValueCheck.key(0)).hasSize(16);
  }

  @Test
  void slicesCoverEveryKeyExactlyOnce() {
    for (int[] kc : new int[][] {{10000, 64}, {10, 3}, {5, 8}, {1, 1}}) {
      int keys = kc[0];
      int clients = kc[1];
      int[] seen = new int[keys];
      int next = 0;
      for (int c = 0; c < clients; c++) {
        int[] s = ValueCheck.slice(c, clients, keys);
        assertThat(s[0]).isEqualTo(next); // contiguous, in order
        assertThat(s[1] - s[0]).isBetween(keys / clients, keys / clients + 1);
        for (int i = s[0]; i < s[1]; i++) {
          seen[i]++;
        }
        next = s[1];
      }
      assertThat(next).isEqualTo(keys);
      assertThat(seen).containsOnly(1);
    }
  }
}
