#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang and run each for a bounded time on a copy of its seed corpus
# (the committed corpus stays as it is; what the fuzzer finds stays in BUILD_DIR).
#   bash tests/fuzz/run.sh BUILD_DIR SECONDS
# Fails if a target crashes, leaks, times out or breaks a contract; the input that did it is left in
# BUILD_DIR/artifacts/ (add it to tests/fuzz/regressions/ with a replaying gtest in tests/unit/).
set -euo pipefail
if (($# != 2)); then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(realpath -m "$1")"
seconds="$2"

CC=clang CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DEP_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

status=0
for target in decode_fuzz config_fuzz; do
    name="${target%_fuzz}"
    work="$build/corpus-$name"
    rm -rf "$work" "$build/artifacts/$target-"* && mkdir -p "$work" "$build/artifacts"
    cp "$root/tests/fuzz/corpus/$name/"* "$work/"
    log="$build/$target.log"
    start=$(date +%s.%N)
    # -timeout: an input that takes 10 s is a hang, reported like a crash. The regressions directory is
    # read as a second corpus, so every input that once crashed is replayed first.
    dirs=("$work")
    [[ -d "$root/tests/fuzz/regressions/$name" ]] && dirs+=("$root/tests/fuzz/regressions/$name")
    rc=0
    "$build/$target" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$target-" "${dirs[@]}" >"$log" 2>&1 || rc=$?
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
    if ((rc != 0)); then
        echo "fuzz: $target FAILED (exit $rc) after ${execs:-?} execs in $took s; log: $log" >&2
        grep -E "ERROR|contract broken|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
        status=1
    else
        echo "fuzz: $target ran ${execs:-?} execs in $took s, 0 crashes"
    fi
done
exit $status
