package io.raftkv.bench;

import java.time.Duration;
import picocli.CommandLine;

/** "10s", "500ms", "2m", "1.5s" (a bare number is seconds). */
final class Durations implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    String v = value.strip().toLowerCase(java.util.Locale.ROOT);
    double factorNanos;
    String num;
    if (v.endsWith("ms")) {
      factorNanos = 1e6;
      num = v.substring(0, v.length() - 2);
    } else if (v.endsWith("s")) {
      factorNanos = 1e9;
      num = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      factorNanos = 60e9;
      num = v.substring(0, v.length() - 1);
    } else {
      factorNanos = 1e9;
      num = v;
    }
    try {
      double n = Double.parseDouble(num);
      if (n < 0 || Double.isNaN(n) || Double.isInfinite(n)) {
        throw new NumberFormatException();
      }
      return Duration.ofNanos(Math.round(n * factorNanos));
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException(
          "not a duration: '" + value + "' (e.g. 10s, 500ms, 2m)");
    }
  }

  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 1000 == 0) {
      return (ms / 1000) + "s";
    }
    return ms + "ms";
  }
}
