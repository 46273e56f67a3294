package io.raftkv.bench;

import java.util.List;

/**
 * One replacement of a dead member, as it ran: its steps (each a command, or a process started and
 * waited for), and when the new member became a voter and the dead one left the configuration
 * (epoch ms). raftkv does both in one joint change; etcd in two changes.
 */
record Replacement(List<Replacement.Step> steps, long votingMillis, long removedMillis) {
  /**
   * One step: what it is for, the command line, its wall-clock start and end, how many times it was
   * run (a promotion is retried until the learner is in sync) and the last output.
   */
  record Step(
      String what, String command, long startMillis, long endMillis, int attempts, String output) {
    /** A command run once. */
    static Step of(String what, Commands.Run run) {
      return retried(what, run.startMillis(), run, 1);
    }

    /** A command run {@code attempts} times from {@code startMillis}, {@code last} the last. */
    static Step retried(String what, long startMillis, Commands.Run last, int attempts) {
      return new Step(
          what,
          Commands.line(last.command()),
          startMillis,
          last.endMillis(),
          attempts,
          last.output().strip());
    }
  }

  /** When the first command started. */
  long startMillis() {
    return steps.get(0).startMillis();
  }

  /** When the change was complete: the new member votes and the dead one is gone. */
  long doneMillis() {
    return Math.max(votingMillis, removedMillis);
  }
}
