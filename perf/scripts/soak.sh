#!/usr/bin/env bash
# The mixed soak (not part of mvn verify): the whole system (SoakSystem: the demo on ephemeral
# loopback ports) under a mixed load (SoakLoad) for --minutes, with Netty's leak detector on.
# Every --interval seconds it forces a full GC in the system's JVM (jcmd GC.run) and samples its
# open file descriptors (/proc/PID/fd), heap used after that GC (from its GC log), threads and RSS into
# samples.csv. The verdict, in verdict.txt and on the last line: FLAT when, over the samples after
# the first fifth (warm-up), the least-squares slopes of descriptors and heap stay under the
# thresholds, no leak was reported and no request failed; otherwise GROWING or FAILED, exit 1.
#
#   perf/scripts/soak.sh [--minutes 30] [--interval 10] [--clients 8] [--leak-level paranoid]
#                        [--out DIR] [--transport nio|epoll|io_uring]
#                        [--max-fd-slope 1] [--max-heap-slope-mib 2]      (per minute)
#
# Needs cli/target/braid.jar and perf/target/classes (built when missing:
# mvn -B -q -DskipTests -pl perf -am package), a JDK with jcmd, Linux /proc.
set -euo pipefail

PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$PERF_DIR/.." && pwd)

minutes=30 interval=10 clients=8 leak=paranoid transport="" out=""
max_fd_slope=1 max_heap_slope_mib=2
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --leak-level) leak=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-fd-slope) max_fd_slope=$2; shift 2 ;;
    --max-heap-slope-mib) max_heap_slope_mib=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$minutes" in ''|*[!0-9.]*) echo "soak.sh: --minutes: $minutes (expected: a number)" >&2; exit 2 ;; esac
case "$interval" in ''|*[!0-9]*|0) echo "soak.sh: --interval: $interval (expected: whole seconds >= 1)" >&2; exit 2 ;; esac

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

jar="$REPO_DIR/cli/target/braid.jar"
classes="$PERF_DIR/target/classes"
if [ ! -f "$jar" ] || [ ! -f "$classes/dev/braid/perf/soak/SoakSystem.class" ]; then
  log "building braid.jar and the perf classes"
  (cd "$REPO_DIR" && mvn -B -q -DskipTests -pl perf -am package)
fi
cp="$jar:$classes"
out=${out:-"$PERF_DIR/results/soak-$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$out"
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

ports="$out/ports"
rm -f "$ports"
log "starting the system (leak detection: $leak) -> $out/system.log"
java -Xmx512m -Dio.netty.leakDetection.level="$leak" -Xlog:gc:file="$out/gc.log" \
  -cp "$cp" dev.braid.perf.soak.SoakSystem "$ports" $transport \
  >"$out/system.log" 2>&1 &
sys_pid=$!
load_pid=""
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  kill "$sys_pid" 2>/dev/null || true
  wait "$sys_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  [ -f "$ports" ] && break
  kill -0 "$sys_pid" 2>/dev/null || { cat "$out/system.log" >&2; log "the system exited"; exit 1; }
  sleep 0.1
done
[ -f "$ports" ] || { log "the system did not start within 30 s"; exit 1; }
fe=$(sed -n 's/^frontEnd=//p' "$ports")
log "front-end on 127.0.0.1:$fe, system pid $sys_pid; load: $clients clients for $minutes min"

java -Xmx512m -cp "$cp" dev.braid.perf.soak.SoakLoad "$fe" "$seconds" "$clients" >"$out/load.log" 2>&1 &
load_pid=$!

csv="$out/samples.csv"
echo "epoch_s,elapsed_s,fds,heap_used_bytes,threads,rss_kib,load_ok" >"$csv"
start=$(date +%s)
sample() {
  local now fds heap threads rss ok
  now=$(date +%s)
  fds=$( (ls "/proc/$sys_pid/fd" 2>/dev/null || true) | wc -l)
  # The heap right after the full GC jcmd asked for, as the GC log says ("Pause Full (Diagnostic
  # Command) 60M->22M(256M)"): read after the fact, heap_info would count what the load allocated since.
  jcmd "$sys_pid" GC.run >/dev/null 2>&1 || true
  heap=$( (grep 'Pause Full' "$out/gc.log" 2>/dev/null || true) | tail -1 | sed -n 's/.*->\([0-9]*\)M(.*/\1/p')
  heap=$(( ${heap:-0} * 1024 ))
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$sys_pid/status" 2>/dev/null || echo 0)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$sys_pid/status" 2>/dev/null || echo 0)
  ok=$( (grep -o 'ok=[0-9]*' "$out/load.log" 2>/dev/null || true) | tail -1 | cut -d= -f2)
  echo "$now,$((now - start)),$fds,$((heap * 1024)),$threads,$rss,${ok:-0}" >>"$csv"
}
while kill -0 "$load_pid" 2>/dev/null; do
  kill -0 "$sys_pid" 2>/dev/null || { log "the system died; see $out/system.log"; break; }
  sample
  sleep "$interval"
done
load_status=0
wait "$load_pid" || load_status=$?
load_pid=""
sample
log "load ended (status $load_status): $(grep '^load done' "$out/load.log" || echo 'no summary')"

leaks=$(grep -c 'LEAK:' "$out/system.log" || true)
# Least-squares slopes per minute over the samples after the first fifth.
read -r n fd_slope heap_slope fd_first fd_last heap_first heap_last < <(awk -F, -v skip_frac=0.2 '
  NR == 1 { next }
  { t[NR] = $2; f[NR] = $3; h[NR] = $4; rows = NR }
  END {
    first = 2 + int((rows - 1) * skip_frac); n = 0
    for (i = first; i <= rows; i++) { n++; st += t[i]; sf += f[i]; sh += h[i]; stt += t[i] * t[i]; stf += t[i] * f[i]; sth += t[i] * h[i] }
    d = n * stt - st * st
    fs = d == 0 ? 0 : (n * stf - st * sf) / d * 60
    hs = d == 0 ? 0 : (n * sth - st * sh) / d * 60 / 1048576
    printf "%d %.3f %.3f %d %d %d %d\n", n, fs, hs, f[first], f[rows], h[first], h[rows]
  }' "$csv")

verdict=FLAT
reasons=()
if [ "$load_status" -ne 0 ]; then verdict=FAILED; reasons+=("requests failed (load.log)"); fi
if [ "$leaks" -gt 0 ]; then verdict=FAILED; reasons+=("$leaks leak report(s) in system.log"); fi
if [ "$n" -lt 3 ]; then verdict=FAILED; reasons+=("only $n samples after warm-up"); fi
if awk -v s="$fd_slope" -v m="$max_fd_slope" 'BEGIN { exit !(s > m) }'; then
  [ "$verdict" = FLAT ] && verdict=GROWING; reasons+=("descriptors grow $fd_slope per minute (max $max_fd_slope)")
fi
if awk -v s="$heap_slope" -v m="$max_heap_slope_mib" 'BEGIN { exit !(s > m) }'; then
  [ "$verdict" = FLAT ] && verdict=GROWING; reasons+=("heap grows $heap_slope MiB per minute (max $max_heap_slope_mib)")
fi
{
  echo "soak: $minutes min, $clients clients, leak detection $leak, samples every ${interval}s: $csv"
  echo "load: $(grep '^load done' "$out/load.log" || echo 'no summary')"
  echo "descriptors: $fd_first -> $fd_last, slope $fd_slope per minute over $n samples after warm-up (max $max_fd_slope)"
  echo "heap after GC: $((heap_first / 1048576)) -> $((heap_last / 1048576)) MiB, slope $heap_slope MiB per minute (max $max_heap_slope_mib)"
  echo "leak reports: $leaks"
  echo "verdict: $verdict${reasons[*]:+ (${reasons[*]})}"
} | tee "$out/verdict.txt"
[ "$verdict" = FLAT ]
