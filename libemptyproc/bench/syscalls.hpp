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
// done before it, does not), and in the children only what comes before their successful execve:
// the target's own system calls are the target's. 0, or -errno with `error` saying why.
int count_syscalls(const std::string &strace, const Method &m, const Target &t, int ops, int spawns, SyscallCount &out,
                   std::string &error);

// The parser, on its own for the unit tests: strace -f output with the caller's pid, markers
// `close(-7771)` / `close(-7772)` around each counted spawn. Returns the number of windows seen.
int parse_strace_output(const std::string &text, int caller_pid, long &caller, long &child);

} // namespace ep::bench

#endif
