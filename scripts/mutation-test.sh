#!/usr/bin/env bash
# Mutation testing of the consensus core with PIT (docs/testing.md). Not part of `mvn verify` or CI.
#
# PIT mutates the deterministic code (the core io.raftkv.raft.*, the node runtime io.raftkv.node.*,
# the client's retry policy io.raftkv.client.retry.*) and counts as killers raftkv-raft's,
# raftkv-node's and raftkv-client's own tests and raftkv-sim's (course scenarios, KV scenarios,
# SoakTest and the random KV scenarios with smaller seed counts): it runs from
# raftkv-sim with the mutation profile (root pom.xml, raftkv-sim/pom.xml), in one reactor build
# without installing anything. Prints killed/total and the survivors; the HTML report is in
# raftkv-sim/target/pit-reports/index.html.
#
#   scripts/mutation-test.sh              core and simulator tests (the score docs/testing.md records)
#   scripts/mutation-test.sh --raft-only  raftkv-raft's own tests only
#
# Environment: SIM_SEEDS (default 200) random simulator seeds per SoakTest run under PIT; PIT_TARGET
# the classes to mutate (default: the core, the node runtime and the retry policy,
# "io.raftkv.raft.*,io.raftkv.node.*,io.raftkv.client.retry.*"); MVN_OPTS extra Maven arguments
# (e.g. -o once the plugins are in ~/.m2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=combined
if [[ "${1:-}" == "--raft-only" ]]; then
  mode=raft-only
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--raft-only]" >&2
  exit 2
fi

# shellcheck disable=SC2086
mvn_pit() {
  mvn -B ${MVN_OPTS:-} -Pmutation "-Dpit.sim.seeds=${SIM_SEEDS:-200}" \
    ${PIT_TARGET:+"-Dpit.target=$PIT_TARGET"} "$@"
}

start=$(date +%s)
if [[ $mode == combined ]]; then
  report=raftkv-sim/target/pit-reports/mutations.xml
  log=raftkv-sim/target/pit.log
  mkdir -p raftkv-sim/target
  rm -f "$report"
  mvn_pit -pl raftkv-raft,raftkv-sim -am test-compile org.pitest:pitest-maven:mutationCoverage \
    > "$log" 2>&1 || { tail -50 "$log"; exit 1; }
else
  report=raftkv-raft/target/pit-reports/mutations.xml
  log=raftkv-raft/target/pit.log
  mkdir -p raftkv-raft/target
  rm -f "$report"
  PIT_TARGET="io.raftkv.raft.*"
  mvn_pit -pl raftkv-raft -am -DskipPitest=false test-compile \
    org.pitest:pitest-maven:mutationCoverage > "$log" 2>&1 || { tail -50 "$log"; exit 1; }
fi
elapsed=$(($(date +%s) - start))

grep -E '^>> (Line Coverage|Generated .* mutations|Mutations with no coverage)' "$log" || true
# shellcheck disable=SC2086
python3 - "$mode" "$elapsed" $report <<'PY'
import sys
import xml.etree.ElementTree as ET

mode, elapsed, reports = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
# One entry per mutant; a mutant counts as detected if any run detected it.
by_id = {}
for report in reports:
    for m in ET.parse(report).getroot():
        indexes = m.find("indexes")
        key = tuple(m.findtext(k) for k in
                    ("mutatedClass", "mutatedMethod", "methodDescription", "lineNumber",
                     "mutator")) + (
            ",".join(i.text or "" for i in indexes) if indexes is not None else "",)
        if key not in by_id or m.get("detected") == "true":
            by_id[key] = m
mutations = list(by_id.values())
# PIT counts a mutant that makes a test time out or crash the JVM as killed.
killed = [m for m in mutations if m.get("detected") == "true"]
alive = [m for m in mutations if m.get("detected") != "true"]
total = len(mutations)
print(f"mutation score ({mode}): {len(killed)}/{total} killed "
      f"({100.0 * len(killed) / max(total, 1):.1f} %), {elapsed // 60} min {elapsed % 60} s")
for m in sorted(alive, key=lambda m: (m.findtext("sourceFile"), int(m.findtext("lineNumber")))):
    print(f"  {m.get('status'):11} {m.findtext('sourceFile')}:{m.findtext('lineNumber')} "
          f"{m.findtext('mutatedMethod')}: {m.findtext('description')}")
PY
