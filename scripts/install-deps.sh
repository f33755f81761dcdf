#!/usr/bin/env bash
# Installs the Debian packages Braid's tests and demo checks need. Idempotent: packages that dpkg
# reports installed are skipped, and apt-get runs (update once, then install) only when something
# is missing. Runs as root, or through sudo when not root.
set -euo pipefail

# One package per line, with what needs it. Add new ones here.
PACKAGES=(
  bind9-dnsutils   # dig: DNS checks of the redirector (demo smoke test)
  curl             # HTTP checks of the front-end and admin ports (demo smoke test)
  nsd              # the redirector's conformance test and DNS benchmark peer
  bind9            # named: RFC 2136 target for the redirector's external mode
  dnsperf          # DNS load generator (perf/scripts/dns-bench.sh)
  etcd-server      # etcd: the managers' cluster store (ManagersClusterIT starts its own members)
  chromium         # headless browser: the ops console test drives it over the DevTools protocol
  # perf/: WAN emulation and side-by-side comparisons (perf smoke test and perf/scripts/run-all.sh)
  iproute2           # ip netns, veth, addresses and routes of the test topology
  iputils-ping       # RTT validation of the WAN emulator
  iperf3             # rate and loss validation; kernel TCP baselines (BBR, CUBIC)
  gcc                # builds the WAN emulator (perf/wanem/wanem.c)
  libc6-dev          # headers for the emulator (linux/if_tun.h comes with linux-libc-dev)
  nginx              # peer: reverse proxy with and without proxy_cache; origin content server
  varnish            # peer: loopback cache-hit test
  wrk                # cache-hit load (100 connections, 1 KB objects)
  python3-matplotlib # plots of the report (run by /usr/bin/python3)
)

log() { printf 'install-deps: %s\n' "$*"; }

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  log "this script needs a Debian-like system (dpkg, apt-get); install these yourself: ${PACKAGES[*]}" >&2
  exit 1
fi

# No pipe into `grep -q`: it exits at the first match, the writer then dies of SIGPIPE, and under
# pipefail a package with a long status record (libc6-dev's is 4.6 KB) reads as missing at random.
# Multi-arch packages may be installed for several architectures: any one installed instance counts.
is_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null || true)"
  [[ $'\n'"$status"$'\n' == *$'\n'"install ok installed"$'\n'* ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! is_installed "$p"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  log "all present: ${PACKAGES[*]}"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    log "missing ${missing[*]}, and installing them needs root or sudo" >&2
    exit 1
  fi
fi

log "installing: ${missing[*]}"
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update -qq
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

for p in "${missing[@]}"; do
  if ! is_installed "$p"; then
    log "$p is still not installed after apt-get install" >&2
    exit 1
  fi
done
log "installed: ${missing[*]}"
