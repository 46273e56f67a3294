#!/usr/bin/env bash
# Runs every benchmark of docs/benchmarks/README.md, one after the other, into DIR
# (default docs/benchmarks/<today>). Needs a build (mvn -q package -DskipTests) and, for the etcd
# side, Debian's etcd-server and etcd-client packages. About 65 minutes on 2 cores; run it on an
# otherwise idle machine.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-docs/benchmarks/$(date +%F)}"
mkdir -p "$out"
B=build/dev/bench
log() { echo "=== $(date -u +%T) $*" | tee -a "$out/progress.log"; }
log "start, load average $(cut -d' ' -f1-3 /proc/loadavg)"
log baseline
$B baseline > "$out/baseline.md" 2>&1
for t in "256c-writes --clients 256 --read-share 0" "256c-reads --clients 256 --read-share 1" \
  "1c-writes --clients 1 --read-share 0"; do
  name="${t%% *}"
  log "target-$name"
  # shellcheck disable=SC2086
  $B compare --nodes 3 ${t#* } --duration 10s --warmup 20s --rounds 2 \
    --out "$out/target-$name.json" --markdown "$out/target-$name.md" > "$out/target-$name.txt" 2>&1
done
log a-clients
$B sweep --vary clients --nodes 3 --read-share 0.5 --duration 10s --warmup 20s --rounds 1 \
  --out "$out/a-clients.json" --markdown "$out/a-clients.md" --chart-dir "$out/a-clients" \
  > "$out/a-clients.txt" 2>&1
log c-read-share
$B sweep --vary read-share --nodes 3 --clients 64 --duration 10s --warmup 20s --rounds 1 \
  --out "$out/c-read-share.json" --markdown "$out/c-read-share.md" \
  --chart-dir "$out/c-read-share" > "$out/c-read-share.txt" 2>&1
log b-nodes
$B sweep --vary nodes --clients 64 --read-share 0.5 --duration 10s --warmup 20s --rounds 1 \
  --out "$out/b-nodes.json" --markdown "$out/b-nodes.md" --chart-dir "$out/b-nodes" \
  > "$out/b-nodes.txt" 2>&1
# 9 JVMs on 2 cores are still compiling after 20 s (C2 took half the servers' CPU in b's 9-node
# window): the same points again once the JIT has settled.
log b2-nodes-steady
$B sweep --vary nodes --values 9,11 --clients 64 --read-share 0.5 --duration 10s --warmup 120s \
  --rounds 1 --out "$out/b2-nodes-steady.json" --markdown "$out/b2-nodes-steady.md" \
  > "$out/b2-nodes-steady.txt" 2>&1
log d-failover
$B failover --trials 12 --out "$out/d-failover.json" --chart-dir "$out/d-failover" \
  > "$out/d-failover.txt" 2>&1
log e-insert-read
$B insert-read --out "$out/e-insert-read.json" --markdown "$out/e-insert-read.md" \
  > "$out/e-insert-read.txt" 2>&1
log f-oneshot
$B oneshot --runs 21 --out "$out/f-oneshot.json" > "$out/f-oneshot.txt" 2>&1
log h-idle
$B idle --out "$out/h-idle.json" --markdown "$out/h-idle.md" > "$out/h-idle.txt" 2>&1
log "done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
