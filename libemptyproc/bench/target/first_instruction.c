/* SPDX-License-Identifier: MIT */
/*
 * first_instruction.c - the benchmark's tiny static target (Josh Triplett's spawnbench method).
 *
 * At its entry point it reads CLOCK_MONOTONIC with a raw system call, writes the 16-byte timespec to
 * fd 3 (the benchmark's pipe; if fd 3 is not open the write fails harmlessly) and exits. No libc, no
 * loader, no relocations: an exec of it costs the kernel's exec and nothing of the program's own, so
 * "target's timestamp - caller's timestamp before the spawn call" is the time to first instruction.
 *
 * Built -nostdlib -static -ffreestanding -fno-stack-protector (libemptyproc/CMakeLists.txt).
 */
#include <asm/unistd.h>

#define EP_CLOCK_MONOTONIC 1
#define EP_RESULT_FD 3

struct ep_timespec {
    long sec;
    long nsec;
};

#if defined(__x86_64__)
static inline long sys3(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}
/* The kernel enters with rsp 16-byte aligned and no return address: align and call C from here. */
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall ep_target_main\n\thlt\n");
#elif defined(__aarch64__)
static inline long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
__asm__(".text\n.global _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tbl ep_target_main\n\tbrk #0\n");
#else
#error "first_instruction.c is written for x86_64 and aarch64 only"
#endif

__attribute__((used, noreturn)) void ep_target_main(void) {
    struct ep_timespec now;
    sys3(__NR_clock_gettime, EP_CLOCK_MONOTONIC, (long)&now, 0);
    sys3(__NR_write, EP_RESULT_FD, (long)&now, sizeof now);
    for (;;)
        sys3(__NR_exit_group, 0, 0, 0);
}
