// SPDX-License-Identifier: MIT
// raw_syscall.hpp - system calls without libc, for code that runs in a CLONE_VM child.
//
// A child cloned with CLONE_VM shares the caller's memory and thread pointer, so libc's syscall()
// would write errno into the caller's thread-local storage while the caller keeps running (the exec
// floor's helper) or while it is suspended mid-call (clone_pidfd). These return -errno instead and
// touch nothing but registers.
#ifndef EMPTYPROC_BENCH_RAW_SYSCALL_HPP
#define EMPTYPROC_BENCH_RAW_SYSCALL_HPP

namespace ep::bench {

#if defined(__x86_64__)
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
inline long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
}
#else
#error "the benchmark's raw system calls are written for x86_64 and aarch64 only"
#endif

} // namespace ep::bench

#endif
