package io.raftkv.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ChaosTest {

  private static Chaos chaos(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    return new Chaos(0, List.of(0, 1, 2), r::nextDouble);
  }

  @Test
  void noFaultsDropNothingAndAddNoDelay() {
    Chaos c = chaos(1);
    for (int i = 0; i < 1000; i++) {
      assertThat(c.dropOutbound(1)).isFalse();
      assertThat(c.dropInbound(2)).isFalse();
    }
    assertThat(c.delayMillis(1)).isZero();
    assertThat(c.counters(2).received.sum()).isEqualTo(1000);
    assertThat(c.counters(2).droppedIn.sum()).isZero();
  }

  @Test
  void dropProbabilitiesAreDeterministicPerSeedAndRoughlyRight() {
    Chaos a = chaos(42);
    Chaos b = chaos(42);
    Chaos.Fault f = new Chaos.Fault(0.3, 0.1, 0, false);
    a.apply(false, Map.of(1, f));
    b.apply(false, Map.of(1, f));
    int outDrops = 0;
    int inDrops = 0;
    for (int i = 0; i < 10_000; i++) {
      boolean da = a.dropOutbound(1);
      assertThat(b.dropOutbound(1)).isEqualTo(da);
      outDrops += da ? 1 : 0;
      boolean ia = a.dropInbound(1);
      assertThat(b.dropInbound(1)).isEqualTo(ia);
      inDrops += ia ? 1 : 0;
      // The other peer is untouched.
      assertThat(a.dropOutbound(2)).isFalse();
      assertThat(a.dropInbound(2)).isFalse();
    }
    assertThat(outDrops).isBetween(2_700, 3_300);
    assertThat(inDrops).isBetween(800, 1_200);
    assertThat(a.counters(1).droppedOut.sum()).isEqualTo(outDrops);
    assertThat(a.counters(1).droppedIn.sum()).isEqualTo(inDrops);
    assertThat(a.counters(1).received.sum()).isEqualTo(10_000);
    assertThat(a.counters(2).droppedOut.sum()).isZero();
  }

  @Test
  void cutDropsEverythingBothWays() {
    Chaos c = chaos(7);
    c.apply(false, Map.of(2, new Chaos.Fault(0, 0, 0, true)));
    for (int i = 0; i < 100; i++) {
      assertThat(c.dropOutbound(2)).isTrue();
      assertThat(c.dropInbound(2)).isTrue();
      assertThat(c.dropOutbound(1)).isFalse();
    }
    assertThat(c.counters(2).droppedOut.sum()).isEqualTo(100);
    assertThat(c.counters(2).droppedIn.sum()).isEqualTo(100);
  }

  @Test
  void certainDropNeedsNoRandomness() {
    Chaos c = new Chaos(0, List.of(0, 1), () -> 0.999999);
    c.apply(false, Map.of(1, new Chaos.Fault(1.0, 1.0, 0, false)));
    assertThat(c.dropOutbound(1)).isTrue();
    assertThat(c.dropInbound(1)).isTrue();
  }

  @Test
  void delayIsPerPeer() {
    Chaos c = chaos(3);
    c.apply(false, Map.of(1, new Chaos.Fault(0, 0, 25, false)));
    assertThat(c.delayMillis(1)).isEqualTo(25);
    assertThat(c.delayMillis(2)).isZero();
  }

  @Test
  void resetClearsAndSettingReplacesAPeersWholeFault() {
    Chaos c = chaos(5);
    c.apply(false, Map.of(1, new Chaos.Fault(0.5, 0, 10, false)));
    Map<Integer, Chaos.Fault> now = c.apply(false, Map.of(2, new Chaos.Fault(0, 0, 0, true)));
    assertThat(now).containsOnlyKeys(1, 2);
    now = c.apply(false, Map.of(1, new Chaos.Fault(0, 0.2, 0, false)));
    assertThat(now.get(1)).isEqualTo(new Chaos.Fault(0, 0.2, 0, false));
    now = c.apply(false, Map.of(1, Chaos.Fault.NONE));
    assertThat(now).containsOnlyKeys(2);
    now = c.apply(true, Map.of());
    assertThat(now).isEmpty();
    assertThat(c.fault(2)).isEqualTo(Chaos.Fault.NONE);
    assertThat(c.dropOutbound(2)).isFalse();
    // reset then set, in one call
    now = c.apply(true, Map.of(1, new Chaos.Fault(0, 0, 0, true)));
    assertThat(now).containsOnlyKeys(1);
  }

  @Test
  void rejectsBadFaultsWithoutChangingAnything() {
    Chaos c = chaos(9);
    c.apply(false, Map.of(1, new Chaos.Fault(0, 0, 0, true)));
    assertThatThrownBy(() -> new Chaos.Fault(1.5, 0, 0, false)).hasMessageContaining("drop_out");
    assertThatThrownBy(() -> new Chaos.Fault(0, Double.NaN, 0, false))
        .hasMessageContaining("drop_in");
    assertThatThrownBy(() -> c.apply(true, Map.of(0, new Chaos.Fault(0, 0, 0, true))))
        .hasMessageContaining("this node");
    assertThatThrownBy(() -> c.apply(true, Map.of(5, new Chaos.Fault(0, 0, 0, true))))
        .hasMessageContaining("no peer 5");
    assertThat(c.faults()).containsOnlyKeys(1);
  }
}
