#!/usr/bin/env bash
# Builds braid (unless the jar is newer than every source and pom) and runs the all-in-one demo on
# loopback. Arguments are passed to `braid demo`. Stop it with Ctrl-C.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jar=cli/target/braid.jar

needs_build() {
  [ ! -f "$jar" ] && return 0
  # Any main source, resource or pom changed since the jar was built?
  [ -n "$(find . -path ./.git -prune -o \( -path '*/src/main/*' -o -name pom.xml \) -type f -newer "$jar" -print -quit)" ]
}

if needs_build; then
  echo "demo: building $jar (mvn -B -q -DskipTests package)"
  mvn -B -q -DskipTests package
fi

exec java -jar "$jar" demo "$@"
