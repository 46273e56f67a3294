package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** What {@code bench sweep --vary} can vary, its default values, and parsing of --values. */
final class SweepValues {
  private SweepValues() {}

  /** A parameter of the workload or cluster that a sweep varies. */
  enum Param {
    // Client counts span three orders of magnitude: their charts get a log x axis.
    CLIENTS("clients", "--clients", List.of(1.0, 8.0, 64.0, 256.0, 1024.0), true, 1, 1_000_000),
    NODES("nodes", "--nodes", List.of(3.0, 5.0, 7.0, 9.0, 11.0), true, 1, 11),
    READ_SHARE("read-share", "--read-share", List.of(0.0, 0.5, 0.9, 0.99), false, 0, 1);

    final String name;
    final String flag;
    final List<Double> defaults;
    final boolean integer;
    final double min;
    final double max;

    Param(
        String name, String flag, List<Double> defaults, boolean integer, double min, double max) {
      this.name = name;
      this.flag = flag;
      this.defaults = defaults;
      this.integer = integer;
      this.min = min;
      this.max = max;
    }

    boolean logX() {
      return this == CLIENTS;
    }

    /** "64" for counts, "0.99" for shares. */
    String format(double v) {
      if (integer) {
        return Long.toString(Math.round(v));
      }
      String s = String.format(Locale.ROOT, "%.6f", v).replaceAll("0+$", "");
      return s.endsWith(".") ? s + "0" : s;
    }

    /** Sets this parameter in the flags of one sweep point. */
    void apply(BenchMain.Common c, double v) {
      switch (this) {
        case CLIENTS -> c.clients = (int) Math.round(v);
        case NODES -> c.nodes = (int) Math.round(v);
        case READ_SHARE -> c.readShare = v;
      }
    }
  }

  static Param param(String vary) {
    for (Param p : Param.values()) {
      if (p.name.equals(vary)) {
        return p;
      }
    }
    throw new IllegalArgumentException(
        "--vary must be clients, nodes or read-share, not '" + vary + "'");
  }

  /**
   * The values to run: the given ones, or the parameter's defaults when none are given; checked,
   * without duplicates, ascending (so that the charts' lines run left to right).
   */
  static List<Double> parse(Param p, List<String> given) {
    if (given == null || given.isEmpty()) {
      return p.defaults;
    }
    TreeSet<Double> out = new TreeSet<>();
    for (String s : given) {
      double v;
      try {
        v = Double.parseDouble(s.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--values: '" + s + "' is not a number");
      }
      if (p.integer && v != Math.rint(v)) {
        throw new IllegalArgumentException("--values: " + p.name + " must be whole, not " + s);
      }
      if (!(v >= p.min && v <= p.max)) {
        throw new IllegalArgumentException(
            "--values: "
                + p.name
                + " must be between "
                + p.format(p.min)
                + " and "
                + p.format(p.max)
                + ", not "
                + s);
      }
      out.add(v);
    }
    return new ArrayList<>(out);
  }
}
