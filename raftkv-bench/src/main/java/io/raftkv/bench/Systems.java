package io.raftkv.bench;

import java.util.List;

/** The --target flag of commands that can drive raftkv, etcd or both. */
final class Systems {
  private Systems() {}

  static List<String> parse(String target) {
    return switch (target) {
      case "both" -> List.of("raftkv", "etcd");
      case "raftkv", "etcd" -> List.of(target);
      default -> throw new IllegalArgumentException("--target must be raftkv, etcd or both");
    };
  }
}
