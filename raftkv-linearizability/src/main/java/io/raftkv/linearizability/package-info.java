/**
 * A linearizability checker for histories of concurrent operations, after Porcupine: the Wing &amp;
 * Gong search with Lowe's memoization on (set of linearized operations, model state), over a
 * history partitioned by the model (P-compositionality), partitions checked in parallel under a
 * time budget.
 *
 * <p>Start with {@link io.raftkv.linearizability.LinearizabilityChecker}; {@link
 * io.raftkv.linearizability.KvModel} models raftkv's Get, Put, Append and Delete, and {@link
 * io.raftkv.linearizability.HistoryRecorder} records a history from concurrent clients.
 */
package io.raftkv.linearizability;
