package io.raftkv.bench;

import java.util.List;
import java.util.Locale;

/**
 * {@code bench compare --tls-cost}: what TLS costs each system, from one invocation. Every round
 * runs both systems plaintext and with TLS ({@link ClusterCertificates}: client certificates
 * required, mutual TLS between members), each run on fresh clusters; round 1 runs plaintext raftkv,
 * plaintext etcd, TLS raftkv, TLS etcd, and round 2 the same four in reverse, and so on, so that no
 * variant always finds the warmer (or the busier) machine. Ratios from one run only: on a shared
 * machine two invocations' absolute figures differ more than TLS does.
 *
 * @param plain the plaintext rounds, merged per system
 * @param tls the TLS rounds, merged per system
 * @param perRun one line per run, in the order run
 */
record TlsCost(CompareRounds plain, CompareRounds tls, String perRun) {

  /** Runs {@code rounds} rounds of four runs; leaves {@code c.tls} as it found it. */
  static TlsCost run(BenchMain.Common c, Workload w, int rounds) throws Exception {
    boolean given = c.tls;
    CompareRounds plain = null;
    CompareRounds tls = null;
    StringBuilder perRun = new StringBuilder();
    try {
      for (int r = 1; r <= rounds; r++) {
        // CompareRounds reverses the systems in even rounds; reversing the variants too makes an
        // even round the exact reverse of an odd one.
        for (boolean withTls : r % 2 == 1 ? List.of(false, true) : List.of(true, false)) {
          c.tls = withTls;
          CompareRounds one = CompareRounds.round(c, w, r);
          perRun.append(one.perRound());
          if (withTls) {
            tls = tls == null ? one : tls.then(one);
          } else {
            plain = plain == null ? one : plain.then(one);
          }
        }
      }
    } finally {
      c.tls = given;
    }
    return new TlsCost(plain, tls, perRun.toString());
  }

  /** Every run's line, both variants' summaries, then TLS over plaintext per system. */
  String report() {
    int rounds = plain.rounds().size() / 2;
    return perRun
        + String.format(
            Locale.ROOT,
            "%n## Plaintext, %d round(s) merged%n%n%s%n## TLS, %d round(s) merged%n%n%s",
            rounds,
            plain.summary(),
            rounds,
            tls.summary())
        + "\n## The cost of TLS: TLS/plaintext per system (ops/s below 1 = TLS slower;"
        + " latencies above 1 = TLS slower)\n\n"
        + Report.ratios(tls.raftkv(), plain.raftkv())
        + "\n"
        + Report.ratios(tls.etcd(), plain.etcd());
  }

  /** Both variants as compare writes them, under "plain" and "tls", and the TLS/plain ratios. */
  String json(Workload w, String head) {
    return "{\n  \"header\": "
        + Report.quote(head)
        + ",\n  \"tls_over_plain\": ["
        + ratioJson(tls.raftkv(), plain.raftkv())
        + ", "
        + ratioJson(tls.etcd(), plain.etcd())
        + "],\n  \"plain\": "
        + indent(plain.json(w, head, null))
        + ",\n  \"tls\": "
        + indent(tls.json(w, head, null))
        + "\n}\n";
  }

  private static String indent(String json) {
    return json.strip().replace("\n", "\n  ");
  }

  private static String ratioJson(Measurement withTls, Measurement plain) {
    Measurement.Stats a = withTls.stats("ALL");
    Measurement.Stats b = plain.stats("ALL");
    return String.format(
        Locale.ROOT,
        "{\"system\": %s, \"ops_per_s\": %s, \"p50_ms\": %s, \"p99_ms\": %s}",
        Report.quote(plain.target),
        ServerRss.jsonNumber(a.opsPerSec() / b.opsPerSec()),
        ServerRss.jsonNumber(a.p50Ms() / b.p50Ms()),
        ServerRss.jsonNumber(a.p99Ms() / b.p99Ms()));
  }

  /** Both variants' merged and per-round rows (the target column says which is TLS). */
  String csv() {
    return plain.csv() + Report.withoutHeader(tls.csv());
  }

  /** The four merged figures, for the latency chart. */
  List<Measurement> merged() {
    return List.of(plain.raftkv(), plain.etcd(), tls.raftkv(), tls.etcd());
  }
}
