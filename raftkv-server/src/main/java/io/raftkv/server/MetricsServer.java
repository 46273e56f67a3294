package io.raftkv.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.exporter.httpserver.MetricsHandler;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The node's HTTP endpoint for monitoring ({@code svr --metrics-port}): {@code /metrics} in the
 * Prometheus text format (the client library's {@link MetricsHandler}, which also speaks
 * OpenMetrics and gzip when the scraper asks), and {@code /health}, 200 or 503 with etcd's JSON
 * body ({@link Health}).
 *
 * <p>Its own small HTTP server (the JDK's), apart from the gRPC ports: a scrape never competes with
 * client calls on Netty's event loops, and the port can stay private while the KV port is open. Two
 * threads: a health check waits up to a second for the node's loop, and must not hold a scrape back
 * meanwhile.
 *
 * <p>Thread-safety: start and close from one thread.
 */
final class MetricsServer implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private MetricsServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Listens on {@code host:port} (port 0: any free one, see {@link #port()}).
   *
   * @throws IOException if it cannot listen there
   */
  static MetricsServer start(String host, int port, PrometheusRegistry registry, Health health)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "metrics-http");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/metrics", new MetricsHandler(registry));
    server.createContext("/health", exchange -> health(exchange, health));
    server.start();
    return new MetricsServer(server, executor);
  }

  private static void health(HttpExchange exchange, Health health) throws IOException {
    try (exchange) {
      if (!exchange.getRequestURI().getPath().equals("/health")) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      Health.Result r = health.check();
      byte[] body = (r.json() + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(r.healthy() ? 200 : 503, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** The port it listens on (the one picked, if started with 0). */
  int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
