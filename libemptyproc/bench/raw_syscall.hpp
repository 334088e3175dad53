// SPDX-License-Identifier: MIT
// raw_syscall.hpp - system calls without libc, for code that runs in a CLONE_VM child.
//
// A child cloned with CLONE_VM shares the caller's memory and thread pointer, so libc's syscall()
// would write errno into the caller's thread-local storage while the caller keeps running (the exec
// floor's helper) or while it is suspended mid-call (clone_pidfd). These return -errno instead and
// touch nothing but registers: the stub's own syscall primitive (stub/sys.h), reused.
#ifndef EMPTYPROC_BENCH_RAW_SYSCALL_HPP
#define EMPTYPROC_BENCH_RAW_SYSCALL_HPP

#include "../stub/sys.h"

namespace ep::bench {

inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
    return ep_syscall6(n, a, b, c, d, e, 0);
}

} // namespace ep::bench

#endif
