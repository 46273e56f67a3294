#!/usr/bin/env bash
# Builds raftkv (unless --no-build) and starts a local cluster of N nodes (default 3) on free
# loopback ports, with data under build/cluster/. Prints clt commands to try; Ctrl-C stops it.
#
#   scripts/local-cluster.sh [N] [--no-build] [-- extra svr flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
build=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --) shift; extra=("$@"); break ;;
    *[!0-9]*|"") echo "usage: $0 [N] [--no-build] [-- svr flags]" >&2; exit 1 ;;
    *) nodes="$1" ;;
  esac
  shift
done
if [ "$nodes" -lt 1 ]; then echo "N must be at least 1" >&2; exit 1; fi

if [ "$build" = 1 ]; then
  echo "building (mvn -q package -DskipTests)..."
  mvn -q -B package -DskipTests
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
used=" "
pick_port() {
  while true; do
    p=$(( 20000 + RANDOM % 40000 ))
    if [[ "$used" != *" $p "* ]] && port_free "$p"; then used="$used$p "; echo "$p"; return; fi
  done
}

raft=(); kvs=()
for ((i = 0; i < nodes; i++)); do raft+=("$(pick_port)"); kvs+=("$(pick_port)"); done
raft_list=$(IFS=,; echo "${raft[*]}")
kvs_list=$(printf '127.0.0.1:%s,' "${kvs[@]}"); kvs_list=${kvs_list%,}

dir=build/cluster
rm -rf "$dir"; mkdir -p "$dir"
pids=()
cleanup() { echo; echo "stopping..."; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

for ((i = 0; i < nodes; i++)); do
  # --enable-chaos: a cluster to try things on, clt chaos included (off by default in svr).
  build/dev/svr -r "$raft_list" -i "$i" -p "${kvs[$i]}" --kvs-peers "$kvs_list" \
    --data-dir "$dir/node-$i" --enable-chaos "${extra[@]}" >"$dir/node-$i.log" 2>&1 &
  pids+=($!)
done

echo "started $nodes nodes; logs in $dir/node-<id>.log"
for ((i = 0; i < nodes; i++)); do echo "  node $i: raft port ${raft[$i]}, kvs port ${kvs[$i]}"; done
cat <<MSG

Try (in another terminal, from $(pwd)):
  build/dev/clt -s $kvs_list -o PUT -k 10 -v 100      # finds the leader itself
  build/dev/clt -s $kvs_list -o GET -k 10
  build/dev/clt -s $kvs_list -o APPEND -k 10 -v 1
  build/dev/clt -p ${kvs[0]} -o DIRECT_GET -k 10                 # node 0's local copy
  build/dev/clt -p ${kvs[0]} -o PUT -k 11 -v 1                   # exit 2 unless node 0 leads
  build/dev/clt status -s $kvs_list                    # every node's role, term, indexes
  build/dev/clt chaos -p ${kvs[0]} --peer 1 --drop-out 0.5    # node 0 drops half its messages to 1
  build/dev/clt chaos -s $kvs_list --reset                     # clear every fault
  kill -9 <a node's pid>; the others elect a new leader (pids: ${pids[*]})

Ctrl-C stops the cluster.
MSG
wait
