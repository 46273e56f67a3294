package io.raftkv.bench;

import java.util.List;
import picocli.CommandLine.Option;

/** The --endpoints / --etcd-endpoints flags of commands that drive both systems. */
final class ExistingClusters {
  @Option(
      names = "--endpoints",
      split = ",",
      paramLabel = "HOST:PORT",
      description =
          "An existing raftkv cluster (default: bench starts one per run; memory is then n/a).")
  List<String> raftkv;

  @Option(
      names = "--etcd-endpoints",
      split = ",",
      paramLabel = "HOST:PORT",
      description = "An existing etcd cluster (default: bench starts one per run).")
  List<String> etcd;
}
