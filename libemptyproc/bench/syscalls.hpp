// SPDX-License-Identifier: MIT
// syscalls.hpp - `--syscalls`: how many system calls one spawn makes, counted with strace in a
// separate, untimed pass (a forked copy of the bench, traced while it spawns a few times).
#ifndef EMPTYPROC_BENCH_SYSCALLS_HPP
#define EMPTYPROC_BENCH_SYSCALLS_HPP

#include <string>

#include "methods.hpp"

namespace ep::bench {

struct SyscallCount {
    double caller = 0; // per spawn, made by the calling process (every thread of it)
    double child = 0;  // per spawn, made by the new process before its execve succeeded (that included)
    double total() const { return caller + child; }
};

// The strace program to count with, or "" and the reason it cannot be used.
std::string find_strace(std::string &why);

// Counts `spawns` spawns of method m (after one untimed warm-up spawn) in a forked copy of this
// process traced by `strace -f`. Only the timed part of a spawn counts (Method::prepare's set-up,
// done before it, does not), and in the children only what comes before their successful exec of
// the target (that included): the target's own system calls are the target's. A one-shot helper
// exec'd on the way (safeexec) is the spawn's work and counts. 0, or -errno with `error` saying why.
int count_syscalls(const std::string &strace, const Method &m, const Target &t, int ops, int spawns, SyscallCount &out,
                   std::string &error);

// The parser: strace -f output with the caller's pid, markers `close(-7771)` / `close(-7772)` (whole
// or split by strace into "<unfinished ...>" and "resumed" halves) made by that thread around each
// counted spawn. Calls of the caller's threads (its pid and the threads cloned with CLONE_THREAD from
// it) are the caller's; any other process's calls count until its exec of `target` (the path as
// strace quotes it) succeeds. Returns the number of windows seen.
int parse_strace_output(const std::string &text, int caller_pid, const std::string &target, long &caller, long &child);

} // namespace ep::bench

#endif
