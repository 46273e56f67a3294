package io.raftkv.server;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.raftkv.proto.kvs.Status;
import java.util.Locale;

/**
 * KV requests as this node served them: counted by operation and result ({@code
 * raftkv_client_requests_total{op,result}}) and timed by operation from the call's arrival to its
 * answer ({@code raftkv_client_request_duration_seconds{op}}), so that redirects (NOT_LEADER) and
 * timeouts show next to successes.
 *
 * <p>Every (operation, result) data point is bound once, at start: recording is an array lookup and
 * the client library's adders, no map lookups or allocation per request.
 *
 * <p>Thread-safety: any thread.
 */
final class RequestMetrics {

  /** The KV operations, with their label. */
  enum Op {
    PUT,
    APPEND,
    DELETE,
    GET,
    DIRECT_GET,
    REGISTER_CLIENT;

    final String label = name().toLowerCase(Locale.ROOT);
  }

  private final Counter requests;
  private final CounterDataPoint[][] byResult;
  private final DistributionDataPoint[] durations;

  RequestMetrics(PrometheusRegistry registry) {
    requests =
        Counter.builder()
            .name("raftkv_client_requests_total")
            .help("KV requests answered by this node, by operation and result (the reply status).")
            .labelNames("op", "result")
            .withoutExemplars()
            .register(registry);
    Histogram latency =
        Histogram.builder()
            .name("raftkv_client_request_duration_seconds")
            .help("KV requests from arrival at this node to the answer, by operation.")
            .labelNames("op")
            .classicOnly()
            .classicUpperBounds(Metrics.LATENCY_BUCKETS)
            .withoutExemplars()
            .register(registry);
    int statuses = 0;
    for (Status s : Status.values()) {
      statuses = s == Status.UNRECOGNIZED ? statuses : Math.max(statuses, s.getNumber() + 1);
    }
    byResult = new CounterDataPoint[Op.values().length][statuses];
    durations = new DistributionDataPoint[Op.values().length];
    for (Op op : Op.values()) {
      durations[op.ordinal()] = latency.labelValues(op.label);
      for (Status s : Status.values()) {
        if (s != Status.UNRECOGNIZED) {
          byResult[op.ordinal()][s.getNumber()] = requests.labelValues(op.label, label(s));
        }
      }
    }
  }

  /** One request of {@code op} was answered with {@code status} after {@code nanos}. */
  void answered(Op op, Status status, long nanos) {
    CounterDataPoint[] row = byResult[op.ordinal()];
    int n = status == Status.UNRECOGNIZED ? -1 : status.getNumber();
    // A status unknown when this was built still counts, by the client library's slower lookup.
    (n >= 0 && n < row.length && row[n] != null
            ? row[n]
            : requests.labelValues(op.label, label(status)))
        .inc();
    durations[op.ordinal()].observe(nanos / 1e9);
  }

  private static String label(Status s) {
    return s.name().toLowerCase(Locale.ROOT);
  }
}
