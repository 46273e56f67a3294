package io.raftkv.bench;

/** The operations of the mix. */
enum OpType {
  GET,
  PUT,
  APPEND
}
