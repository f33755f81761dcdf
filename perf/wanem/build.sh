#!/usr/bin/env bash
# Builds the WAN emulator: perf/wanem/wanem.c -> perf/target/wanem (gcc, libc only).
# Rebuilds only when the source is newer than the binary. Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir="$here/../target"
out="$out_dir/wanem"
mkdir -p "$out_dir"
if [ ! -x "$out" ] || [ "$here/wanem.c" -nt "$out" ]; then
  gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$out" "$here/wanem.c"
fi
echo "$out"
