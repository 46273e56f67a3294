package io.raftkv.bench;

import java.time.Duration;

/**
 * The sizes and pacing of a trial ({@code bench catchup}, {@code bench replace}): the data set
 * loaded first, the light load, the length of its undisturbed windows ({@code quiet}), the longest
 * wait for the disturbed node, the read-back sample and the seed of values and sample.
 */
record TrialParams(
    int keys,
    int valueSize,
    int loadClients,
    int lightClients,
    double lightRate,
    Duration quiet,
    Duration limit,
    int verifyKeys,
    long seed) {}
