package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Operations of unknown outcome, with a model where "took effect at the end" is not an option: a
 * write-once register, whose second write is illegal. A timed-out write that conflicts with an
 * acknowledged one can then only be explained by its never having happened.
 */
class UnknownOutcomeTest {

  /** Input: a value to write, or null to read. Output: "ok" for writes, the value read. */
  private static final class WriteOnceRegister implements Model<Optional<String>, String, String> {
    @Override
    public Optional<String> init() {
      return Optional.empty();
    }

    @Override
    public Optional<Optional<String>> step(Optional<String> state, String input, String output) {
      if (input.startsWith("read")) {
        return output == null || output.equals(state.orElse("")) ? Optional.of(state) : null0();
      }
      return state.isEmpty() ? Optional.of(Optional.of(input)) : null0();
    }

    private static Optional<Optional<String>> null0() {
      return Optional.empty();
    }
  }

  private static Operation<String, String> write(int client, String value, long call, long ret) {
    return Operation.completed(client, value, call, ret, "ok");
  }

  private static Operation<String, String> read(int client, String value, long call, long ret) {
    return Operation.completed(client, "read", call, ret, value);
  }

  private static CheckResult check(History<String, String> history) {
    return LinearizabilityChecker.withBudget(Duration.ofSeconds(5))
        .check(new WriteOnceRegister(), history);
  }

  @Test
  void aTimedOutWriteWhoseOnlyExplanationIsThatItNeverHappenedIsAccepted() {
    CheckResult result =
        check(
            History.of(
                write(1, "a", 0, 10),
                Operation.unknown(2, "b", 5),
                read(3, "a", 20, 30),
                read(3, "a", 40, 50)));
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void aTimedOutWriteThatHappenedIsAccepted() {
    CheckResult result =
        check(History.of(Operation.unknown(2, "b", 5), read(3, "", 6, 7), read(3, "b", 40, 50)));
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.OK);
  }

  @Test
  void stillIllegalWhenNeitherExplanationWorks() {
    CheckResult result =
        check(
            History.of(
                write(1, "a", 0, 10),
                Operation.unknown(2, "b", 5),
                read(3, "b", 20, 30),
                read(3, "a", 40, 50)));
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.ILLEGAL);
  }

  @Test
  void onlyUnknownOutcomes() {
    CheckResult result =
        check(
            History.of(
                Operation.unknown(1, "a", 0),
                Operation.unknown(2, "b", 1),
                Operation.unknown(3, "read", 2)));
    assertThat(result.verdict()).isEqualTo(CheckResult.Verdict.OK);
  }
}
