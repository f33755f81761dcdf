#!/usr/bin/env bash
# Braid's one test command: installs the system packages the tests need, runs the full Maven build
# with unit and integration tests (mvn -B verify), then the demo smoke test and the perf harness's
# smoke test (WAN emulation in network namespaces; skipped with a message when not root) against
# the jar that build produced. Arguments are passed to Maven (e.g. -o for offline). Exits non-zero if any step
# fails; a step after a failed one is skipped, because it would test stale or missing artifacts.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

names=()
results=()
failed=0

step() {
  local name=$1
  shift
  names+=("$name")
  if [ "$failed" -ne 0 ]; then
    results+=("SKIP")
    return
  fi
  printf '\n==> %s: %s\n' "$name" "$*"
  local start=$SECONDS
  if "$@"; then
    results+=("PASS  $((SECONDS - start))s")
  else
    results+=("FAIL  $((SECONDS - start))s (exit $?)")
    failed=1
  fi
}

step "system packages" bash scripts/install-deps.sh
step "build, unit and integration tests" mvn -B verify "$@"
step "demo smoke test" bash scripts/demo-smoke.sh
step "perf smoke test" bash perf/scripts/smoke.sh

printf '\n==> summary\n'
for i in "${!names[@]}"; do
  printf '  %-36s %s\n' "${names[$i]}" "${results[$i]}"
done
if [ "$failed" -ne 0 ]; then
  printf 'FAILED\n'
  exit 1
fi
printf 'ALL PASSED\n'
