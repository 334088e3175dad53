#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# preload_timing.sh BUILD_DIR [N] - wall-clock time of spawn-heavy runs, plain and under
# libemptyproc-preload.so, each pair run alternately R times (R=3), medians printed as a Markdown
# table. Not a test and not a benchmark (`emptyproc bench` is): one run on a shared machine, noisy.
#   make -jN   N targets whose recipe is `true` (make posix_spawns /usr/bin/true directly)
#   ninja      N edges `command = true` (ninja posix_spawns /bin/sh -c true)
#   python     N x os.posix_spawn('/bin/true') + waitpid
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-300}
rounds=${R:-3}
cli="$build/bin/emptyproc"
dir=$(mktemp -d /tmp/ep-preload-timing-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

{
    printf 'all:'
    for i in $(seq "$n"); do printf ' t%d' "$i"; done
    printf '\n'
    for i in $(seq "$n"); do printf 't%d:\n\ttrue\n' "$i"; done
    printf '.PHONY: all'
    for i in $(seq "$n"); do printf ' t%d' "$i"; done
    printf '\n'
} > Makefile
{
    printf 'rule t\n  command = true\n'
    for i in $(seq "$n"); do printf 'build t%d: t\n' "$i"; done
} > build.ninja
cat > spawn.py <<PY
import os
for _ in range($n):
    os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)
PY

ms() { # run "$@" quietly, print elapsed milliseconds
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

row() { # name, command...
    local name=$1 plain=() shim=()
    shift
    for _ in $(seq "$rounds"); do
        rm -f .ninja_log .ninja_deps
        plain+=("$(ms "$@")")
        rm -f .ninja_log .ninja_deps
        shim+=("$(ms "$cli" preload -- "$@")")
    done
    local p s
    p=$(printf '%s\n' "${plain[@]}" | median)
    s=$(printf '%s\n' "${shim[@]}" | median)
    printf '| %s | %d | %d | %d | %.2f |\n' "$name" "$n" "$p" "$s" "$(echo "$s / $p" | bc -l)"
}

echo "| run | spawns | plain (ms) | shim (ms) | shim / plain |"
echo "|---|---|---|---|---|"
row "make -j2" make -s -j2
row "ninja -j2" ninja -j2
row "python3 os.posix_spawn" python3 spawn.py
