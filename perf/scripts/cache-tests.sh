#!/usr/bin/env bash
# Runs the HTTP caching test suite of cache-tests.fyi (npm package http-cache-tests) against
# Braid's front-end cache: the suite's own origin server on 127.0.0.1:8000, a back-end and a
# front-end in front of it (127.0.0.1:8080), every test of the suite through the front-end, and a
# summary by kind (required, optimal, check) with each failure named. Loopback only; about a
# minute. The suite is fetched from the npm registry into a scratch directory, never into the tree.
#
#   perf/scripts/cache-tests.sh [--out DIR] [--id TEST-ID]
#
#   --out DIR   where the results (results.json, summary.txt, logs) go (default: a new temporary directory)
#   --id ID     run one test and print its requests and responses instead
#
# Needs node and npm (installed here when missing) and cli/target/braid.jar (built when missing).
set -euo pipefail

SUITE_VERSION=0.4.5
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JAR=$REPO_DIR/cli/target/braid.jar
OUT=
ID=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift ;;
    --id) ID=$2; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "$1: unknown option (expected: --out DIR, --id TEST-ID)" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-$(mktemp -d /tmp/braid-cache-tests.XXXXXX)}
mkdir -p "$OUT"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing nodejs and npm"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$JAR" ]; then
  log "building $JAR"
  (cd "$REPO_DIR" && mvn -B -q -DskipTests package)
fi
for port in 8000 8080 8081 7070 7071; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is in use (a demo running?): stop it first" >&2
    exit 1
  fi
done

SUITE_DIR=$OUT/suite
if [ ! -d "$SUITE_DIR/node_modules/http-cache-tests" ]; then
  log "fetching http-cache-tests $SUITE_VERSION from the npm registry"
  mkdir -p "$SUITE_DIR"
  (cd "$SUITE_DIR" && npm install --silent --no-audit --no-fund "http-cache-tests@$SUITE_VERSION" >/dev/null 2>&1)
fi
SUITE=$SUITE_DIR/node_modules/http-cache-tests

cat >"$OUT/braid.yaml" <<'YAML'
# One site whose origin is the suite's server; the front-end's cache on, as a shop would run it.
sites:
  - name: ct
    hostnames: [www.ct.example]
    origins:
      - url: http://127.0.0.1:8000
    cache:
      enabled: true
frontEnds:
  - name: fe-ct
    listen: 127.0.0.1:8080
    publicAddress: 127.0.0.1
    admin: 127.0.0.1:8081
    sites: [ct]
    backEnds: [be-ct]
    cache:
      enabled: true
backEnds:
  - name: be-ct
    listen: 127.0.0.1:7070
    admin: 127.0.0.1:7071
    sites: [ct]
YAML

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [ -f "$SUITE/server.pid" ]; then
    kill "$(cat "$SUITE/server.pid")" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# npm passes the suite's settings (port, pid file) to its server; it starts in the background.
(cd "$SUITE" && npm run --silent server) >"$OUT/origin.log" 2>&1
for _ in $(seq 1 40); do
  curl -s -o /dev/null http://127.0.0.1:8000/ && break
  sleep 0.25
done
curl -s -o /dev/null http://127.0.0.1:8000/ || { echo "the suite's server did not start; see $OUT/origin.log" >&2; exit 1; }
java -Xmx512m -jar "$JAR" back-end --config "$OUT/braid.yaml" --name be-ct >"$OUT/back-end.log" 2>&1 &
PIDS+=($!)
java -Xmx512m -jar "$JAR" front-end --config "$OUT/braid.yaml" --name fe-ct >"$OUT/front-end.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/ 2>/dev/null)" = 200 ] && break
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/)" = 200 ] \
  || { echo "the front-end did not answer 200 through to the suite's server; see $OUT/front-end.log" >&2; exit 1; }

if [ -n "$ID" ]; then
  (cd "$SUITE" && npm run --silent cli --base=http://127.0.0.1:8080 --id="$ID")
  exit 0
fi
log "running the suite through the front-end"
(cd "$SUITE" && timeout 600 npm run --silent cli --base=http://127.0.0.1:8080) >"$OUT/results.json" 2>"$OUT/cli.log"

cat >"$OUT/summarize.mjs" <<'JS'
// Joins the suite's results with its test definitions: counts by kind and outcome, failures named.
import fs from 'fs'
const [suiteDir, resultsFile] = process.argv.slice(2)
const suites = (await import(`${suiteDir}/tests/index.mjs`)).default
const results = JSON.parse(fs.readFileSync(resultsFile))
const counts = {}
const lines = []
for (const suite of suites) {
  for (const t of suite.tests) {
    const kind = t.kind || 'required'
    const r = results[t.id]
    const outcome = r === true ? 'pass' : r === undefined ? 'not run' : Array.isArray(r) ? r[0].toLowerCase() : String(r)
    counts[kind] = counts[kind] || {}
    counts[kind][outcome] = (counts[kind][outcome] || 0) + 1
    if (r !== true && r !== undefined && kind !== 'check') lines.push(`${kind}  ${t.id}: ${r[0]}: ${r[1]}`)
  }
}
for (const kind of Object.keys(counts)) {
  console.log(`${kind}: ` + Object.entries(counts[kind]).map(([k, v]) => `${v} ${k}`).join(', '))
}
console.log('')
for (const l of lines) console.log(l)
JS
node "$OUT/summarize.mjs" "$SUITE" "$OUT/results.json" | tee "$OUT/summary.txt"
log "results in $OUT (results.json, summary.txt, logs)"
