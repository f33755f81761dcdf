#!/usr/bin/env bash
# DNS benchmark: NSD and the redirector side by side, in one run, with dnsperf on loopback. Static
# answers (explicit zone records, a CNAME, NXDOMAIN) and the selection path (site names) are
# measured separately, each twice, alternating servers, after a warm-up of the redirector's JIT.
# For every run it prints queries per second, the server's CPU time per query (user + system, all
# its threads and processes; robust on a shared machine, where q/s follows the neighbours' load),
# and dnsperf's own CPU per query (near 100% of a core means the load generator, not the server, is
# the limit). Ends with the redirector/NSD ratios of both. Not part of mvn verify.
#
# Usage: perf/scripts/dns-bench.sh [seconds per run, default 10] [transport, default epoll] [loops, default 1]
#   loops: the redirector's event loops (one UDP socket each, SO_REUSEPORT) and NSD's server-count.
#   Environment: DNSPERF_OPTS (default "-c 8 -q 200": 8 client sockets, 200 queries outstanding);
#   DNS_CSV=FILE also appends one row per measured run to FILE (run-all.sh's dns phase uses it).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN="${1:-10}"
TRANSPORT="${2:-epoll}"
LOOPS="${3:-1}"
DNSPERF_OPTS="${DNSPERF_OPTS:--c 8 -q 200}"
for bin in /usr/sbin/nsd dnsperf java mvn; do
  command -v "$bin" >/dev/null 2>&1 || { echo "dns-bench: $bin is missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
work="$(mktemp -d)"
server=""
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

# The conformance test's zones and configuration, served by the DnsBenchServer helper.
mvn -B -q -pl redirector -am test-compile -DskipTests >/dev/null
mvn -B -q -pl redirector dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=test >/dev/null
CP="redirector/target/test-classes:redirector/target/classes:managers/target/classes:runtime/target/classes:$(cat "$work/cp.txt")"
NSD_PORT=$((20000 + RANDOM % 20000)); OUR_PORT=$((NSD_PORT + 1))
# Leak detection off, as a production node runs it: its sampling costs about a tenth of the path.
java -Dio.netty.leakDetection.level=disabled -cp "$CP" dev.braid.redirector.DnsBenchServer \
  "$work" "$NSD_PORT" "$OUR_PORT" "$TRANSPORT" "$LOOPS" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do grep -q "^ready" "$work/server.log" 2>/dev/null && break; sleep 0.2; done
grep -q "^ready" "$work/server.log" || { cat "$work/server.log"; exit 1; }
nsd_pids=$(pgrep -f "nsd -d -c $work/nsd.conf" | tr '\n' ' ')
grep -o "answering DNS.*" "$work/server.log" | sed 's/^/redirector: /'
echo "nsd: server-count $LOOPS; dnsperf $DNSPERF_OPTS; $SECONDS_PER_RUN s per run"

printf 'www.conf.example A\nmail.conf.example AAAA\nalias.conf.example A\nnothing.conf.example A\n' > "$work/static.txt"
printf 'www.conf.example A\nwww.conf.example AAAA\nwww.other.test A\n' > "$work/site.txt"

# CPU clock ticks (user + system) of the given processes; the command name may hold spaces.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
# run PORT FILE SECONDS PIDS... -> "q/s server-us/query dnsperf-us/query"
run() {
  local port=$1 file=$2 secs=$3; shift 3
  local t0 t1; t0=$(ticks "$@")
  # shellcheck disable=SC2086
  /usr/bin/time -f "%U %S" -o "$work/perf.time" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$secs" $DNSPERF_OPTS \
    > "$work/perf.out" 2>/dev/null
  t1=$(ticks "$@")
  awk -v t=$((t1 - t0)) -v hz="$hz" -v pt="$(cat "$work/perf.time")" '
    /Queries completed/ {q = $3} /Queries per second/ {qps = $4}
    END { split(pt, p, " "); printf "%d %.2f %.2f\n", qps, (q > 0 ? t * 1e6 / hz / q : 0), (q > 0 ? (p[1] + p[2]) * 1e6 / q : 0) }' \
    "$work/perf.out"
}

# Warm-up: the redirector's JIT compiles the paths before anything is measured.
run "$OUR_PORT" "$work/static.txt" 4 "$server" >/dev/null
run "$OUR_PORT" "$work/site.txt" 4 "$server" >/dev/null

declare -A nsd_q nsd_c our_q our_c
for round in 1 2; do
  for kind in static site; do
    read -r nq nc np <<<"$(run "$NSD_PORT" "$work/$kind.txt" "$SECONDS_PER_RUN" $nsd_pids)"
    read -r oq oc op <<<"$(run "$OUR_PORT" "$work/$kind.txt" "$SECONDS_PER_RUN" "$server")"
    printf '%-6s round %d: NSD %7d q/s %5.2f us/q (dnsperf %5.2f us/q) | redirector %7d q/s %5.2f us/q (dnsperf %5.2f us/q)\n' \
      "$kind" "$round" "$nq" "$nc" "$np" "$oq" "$oc" "$op"
    if [ -n "${DNS_CSV:-}" ]; then
      [ -s "$DNS_CSV" ] || echo "kind,round,server,queries_per_s,server_cpu_us_per_query,dnsperf_cpu_us_per_query,seconds,loops,transport" >"$DNS_CSV"
      echo "$kind,$round,nsd,$nq,$nc,$np,$SECONDS_PER_RUN,$LOOPS,$TRANSPORT" >>"$DNS_CSV"
      echo "$kind,$round,braid,$oq,$oc,$op,$SECONDS_PER_RUN,$LOOPS,$TRANSPORT" >>"$DNS_CSV"
    fi
    nsd_q[$kind]=$(( ${nsd_q[$kind]:-0} + nq )); our_q[$kind]=$(( ${our_q[$kind]:-0} + oq ))
    nsd_c[$kind]=$(awk -v a="${nsd_c[$kind]:-0}" -v b="$nc" 'BEGIN {print a + b}')
    our_c[$kind]=$(awk -v a="${our_c[$kind]:-0}" -v b="$oc" 'BEGIN {print a + b}')
  done
done
for kind in static site; do
  awk -v k="$kind" -v nq="${nsd_q[$kind]}" -v oq="${our_q[$kind]}" -v nc="${nsd_c[$kind]}" -v oc="${our_c[$kind]}" 'BEGIN {
    printf "%-6s NSD %7d q/s %5.2f us/q | redirector %7d q/s %5.2f us/q | ratio q/s %.2f, CPU per query %.2f (NSD / redirector: above 1 is faster)\n",
      k, nq / 2, nc / 2, oq / 2, oc / 2, (nq > 0 ? oq / nq : 0), (oc > 0 ? nc / oc : 0) }'
done
