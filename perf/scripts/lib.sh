# Shared by the perf scripts: the test topology's names and addresses, and helpers to run things
# inside its namespaces. Source it; it defines no behaviour on its own.
#
#   braid-client  198.18.1.2 ──veth (fast, local)── 198.18.1.1  braid-pop  198.18.0.1 ─┐
#                                                                                     wan0 (TUN)
#                                                                 wanem (user space) ◀─┘  ▲
#   braid-origin  198.18.0.2 ── wan0 (TUN) ◀────────────────────────────────────────────┘
#
# 198.18.0.0/15 is the range set aside for benchmarks (RFC 2544); it exists only inside these
# namespaces, which have no route to anything else. braid-pop forwards between its two segments,
# so "direct" traffic client -> origin crosses the very same emulator as pop -> origin.

PERF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$PERF_DIR/.." && pwd)
STATE_DIR=${BRAID_PERF_STATE:-/run/braid-perf}

# A second topology can run beside the first (say, while a change is being measured) under its
# own prefix and state directory: BRAID_PERF_NS=alt BRAID_PERF_STATE=/run/alt-perf. Numbers taken
# that way share the CPUs with the other run; the report's load average shows it.
NS_PREFIX=${BRAID_PERF_NS:-braid}
[[ "$NS_PREFIX" =~ ^[a-z][a-z0-9]{0,9}$ ]] || { printf 'BRAID_PERF_NS=%s (expected: 1 to 10 lower-case letters or digits, a letter first)\n' "$NS_PREFIX" >&2; exit 2; }
NS_CLIENT=$NS_PREFIX-client
NS_POP=$NS_PREFIX-pop
NS_ORIGIN=$NS_PREFIX-origin
NS_LOOP=$NS_PREFIX-loop

CLIENT_IP=198.18.1.2
POP_LAN_IP=198.18.1.1
POP_WAN_IP=198.18.0.1
ORIGIN_IP=198.18.0.2
WAN_IF=wan0

PYTHON=/usr/bin/python3

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Starts (or restarts) the WAN emulator with the given impairment options (see wanem --help).
# Side A is the point of presence, side B the origin site: "--ab-..." is the direction
# pop -> origin (requests), "--ba-..." origin -> pop (responses, the bulk of the bytes).
wan_set() {
  wan_stop
  local bin
  bin=$(bash "$PERF_DIR/wanem/build.sh")
  mkdir -p "$STATE_DIR"
  : >"$STATE_DIR/wanem.log"
  "$bin" --a "$NS_POP:$WAN_IF" --b "$NS_ORIGIN:$WAN_IF" "$@" </dev/null >/dev/null 2>>"$STATE_DIR/wanem.log" &
  echo $! >"$STATE_DIR/wanem.pid"
  local i
  for i in $(seq 1 50); do
    grep -q '^wanem ready' "$STATE_DIR/wanem.log" && return 0
    kill -0 "$(cat "$STATE_DIR/wanem.pid")" 2>/dev/null || break
    sleep 0.1
  done
  cat "$STATE_DIR/wanem.log" >&2
  die "the WAN emulator did not start"
}

# Stops the emulator (its statistics stay in $STATE_DIR/wanem.log).
wan_stop() {
  local f="$STATE_DIR/wanem.pid" pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Asks the running emulator for its counters; prints the two "wanem dir=..." lines.
wan_stats() {
  local pid
  pid=$(cat "$STATE_DIR/wanem.pid")
  local before
  before=$(grep -c '^wanem dir=' "$STATE_DIR/wanem.log" || true)
  kill -USR1 "$pid"
  local i
  for i in $(seq 1 20); do
    [ "$(grep -c '^wanem dir=' "$STATE_DIR/wanem.log" || true)" -ge $((before + 2)) ] && break
    sleep 0.05
  done
  grep '^wanem dir=' "$STATE_DIR/wanem.log" | tail -2
}

# Reads key=value from a "wanem dir=..." line: stat_of LINE KEY
stat_of() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }

# Can this machine run the topology? (root, ip netns, TUN)
topology_possible() {
  [ "$(id -u)" -eq 0 ] || { echo "not root"; return 1; }
  command -v ip >/dev/null || { echo "iproute2 (ip) is missing"; return 1; }
  [ -c /dev/net/tun ] || { echo "/dev/net/tun is missing"; return 1; }
  if ! ip netns add braid-probe 2>/dev/null; then
    echo "network namespaces are unavailable (ip netns add failed)"
    return 1
  fi
  ip netns del braid-probe
  return 0
}

# One benchmark at a time on a machine: the namespaces have fixed names. Waits up to $1 seconds
# for another run to finish. The lock lives as long as the calling shell (fd 9).
take_lock() {
  [ "${BRAID_PERF_LOCKED:-}" = 1 ] && return 0
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR.lock"
  flock -w "$1" 9 || die "another benchmark run holds $STATE_DIR.lock"
  export BRAID_PERF_LOCKED=1
}
