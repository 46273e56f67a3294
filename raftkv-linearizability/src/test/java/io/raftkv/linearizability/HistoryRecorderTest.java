package io.raftkv.linearizability;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HistoryRecorderTest {

  @Test
  void recordsCallsReturnsAndUnknownOutcomes() {
    AtomicLong clock = new AtomicLong();
    HistoryRecorder<KvInput, KvOutput> recorder = new HistoryRecorder<>(clock::incrementAndGet);
    int put = recorder.invoke(1, KvInput.put("x", "a"));
    int get = recorder.invoke(2, KvInput.get("x"));
    recorder.complete(put, KvOutput.ok());
    recorder.invoke(3, KvInput.delete("x"));
    recorder.complete(get, KvOutput.value("a"));

    History<KvInput, KvOutput> history = recorder.history();
    assertThat(history.operations())
        .containsExactly(
            Operation.completed(1, KvInput.put("x", "a"), 1, 3, KvOutput.ok()),
            Operation.completed(2, KvInput.get("x"), 2, 5, KvOutput.value("a")),
            Operation.unknown(3, KvInput.delete("x"), 4));
  }

  @Test
  void discardedOperationsAreLeftOutAndAWriteThatDidApplyThenFailsTheCheck() {
    AtomicLong clock = new AtomicLong();
    HistoryRecorder<KvInput, KvOutput> recorder = new HistoryRecorder<>(clock::incrementAndGet);
    int lostRead = recorder.invoke(1, KvInput.get("x"));
    recorder.discard(lostRead);
    int refused = recorder.invoke(1, KvInput.put("x", "a"));
    recorder.discard(refused);
    assertThat(recorder.history().operations()).isEmpty();
    // Had the "refused" put applied after all, a later read of its value has no writer.
    int read = recorder.invoke(2, KvInput.get("x"));
    recorder.complete(read, KvOutput.value("a"));
    CheckResult r =
        LinearizabilityChecker.withBudget(Duration.ofSeconds(5))
            .check(new KvModel(), recorder.history());
    assertThat(r.verdict()).isEqualTo(CheckResult.Verdict.ILLEGAL);
  }

  @Test
  void aHistoryRecordedFromRealThreadsOnALinearizableStoreChecksOk() throws Exception {
    ConcurrentMap<String, String> store = new ConcurrentHashMap<>();
    HistoryRecorder<KvInput, KvOutput> recorder = new HistoryRecorder<>();
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < 4; c++) {
      int client = c;
      threads.add(
          new Thread(
              () -> {
                for (int i = 0; i < 500; i++) {
                  String key = "k" + (i % 3);
                  if (i % 2 == 0) {
                    int h = recorder.invoke(client, KvInput.append(key, client + "." + i + ";"));
                    store.merge(key, client + "." + i + ";", String::concat);
                    recorder.complete(h, KvOutput.ok());
                  } else {
                    int h = recorder.invoke(client, KvInput.get(key));
                    String v = store.get(key);
                    recorder.complete(h, v == null ? KvOutput.noKey() : KvOutput.value(v));
                  }
                }
              }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    CheckResult result =
        LinearizabilityChecker.withBudget(Duration.ofSeconds(10))
            .check(new KvModel(), recorder.history());
    assertThat(result.verdict()).as("%s", result).isEqualTo(CheckResult.Verdict.OK);
  }
}
