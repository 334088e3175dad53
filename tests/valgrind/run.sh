#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The caller's side under valgrind memcheck (docs/reliability.md §5), on an existing build:
#   bash tests/valgrind/run.sh BUILD_DIR
# Runs the gtest binaries below, filtered to what valgrind 3.19 can run, with
#   --leak-check=full --errors-for-leak-kinds=definite --trace-children=no
# and one log per process in BUILD_DIR/valgrind/. Fails on a failing test, on any memcheck error
# (definite leaks included) in any process, the test binaries and the stubs valgrind forked with
# them, and when no log has a summary at all.
#
# What valgrind can run: it has no clone3, so every strategy takes the clone(2) fallback
# (strategy/region.cpp), and it runs only thread-like and fork-like clones, stopping the whole
# process at any other. So:
#   fork       runs: a fork-like clone; the stub runs under valgrind too, until its exec;
#   exec_stub  runs: CLONE_VM|CLONE_VFORK (the fallback drops CLONE_FILES) is run as a fork, and the
#              helper program it execs runs natively (--trace-children=no);
#   safeexec   does not: valgrind's execveat does not take the helper's memfd (AT_EMPTY_PATH) and
#              the vfork child exits 127 without reaching the kernel;
#   clone_vm, pool (clone_vm stubs), zygote (CLONE_VM|CLONE_VFORK|CLONE_FS): valgrind stops the
#              process ("Unsupported clone() flags"), so none of their rows may be selected.
# Tests left out of the fork and exec_stub rows, each for a limit of valgrind, not of the library:
#   Pidfd.*, *Pdeathsig*, *Hostility.AClosedHandleAndAPidfdOfSelf*   pidfd_send_signal and
#                                 pidfd_open (424, 434) are not implemented
#   *Cgroup.AtBirth*, CloneFallback.*   no clone3: a cgroup at birth is ENOSYS by design (tested
#                                 natively by CloneFallback); CloneFallback installs its own filter
#                                 and reads the stub's dispositions, which are valgrind's own
#   *Exec.AScriptByFd*, *Exec.EmptyPathEntry*   the fork stub's execve goes through valgrind's
#                                 emulation, which resolves paths its own way
#   *FdAboveTheNofileLimit*, *Rlimit.UnconfiguredLimitsAreTheCallers*, *Rlimit.NofileSoftHard*,
#   *Rlimit.StackSoftHard*, *OverArgMaxAtTheExec*   valgrind keeps descriptors at the top of the
#                                 table and keeps its own RLIMIT_NOFILE and RLIMIT_STACK, which the
#                                 fork stub's setrlimit changes instead of the kernel's (ARG_MAX
#                                 follows RLIMIT_STACK)
#   *Namespaces.*User*, *AMapTheKernelRefuses*, *SandboxOrder.MapAfterUnshareUser*   the fork
#                                 stub's id-map helper is a CLONE_VM child
#   *Seccomp.*                    the seccomp system call is not implemented (ENOSYS)
#   Transport.ALongStream*        it waits for /proc/<tid>/syscall to show poll, which valgrind's
#                                 scheduler never shows
#   *Prepared.RootIsTheCallersAtOpen*   its forked caller chroots, and a stub valgrind forks after
#                                 that cannot create its log file (outside the new root) and dies
#                                 before it reads its stream ("the stub died before it could exec")
#   *Prepared.TheStubIsMadeByTheStrategy*   the fork stub's /proc/<pid>/exe is valgrind's tool
#                                 (memcheck-amd64-linux), while the caller's own reads as the test
#                                 binary, so "a fork stub runs the caller's program" cannot be seen
set -euo pipefail
if (($# != 1)); then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build="$(realpath -m "$1")"
bin="$build/bin"
out="$build/valgrind"
rm -rf "$out" && mkdir -p "$out"

left_out='*Pidfd.*:*Pdeathsig*:*Cgroup.AtBirth*:*CloneFallback.*:*Exec.AScriptByFd*:*Exec.EmptyPathEntry*'
left_out+=':*FdAboveTheNofileLimit*:*Rlimit.UnconfiguredLimitsAreTheCallers*:*Namespaces.*User*'
left_out+=':*AMapTheKernelRefuses*:*Transport.ALongStream*:*Rlimit.NofileSoftHard*:*Rlimit.StackSoftHard*'
left_out+=':*SandboxOrder.MapAfterUnshareUser*:*Seccomp.*:*OverArgMaxAtTheExec*:*Hostility.AClosedHandleAndAPidfdOfSelf*'
left_out+=':*Prepared.RootIsTheCallersAtOpen*:*Prepared.TheStubIsMadeByTheStrategy*'

# name, binary, gtest filter. A representative subset that keeps the step near 2 minutes on 2 cores:
# the unit tests but the two suites that spawn (UringSignals, on clone_vm) or run nm (StubSymbols);
# every conformance suite on fork (the stub in-process, both transports and modes) and on exec_stub
# (a helper exec'd from the vfork child); the handle logs; the hostile calls and the frames at the
# limits of the reliability suites on fork. Lifecycle/Stub and the other reliability suites watch
# or kill stubs through pidfd_open and pidfd_send_signal, which valgrind does not implement.

# The filter for suites $2... on strategy $1's rows, named <transport>_<strategy>_<mode>: "*_fork_*"
# would also match the pool over fork (pool_fork), whose stubs valgrind cannot run (a library thread
# makes them).
on() {
    local strategy=$1 filter='' suite transport
    shift
    for suite in "$@"; do
        for transport in socketpair io_uring; do
            filter+="${filter:+:}$suite/${transport}_${strategy}_*"
        done
    done
    echo "$filter"
}
runs=(
    "unit|ep_unit_tests|-StubSymbols.*:Seam/UringSignals.*"
    "conformance-fork|ep_conformance_tests|$(on fork '*'):-$left_out"
    "conformance-exec_stub|ep_conformance_tests|$(on exec_stub '*'):-$left_out"
    "lifecycle|ep_lifecycle_tests|$(on fork 'Lifecycle/Log.*'):$(on exec_stub 'Lifecycle/Log.*')"
    "reliability-fork|ep_reliability_tests|$(on fork 'Reliability/HostileCall.*' 'Reliability/Hostility.*' 'Reliability/Limits.*' 'Reliability/OverLimit.*'):-$left_out"
)

status=0
tests=0
start=$SECONDS
for r in "${runs[@]}"; do
    IFS='|' read -r name binary filter <<<"$r"
    t0=$SECONDS
    rc=0
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --trace-children=no \
        --log-file="$out/$name.%p.log" "$bin/$binary" --gtest_filter="$filter" >"$out/$name.out" 2>&1 || rc=$?
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\./\1/p' "$out/$name.out" | tail -1)
    if ((rc != 0)) || grep -q '^\[  FAILED  \]' "$out/$name.out"; then
        echo "valgrind: $name FAILED (exit $rc; 99 = memcheck errors); output: $out/$name.out" >&2
        grep -E '^\[  FAILED  \]' "$out/$name.out" | head -20 >&2 || true
        status=1
    fi
    echo "valgrind: $name: ${passed:-0} tests passed in $((SECONDS - t0)) s"
    tests=$((tests + ${passed:-0}))
done

# Every process that ran to its end under valgrind wrote a summary: the test binaries, and stubs
# that exited without an exec. One with an error, or a definite leak, fails the step.
summaries=$(cat "$out"/*.log | grep -c 'ERROR SUMMARY:' || true)
errors=$(cat "$out"/*.log | sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' | tr -d , | awk '{s += $1} END {print s + 0}')
lost=$(cat "$out"/*.log | sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' | tr -d , | awk '{s += $1} END {print s + 0}')
if ((summaries == 0 || errors != 0 || lost != 0)); then
    echo "valgrind: $errors memcheck errors, $lost bytes definitely lost ($summaries summaries); logs: $out" >&2
    grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$out"/*.log | head -5 >&2 || true
    status=1
fi
echo "valgrind: $tests tests in ${#runs[@]} runs, $errors memcheck errors, $lost bytes definitely lost" \
    "($summaries process summaries), $((SECONDS - start)) s"
exit $status
