#!/usr/bin/env bash
# phases.sh PORT KEY [RUNS]: PhaseTrace (clt's -p GET path with time marks) on JDK 17 without and
# with an AppCDS archive, and on JDK 25 without and with an AOT cache, alternating, RUNS times
# each (default 21); prints the median of each phase in ms. Run from the repository's root after
# mvn package, with a raftkv node serving KEY at 127.0.0.1:PORT. JDK 25: $J25 (default
# /usr/lib/jvm/temurin-25-jdk-amd64).
set -euo pipefail
port=$1 key=$2 runs=${3:-21}
j25=${J25:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
here="$(cd "$(dirname "$0")" && pwd)"
lib="$(pwd)/build/lib"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp="$(<"$lib/clt.classpath")"
cp="${cp//@LIB@/$lib}"
javac -d "$work/classes" -cp "$cp" "$here/PhaseTrace.java"
jar cf "$work/trace.jar" -C "$work/classes" .
cp="$work/trace.jar:$cp"
# clt's own flags (bin/clt), and on JDK 25 the ones that keep its output clean.
c1=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -XX:-UsePerfData)
q25=(--sun-misc-unsafe-memory-access=allow -Xlog:aot*=off -Xlog:cds*=off)
main=(io.raftkv.client.PhaseTrace "$port" "$key")
java "${c1[@]}" -XX:ArchiveClassesAtExit="$work/t.jsa" -Xlog:cds=off -Dt0=0 -cp "$cp" "${main[@]}" >/dev/null 2>&1
"$j25" "${c1[@]}" "${q25[@]}" -XX:AOTMode=record -XX:AOTConfiguration="$work/t.conf" -Dt0=0 \
  -cp "$cp" "${main[@]}" >/dev/null 2>&1
"$j25" "${c1[@]}" "${q25[@]}" -XX:AOTMode=create -XX:AOTConfiguration="$work/t.conf" \
  -XX:AOTCache="$work/t.aot" -cp "$cp" >/dev/null 2>&1
names=(jdk17-nocds jdk17-appcds jdk25-nocache jdk25-aot)
run() {
  case $1 in
  jdk17-nocds) java "${c1[@]}" -Dt0="$2" -cp "$cp" "${main[@]}" ;;
  jdk17-appcds) java "${c1[@]}" -XX:SharedArchiveFile="$work/t.jsa" -Xlog:cds=off -Dt0="$2" -cp "$cp" "${main[@]}" ;;
  jdk25-nocache) "$j25" "${c1[@]}" "${q25[@]}" -Dt0="$2" -cp "$cp" "${main[@]}" ;;
  jdk25-aot) "$j25" "${c1[@]}" "${q25[@]}" -XX:AOTCache="$work/t.aot" -Dt0="$2" -cp "$cp" "${main[@]}" ;;
  esac
}
for ((r = 0; r < runs; r++)); do
  order=("${names[@]}")
  ((r % 2)) && order=(jdk25-aot jdk25-nocache jdk17-appcds jdk17-nocds)
  for n in "${order[@]}"; do
    t0=$(date +%s%N)
    phases=$(run "$n" "$t0" 2>&1 >/dev/null)
    t1=$(date +%s%N)
    echo "$n $phases $(((t1 - t0) / 100000))" >>"$work/runs"
  done
done
echo "medians of $runs runs, ms: start->main | channel | GET | shutdown | exit | total (load average $(cut -d' ' -f1-3 /proc/loadavg))"
for n in "${names[@]}"; do
  printf '%-14s' "$n"
  for col in 2 3 4 5 6; do
    # exit = total - the four phases; total is in tenths of ms
    awk -v n="$n" -v c="$col" '$1 == n { if (c < 6) print $c; else print $6 / 10 - $2 - $3 - $4 - $5 }' "$work/runs" |
      sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf " %7.1f", m }'
  done
  awk -v n="$n" '$1 == n { print $6 / 10 }' "$work/runs" | sort -g |
    awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf " %7.1f\n", m }'
done
