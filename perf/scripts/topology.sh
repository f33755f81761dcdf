#!/usr/bin/env bash
# The benchmark topology: three network namespaces joined by a fast local segment
# (client <-> pop) and an emulated WAN (pop <-> origin, through perf/target/wanem).
#
#   topology.sh up [wanem options...]   create it (idempotent: an existing one is torn down first)
#                                        and start the emulator, by default without impairments
#   topology.sh down                     stop the emulator and delete the namespaces
#   topology.sh status                   show addresses, routes and the emulator's counters
#
# Addresses and names are in lib.sh. Needs root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

down() {
  wan_stop
  local ns
  for ns in "$NS_CLIENT" "$NS_POP" "$NS_ORIGIN"; do
    if grep -qw "^$ns" <<<"$(ip netns list)"; then
      # Processes still in the namespace would keep it alive; the scripts stop theirs first.
      ip netns del "$ns"
    fi
  done
}

ns_sysctls() {
  local ns=$1
  in_ns "$ns" ip link set lo up
  # Plenty of socket buffer for 100 Mbit/s x 200 ms; the congestion control is set per run.
  in_ns "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 33554432" net.ipv4.tcp_wmem="4096 16384 33554432"
  in_ns "$ns" sysctl -qw net.ipv4.tcp_no_metrics_save=1 net.ipv4.tcp_slow_start_after_idle=0 2>/dev/null || true
  in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="20000 60999"
}

up() {
  down
  bash "$PERF_DIR/wanem/build.sh" >/dev/null
  ip netns add "$NS_CLIENT"
  ip netns add "$NS_POP"
  ip netns add "$NS_ORIGIN"
  local ns
  for ns in "$NS_CLIENT" "$NS_POP" "$NS_ORIGIN"; do ns_sysctls "$ns"; done

  # Fast local segment: client <-> pop.
  ip link add c-pop netns "$NS_CLIENT" type veth peer name pop-c netns "$NS_POP"
  in_ns "$NS_CLIENT" ip addr add "$CLIENT_IP/24" dev c-pop
  in_ns "$NS_POP" ip addr add "$POP_LAN_IP/24" dev pop-c
  in_ns "$NS_CLIENT" ip link set c-pop up
  in_ns "$NS_POP" ip link set pop-c up
  # The client reaches the origin site only through the pop, hence only across the WAN.
  in_ns "$NS_CLIENT" ip route add 198.18.0.0/24 via "$POP_LAN_IP"

  # WAN segment: one persistent TUN in pop and one in origin; the emulator attaches to both.
  # txqueuelen: the default 500 drops silently when the emulator is a moment late reading.
  for ns in "$NS_POP" "$NS_ORIGIN"; do
    in_ns "$ns" ip tuntap add dev "$WAN_IF" mode tun
    in_ns "$ns" ip link set "$WAN_IF" mtu 1500 txqueuelen 10000 up
  done
  in_ns "$NS_POP" ip addr add "$POP_WAN_IP/24" dev "$WAN_IF"
  in_ns "$NS_ORIGIN" ip addr add "$ORIGIN_IP/24" dev "$WAN_IF"
  in_ns "$NS_ORIGIN" ip route add 198.18.1.0/24 dev "$WAN_IF"
  in_ns "$NS_POP" sysctl -qw net.ipv4.ip_forward=1

  wan_set "$@"
  log "topology up: client $CLIENT_IP | pop $POP_LAN_IP / $POP_WAN_IP | origin $ORIGIN_IP (WAN emulator pid $(cat "$STATE_DIR/wanem.pid"))"
}

status() {
  local ns
  for ns in "$NS_CLIENT" "$NS_POP" "$NS_ORIGIN"; do
    echo "== $ns"
    in_ns "$ns" ip -br addr
    in_ns "$ns" ip route
  done
  [ -f "$STATE_DIR/wanem.pid" ] && wan_stats
}

[ "$(id -u)" -eq 0 ] || die "topology.sh needs root (network namespaces, TUN)"
cmd=${1:-}
shift || true
case "$cmd" in
  up) up "$@" ;;
  down) down; log "topology down" ;;
  status) status ;;
  *) echo "usage: $0 up [wanem options...] | down | status" >&2; exit 2 ;;
esac
