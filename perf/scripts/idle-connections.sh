#!/usr/bin/env bash
# The full idle-connection bound (not part of mvn verify, which runs 10,000): IdleConnectionsIT with
# N idle keep-alive connections (default 100,000) held by a front-end in a child JVM with
# -Xmx1g -XX:MaxDirectMemorySize=512m, opened from several loopback source addresses. The children
# raise their descriptor limit to N + 2,000: run as root, or raise the hard limit first
# (e.g. /etc/security/limits.conf); otherwise the test is skipped and says why. The figures (time
# to open, heap after GC and direct memory per connection) are printed at the end.
#
#   perf/scripts/idle-connections.sh [N] [nio|epoll|io_uring]     (the front-end's transport; default nio)
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=${1:-100000}
transport=${2:-nio}
case "$n" in ''|*[!0-9]*) echo "idle-connections.sh: N: $n (expected: a whole number)" >&2; exit 2 ;; esac
cd "$REPO_DIR"
status=0
mvn -B -pl cli -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=IdleConnectionsIT -Dfailsafe.failIfNoSpecifiedTests=false -Dbraid.it.idleConnections="$n" \
  -Dbraid.it.idleTransport="$transport" || status=$?
grep -h 'idle connections:\|Tests run\|Skipped\|cannot raise' \
  cli/target/failsafe-reports/dev.braid.cli.reliability.IdleConnectionsIT-output.txt \
  cli/target/failsafe-reports/dev.braid.cli.reliability.IdleConnectionsIT.txt 2>/dev/null || true
exit $status
