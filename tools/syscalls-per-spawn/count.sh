#!/bin/bash
# SPDX-License-Identifier: MIT
# count.sh BUILD_DIR TRANSPORT MODE N [STRATEGY] - system calls per spawn (docs/io_uring.md, section 3).
#   TRANSPORT socketpair|io_uring, MODE batched|sync, STRATEGY clone_vm (default) or exec_stub.
#   Needs strace and bc.
# The caller's: lines between the two getppid() markers of count.c, divided by N. A stub's: the
# lines of its own strace file up to and including its last successful execveat (averaged; for
# exec_stub that file starts with the vfork child that execs the helper ep-stub).
set -euo pipefail
build=$(realpath "$1"); t=$2; m=$3; n=$4; s=${5:-clone_vm}
case $s in clone_vm) sid=0 ;; exec_stub) sid=2 ;; *) echo "count.sh: strategy clone_vm or exec_stub" >&2; exit 2 ;; esac
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/count" "$here/count.c" -I"$here/../../include" -L"$build/lib" -lemptyproc -Wl,-rpath,"$build/lib"
strace -f -ff -qq -o "$work/tr" "$work/count" "$t" "$n" "$m" "$sid" >/dev/null
main=$(ls "$work" | grep '^tr\.' | sort -t. -k2 -n | head -1)
caller=$(awk '/getppid/{f++; next} f==1' "$work/$main" | grep -c .)
stub_total=0; stubs=0
for f in "$work"/tr.*; do
    [ "$f" = "$work/$main" ] && continue
    if grep -q 'execveat.*= 0' "$f"; then
        c=$(awk '/execveat.*= 0/{last=NR} END{print last}' "$f")
        stub_total=$((stub_total + c)); stubs=$((stubs + 1))
    fi
done
echo "$s $t $m: caller $(echo "scale=1; $caller/$n" | bc)/spawn, stub $(echo "scale=1; $stub_total/$stubs" | bc)/spawn ($stubs stubs)"
