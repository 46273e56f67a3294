package io.raftkv.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A scrape of a Prometheus endpoint in the text exposition format (version 0.0.4), parsed into its
 * samples, so that tests can assert on a node's metrics as Prometheus would see them. The Java
 * client writes this format but does not read it; this reads what it writes: comments ({@code #
 * HELP}, {@code # TYPE}) are skipped, and each sample line is {@code name{label="value",...} value}
 * with an optional timestamp.
 *
 * <p>Thread-safety: immutable.
 */
public final class PrometheusText {

  /** One sample: a series (name and labels) and its value. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private final List<Sample> samples;

  private PrometheusText(List<Sample> samples) {
    this.samples = List.copyOf(samples);
  }

  /** Fetches {@code url} (e.g. http://127.0.0.1:9100/metrics) and parses it; fails unless 200. */
  public static PrometheusText scrape(String url) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                  HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException(url + " answered " + r.statusCode() + ": " + r.body());
      }
      return parse(r.body());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot scrape " + url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Parses a whole exposition.
   *
   * @throws IllegalArgumentException naming the line that is not a sample
   */
  public static PrometheusText parse(String text) {
    List<Sample> out = new ArrayList<>();
    int lineNo = 0;
    for (String line : text.split("\n")) {
      lineNo++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      try {
        out.add(sample(line));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "line " + lineNo + " is not a sample (" + e.getMessage() + "): " + line, e);
      }
    }
    return new PrometheusText(out);
  }

  private static Sample sample(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    if (name.isEmpty()) {
      throw new IllegalArgumentException("no metric name");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        String label = line.substring(i, eq).strip();
        if (line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("label " + label + "'s value is not quoted");
        }
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (; line.charAt(j) != '"'; j++) {
          char c = line.charAt(j);
          if (c == '\\') {
            char next = line.charAt(++j);
            value.append(next == 'n' ? '\n' : next);
          } else {
            value.append(c);
          }
        }
        labels.put(label, value.toString());
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    String[] rest = line.substring(i).strip().split("\\s+");
    return new Sample(name, Collections.unmodifiableMap(labels), number(rest[0]));
  }

  private static double number(String s) {
    return switch (s) {
      case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }

  public List<Sample> samples() {
    return samples;
  }

  /** The samples named {@code name} whose labels include every (label, value) pair given. */
  public List<Sample> find(String name, String... labelPairs) {
    if (labelPairs.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in (name, value) pairs");
    }
    List<Sample> out = new ArrayList<>();
    for (Sample s : samples) {
      if (s.name().equals(name) && matches(s.labels(), labelPairs)) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * The value of the one sample named {@code name} with these labels.
   *
   * @throws IllegalArgumentException if none or several match
   */
  public double value(String name, String... labelPairs) {
    List<Sample> found = find(name, labelPairs);
    if (found.size() != 1) {
      throw new IllegalArgumentException(
          found.size()
              + " samples of "
              + name
              + " with labels "
              + List.of(labelPairs)
              + " (expected one): "
              + found);
    }
    return found.get(0).value();
  }

  /** The sum of the samples named {@code name} with these labels (0 if none). */
  public double sum(String name, String... labelPairs) {
    double total = 0;
    for (Sample s : find(name, labelPairs)) {
      total += s.value();
    }
    return total;
  }

  private static boolean matches(Map<String, String> labels, String[] pairs) {
    for (int i = 0; i < pairs.length; i += 2) {
      if (!pairs[i + 1].equals(labels.get(pairs[i]))) {
        return false;
      }
    }
    return true;
  }
}
