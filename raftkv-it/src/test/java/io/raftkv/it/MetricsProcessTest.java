package io.raftkv.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftkv.client.KvClient;
import io.raftkv.testkit.PrometheusText;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code svr --metrics-port 0} on real processes: each node picks a free port and logs it; its
 * {@code /metrics}, parsed, shows the cluster as clients and {@code clt} saw it, and its {@code
 * /health} follows whether it knows a leader.
 */
class MetricsProcessTest {
  private static final Pattern URL =
      Pattern.compile("serves metrics at (http://127\\.0\\.0\\.1:\\d+)/metrics");

  @Test
  void everyNodeServesItsMetricsAndHealthOnTheFreePortItLogs(@TempDir Path dir) throws Exception {
    // Long election timeouts: on a loaded machine, short ones hold elections mid-test.
    try (LocalCluster c =
        new LocalCluster(
            3,
            dir,
            "--metrics-port",
            "0",
            "--election-timeout-min-ms",
            "1000",
            "--election-timeout-max-ms",
            "2000",
            "--heartbeat-ms",
            "100")) {
      c.startAll(0);
      int leader = c.findLeader();
      String[] base = new String[3];
      for (int i = 0; i < 3; i++) {
        base[i] = metricsUrl(dir.resolve("svr-" + i + ".log"));
      }
      int writes = 20;
      try (KvClient client =
          KvClient.builder(List.of(c.kvsList().split(",")))
              .timeout(Duration.ofSeconds(30))
              .build()) {
        for (int k = 0; k < writes; k++) {
          client.put("k" + k, "v" + k);
        }
      }
      LocalCluster.Result get = c.cltAny("-o", "GET", "-k", "k0");
      assertThat(get.out().strip()).as(get.toString()).isEqualTo("v0");

      // A loaded machine may hold an election meanwhile: wait for a view where every node is
      // healthy, exactly one leads and it has committed the writes, then check that view.
      PrometheusText[] m = new PrometheusText[3];
      LocalCluster.await(
          "every node healthy, one leader, the writes committed\n" + c.logs(),
          Duration.ofSeconds(60),
          () -> {
            double leaders = 0;
            double committed = 0;
            for (int i = 0; i < 3; i++) {
              m[i] = PrometheusText.scrape(base[i] + "/metrics");
              if (status(base[i] + "/health") != 200
                  || m[i].value("raftkv_server_has_leader") != 1) {
                return false;
              }
              double isLeader = m[i].value("raftkv_server_is_leader");
              leaders += isLeader;
              committed += isLeader * m[i].value("raftkv_server_proposals_committed_total");
            }
            return leaders == 1 && committed >= writes;
          });
      double putsOk = 0;
      double getsOk = 0;
      double fsyncs = 0;
      for (int i = 0; i < 3; i++) {
        putsOk += m[i].value("raftkv_client_requests_total", "op", "put", "result", "ok");
        getsOk += m[i].value("raftkv_client_requests_total", "op", "get", "result", "ok");
        fsyncs += m[i].value("raftkv_disk_wal_fsync_duration_seconds_count");
      }
      // At least: a client that timed out and retried may be answered OK twice for one write.
      assertThat(putsOk).as("PUTs answered OK, over all nodes").isGreaterThanOrEqualTo(writes);
      assertThat(getsOk).as("clt's GET").isGreaterThanOrEqualTo(1);
      assertThat(fsyncs).isPositive();

      // Left alone, a node loses its leader (an election it cannot win) and reports it.
      int survivor = (leader + 1) % 3;
      for (int i = 0; i < 3; i++) {
        if (i != survivor) {
          c.kill(i);
        }
      }
      LocalCluster.await(
          "node " + survivor + " to report no leader",
          Duration.ofSeconds(30),
          () -> status(base[survivor] + "/health") == 503);
      PrometheusText alone = PrometheusText.scrape(base[survivor] + "/metrics");
      assertThat(alone.value("raftkv_server_has_leader")).isZero();
      assertThat(alone.value("raftkv_server_is_leader")).isZero();
    }
  }

  /** The URL the node logged when it started serving metrics. */
  private static String metricsUrl(Path log) {
    String[] found = {null};
    LocalCluster.await(
        "a metrics URL in " + log,
        Duration.ofSeconds(30),
        () -> {
          try {
            Matcher m = URL.matcher(Files.readString(log));
            found[0] = m.find() ? m.group(1) : null;
          } catch (IOException e) {
            found[0] = null;
          }
          return found[0] != null;
        });
    return found[0];
  }

  private static int status(String url) {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      throw new AssertionError("GET " + url + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
