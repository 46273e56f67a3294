package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class OperationTest {

  @Test
  void validatesTimesAndOutputs() {
    assertThatThrownBy(() -> Operation.completed(1, KvInput.get("x"), 10, 9, KvOutput.noKey()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Operation<>(1, KvInput.get("x"), 0, 5, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KvOutput.value(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new KvOutput(KvOutput.Status.OK, "v"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void unknownOutcomeReturnsAtInfinity() {
    Operation<KvInput, KvOutput> op = Operation.unknown(3, KvInput.put("x", "v"), 7);
    assertThat(op.outcomeKnown()).isFalse();
    assertThat(op.returnTime()).isEqualTo(Operation.UNKNOWN_RETURN);
    assertThat(op.output()).isNull();
    assertThat(op).hasToString("client 3 Put(x, v) -> ? [7, inf]");
  }
}
