#!/usr/bin/env bash
# Smoke test of the all-in-one demo: starts `braid demo` from the jar the build produced, waits
# until the front-end serves the shop page, checks HTTP through the TMP link, DNS from the
# redirector over UDP and TCP, the managers' config API and every admin /metrics endpoint, then
# stops the demo with SIGINT and checks it exits cleanly and in time, leaving no listeners.
# The demo is always stopped when this script ends, however it ends.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jar=cli/target/braid.jar
start_timeout=${BRAID_SMOKE_START_TIMEOUT:-60}   # seconds until the front-end must serve /
settle_timeout=10                                # seconds a check may retry while state propagates
stop_timeout=15                                  # seconds to exit after SIGINT

# What the demo listens on (README.md, "What the demo runs where"): the back-end takes TMP links on
# 7070 over UDP and, as the fallback, TCP.
tcp_ports=(8000 7070 7071 8080 8081 5300 5380 9180)
udp_ports=(5300 7070)

checks=0
failures=0
demo_pid=""
log=""

ok() { checks=$((checks + 1)); printf '  ok    %s\n' "$*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); printf '  FAIL  %s\n' "$*"; }
say() { printf 'demo-smoke: %s\n' "$*"; }
indent() { sed 's/^/          /'; }

show_log() {
  if [ -n "$log" ] && [ -s "$log" ]; then
    say "last lines of the demo's output ($log):"
    tail -n 40 "$log" | indent
  fi
}

cleanup() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    say "stopping the demo (pid $demo_pid)"
    kill -TERM "$demo_pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$demo_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$demo_pid" 2>/dev/null; then
      kill -KILL "$demo_pid" 2>/dev/null
    fi
    wait "$demo_pid" 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# listening tcp|udp PORT: is anything on this machine listening there?
listening() {
  local proto=$1 port=$2
  if command -v ss >/dev/null 2>&1; then
    local flag=-ltn
    [ "$proto" = udp ] && flag=-lun
    [ -n "$(ss -H "$flag" "sport = :$port" 2>/dev/null)" ]
  elif [ "$proto" = tcp ]; then
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$port" 2>/dev/null
  else
    return 1 # without ss a UDP listener cannot be seen; the DNS checks cover 5300/udp
  fi
}

# eventually SECONDS FUNCTION: runs FUNCTION until it succeeds or SECONDS have passed.
eventually() {
  local deadline=$((SECONDS + $1))
  until "$2"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

# ---------------------------------------------------------------- preconditions

if [ ! -f "$jar" ]; then
  say "$jar not found; build it first (mvn -B verify, or mvn -B -DskipTests package)"
  exit 1
fi
for tool in java curl dig; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is not installed; run scripts/install-deps.sh"
    exit 1
  fi
done
busy=()
for p in "${tcp_ports[@]}"; do listening tcp "$p" && busy+=("$p/tcp"); done
for p in "${udp_ports[@]}"; do listening udp "$p" && busy+=("$p/udp"); done
if [ "${#busy[@]}" -ne 0 ]; then
  say "ports the demo needs are in use: ${busy[*]}; stop whatever listens there and retry"
  exit 1
fi

# ---------------------------------------------------------------- start

log=$(mktemp -t braid-demo-smoke.XXXXXX)
say "starting: java -jar $jar demo (output in $log)"
# A background job of a script without job control starts with SIGINT ignored, and the JVM then
# never installs its SIGINT handler; with job control on, the demo keeps SIGINT's default.
set -m
java -jar "$jar" demo >"$log" 2>&1 &
demo_pid=$!
set +m

say "waiting up to ${start_timeout}s for http://127.0.0.1:8080/ to answer 200"
deadline=$((SECONDS + start_timeout))
status=000
while :; do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    wait "$demo_pid"
    say "the demo exited during start-up (status $?)"
    show_log
    exit 1
  fi
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:8080/)
  [ "$status" = 200 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "the front-end did not serve / within ${start_timeout}s (last status: $status)"
    show_log
    exit 1
  fi
  sleep 0.5
done
say "up after ${SECONDS}s; checking"

# ---------------------------------------------------------------- checks

response=$(curl -si --max-time 10 http://127.0.0.1:8080/)
# Here-strings, not `printf | head`: a reader that stops early would kill the writer with SIGPIPE,
# which pipefail turns into a failed check on a long page.
status_line=$(head -n 1 <<<"$response" | tr -d '\r')
headers=$(sed '/^\r\{0,1\}$/q' <<<"$response" | tr -d '\r')
body=$(sed '1,/^\r\{0,1\}$/d' <<<"$response")
if [[ "$status_line" =~ ^HTTP/1\.1\ 200 ]]; then
  ok "front-end GET / -> $status_line"
else
  bad "front-end GET / -> '${status_line}' (expected: HTTP/1.1 200)"
fi
via=$(grep -i '^via:' <<<"$headers")
if [ -n "$via" ]; then ok "front-end response has $via"; else bad "front-end response has no Via header"; fi
x_cache=$(grep -i '^x-cache:' <<<"$headers")
if [ -n "$x_cache" ]; then ok "front-end response has $x_cache"; else bad "front-end response has no X-Cache header"; fi
if grep -q '<title>Braid demo shop</title>' <<<"$body"; then
  ok "front-end served the sample origin's shop page"
else
  bad "front-end body is not the shop page; it starts with:"
  head -c 300 <<<"$body" | indent
fi

object_size=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 10 http://127.0.0.1:8000/objects/1k)
if [ "$object_size" = "200 1024" ]; then
  ok "sample origin GET /objects/1k -> 200, 1024 bytes"
else
  bad "sample origin GET /objects/1k -> '$object_size' (expected: 200 1024)"
fi

dns_answer=""
dig_udp() { dns_answer=$(dig @127.0.0.1 -p 5300 www.shop.example A +short +time=2 +tries=1 2>&1); grep -qx '127.0.0.1' <<<"$dns_answer"; }
dig_tcp() { dns_answer=$(dig @127.0.0.1 -p 5300 www.shop.example A +short +tcp +time=2 +tries=1 2>&1); grep -qx '127.0.0.1' <<<"$dns_answer"; }
if eventually "$settle_timeout" dig_udp; then
  ok "redirector (UDP) www.shop.example A -> 127.0.0.1"
else
  bad "redirector (UDP) www.shop.example A -> '$(tr '\n' ' ' <<<"$dns_answer")' (expected: 127.0.0.1)"
fi
if eventually "$settle_timeout" dig_tcp; then
  ok "redirector (TCP) www.shop.example A -> 127.0.0.1"
else
  bad "redirector (TCP) www.shop.example A -> '$(tr '\n' ' ' <<<"$dns_answer")' (expected: 127.0.0.1)"
fi

config=$(curl -s --max-time 10 -w '\n%{http_code}' http://127.0.0.1:9180/api/v1/config)
config_status=$(tail -n 1 <<<"$config")
config_body=$(sed '$d' <<<"$config")
if [ "$config_status" = 200 ] && grep -q '^[[:space:]]*{' <<<"$config_body" \
    && grep -Eq '"version"[[:space:]]*:[[:space:]]*[0-9"]' <<<"$config_body"; then
  ok "managers GET /api/v1/config -> 200, JSON with $(grep -Eo '"version"[[:space:]]*:[[:space:]]*"?[^,}"]*"?' <<<"$config_body" | head -n 1)"
else
  bad "managers GET /api/v1/config -> $config_status (expected: 200 and JSON with a \"version\"); body starts with:"
  head -c 300 <<<"$config_body" | indent
fi

for admin in front-end:8081 back-end:7071 redirector:5380 managers:9180; do
  role=${admin%%:*}
  port=${admin##*:}
  metrics=$(curl -s --max-time 10 -w '\n%{http_code}' "http://127.0.0.1:$port/metrics")
  metrics_status=$(tail -n 1 <<<"$metrics")
  families=$(grep -c '^# TYPE braid_' <<<"$metrics")
  if [ "$metrics_status" = 200 ] && [ "$families" -gt 0 ]; then
    ok "$role GET :$port/metrics -> 200, $families braid_ metric families"
  else
    bad "$role GET :$port/metrics -> $metrics_status with $families braid_ metric families (expected: 200, at least one)"
  fi
done

# ---------------------------------------------------------------- stop

say "sending SIGINT to the demo (pid $demo_pid)"
kill -INT "$demo_pid"
deadline=$((SECONDS + stop_timeout))
while kill -0 "$demo_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 0.2
done
if kill -0 "$demo_pid" 2>/dev/null; then
  bad "the demo is still running ${stop_timeout}s after SIGINT"
else
  wait "$demo_pid"
  exit_status=$?
  demo_pid=""
  if [ "$exit_status" -eq 0 ] || [ "$exit_status" -eq 130 ]; then
    ok "the demo exited after SIGINT with status $exit_status"
  else
    bad "the demo exited after SIGINT with status $exit_status (expected: 0 or 130)"
  fi
  left=()
  for p in "${tcp_ports[@]}"; do listening tcp "$p" && left+=("$p/tcp"); done
  for p in "${udp_ports[@]}"; do listening udp "$p" && left+=("$p/udp"); done
  if [ "${#left[@]}" -eq 0 ]; then
    ok "no listeners left on the demo's ports"
  else
    bad "still listening after the demo exited: ${left[*]}"
  fi
fi

if [ "$failures" -ne 0 ]; then
  show_log
  say "$failures of $checks checks FAILED"
  exit 1
fi
say "all $checks checks passed"
rm -f "$log"
