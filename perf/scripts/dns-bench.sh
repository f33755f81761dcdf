#!/usr/bin/env bash
# DNS benchmark: queries per second of NSD and of the redirector side by side, in one run, with
# dnsperf on loopback. Static answers (explicit zone records) and the selection path (site names)
# are measured separately; prints each rate and the redirector/NSD ratio. Not part of mvn verify.
# Usage: perf/scripts/dns-bench.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN="${1:-10}"
for bin in /usr/sbin/nsd dnsperf java mvn; do
  command -v "$bin" >/dev/null 2>&1 || { echo "dns-bench: $bin is missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The conformance test's zones and configuration, written by the DnsBenchSetup helper.
mvn -B -q -pl redirector -am test-compile -DskipTests >/dev/null
cp_file="$work/cp.txt"
mvn -B -q -pl redirector dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test >/dev/null
CP="redirector/target/test-classes:redirector/target/classes:managers/target/classes:runtime/target/classes:$(cat "$cp_file")"
NSD_PORT=$((20000 + RANDOM % 20000)); OUR_PORT=$((NSD_PORT + 1))
java -cp "$CP" dev.braid.redirector.DnsBenchServer "$work" "$NSD_PORT" "$OUR_PORT" > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "ready" "$work/server.log" 2>/dev/null && break; sleep 0.2; done
grep -q "ready" "$work/server.log" || { cat "$work/server.log"; exit 1; }

printf 'www.conf.example A\nmail.conf.example AAAA\nalias.conf.example A\nnothing.conf.example A\n' > "$work/static.txt"
printf 'www.conf.example A\nwww.conf.example AAAA\nwww.other.test A\n' > "$work/site.txt"
run() { dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$SECONDS_PER_RUN" -c 8 -Q 500000 2>/dev/null \
  | awk '/Queries per second/ {print $4}'; }
for kind in static site; do
  nsd_qps=$(run "$NSD_PORT" "$work/$kind.txt")
  our_qps=$(run "$OUR_PORT" "$work/$kind.txt")
  ratio=$(awk -v a="$our_qps" -v b="$nsd_qps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf '%-7s NSD %10s q/s   redirector %10s q/s   ratio %s\n' "$kind" "$nsd_qps" "$our_qps" "$ratio"
done
