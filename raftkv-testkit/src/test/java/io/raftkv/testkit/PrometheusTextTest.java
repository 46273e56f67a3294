package io.raftkv.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {
  private static final String TEXT =
      """
      # HELP raftkv_client_requests_total KV requests.
      # TYPE raftkv_client_requests_total counter
      raftkv_client_requests_total{op="put",result="ok"} 5.0
      raftkv_client_requests_total{op="get",result="ok"} 2.0
      raftkv_client_requests_total{op="get",result="no_key"} 1.0
      raftkv_server_is_leader 1.0
      h_bucket{le="+Inf"} 3 1700000000000
      odd{path="a \\"quoted\\" \\\\ value\\nnext"} NaN
      """;

  @Test
  void samplesAreFoundByNameAndLabels() {
    PrometheusText t = PrometheusText.parse(TEXT);
    assertThat(t.value("raftkv_client_requests_total", "op", "put", "result", "ok")).isEqualTo(5);
    assertThat(t.sum("raftkv_client_requests_total", "op", "get")).isEqualTo(3);
    assertThat(t.sum("raftkv_client_requests_total")).isEqualTo(8);
    assertThat(t.value("raftkv_server_is_leader")).isEqualTo(1);
    assertThat(t.find("absent")).isEmpty();
  }

  @Test
  void infinityTimestampsAndEscapedLabelValuesAreRead() {
    PrometheusText t = PrometheusText.parse(TEXT);
    assertThat(t.value("h_bucket", "le", "+Inf")).isEqualTo(3);
    PrometheusText.Sample odd = t.find("odd").get(0);
    assertThat(odd.labels()).isEqualTo(Map.of("path", "a \"quoted\" \\ value\nnext"));
    assertThat(odd.value()).isNaN();
  }

  @Test
  void anAmbiguousValueLookupFailsNamingTheCandidates() {
    PrometheusText t = PrometheusText.parse(TEXT);
    assertThatThrownBy(() -> t.value("raftkv_client_requests_total", "op", "get"))
        .hasMessageContaining("2 samples of raftkv_client_requests_total");
  }

  @Test
  void aLineThatIsNotASampleIsReportedWithItsNumber() {
    assertThatThrownBy(() -> PrometheusText.parse("ok 1\n{broken} 2\n"))
        .hasMessageStartingWith("line 2 is not a sample");
  }
}
