#!/usr/bin/env bash
# The perf harness's smoke test (run by scripts/test.sh after the Maven build): builds the WAN
# emulator, brings the topology up, validates one condition briefly, runs one small page load
# through nginx and one through Braid, writes a report to a temporary directory and tears
# everything down. Under 2 minutes. Skips (exit 0, with the reason) only when this machine cannot
# run network namespaces: not root, or no ip netns / TUN.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! why=$(topology_possible); then
  echo "perf smoke test: SKIPPED: $why (the WAN emulation needs root, network namespaces and TUN)"
  exit 0
fi
take_lock 900
out=$(mktemp -d /tmp/braid-perf-smoke.XXXXXX)
exec timeout --foreground 170 bash "$PERF_DIR/scripts/run-all.sh" --smoke --out "$out"
