/* SPDX-License-Identifier: MIT */
/*
 * clone.c - ep_clone3_run(): clone3 onto a new stack and call a function there.
 *
 * The child side of this is the first instruction of the stub. It must not touch the parent's stack
 * (the kernel already switched rsp/sp to the new one) and must not return through the parent's
 * frames, hence assembly: syscall, then in the child call fn(arg) and exit_group(127) if it returns.
 */
#include "stub.h"

#include <asm/unistd.h>

#define EP_XSTR(x) #x
#define EP_STR(x) EP_XSTR(x)

/* assembly, one instruction per line */
// clang-format off
#if defined(__x86_64__)
/* long ep_clone3_run(void *args, size_t size, void (*fn)(void *), void *arg)
 *   rdi = args, rsi = size: already where clone3 wants them. fn and arg are moved to r8/r9,
 *   which the syscall instruction preserves and the child inherits. */
__asm__(".text\n"
        ".globl ep_clone3_run\n"
        ".hidden ep_clone3_run\n"
        ".type ep_clone3_run,@function\n"
        "ep_clone3_run:\n"
        "    .cfi_startproc\n"
        "    mov %rdx, %r8\n"
        "    mov %rcx, %r9\n"
        "    mov $" EP_STR(__NR_clone3) ", %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"
        "1:  .cfi_undefined rip\n"
        "    xor %ebp, %ebp\n"
        "    and $-16, %rsp\n"
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov $127, %edi\n"
        "    mov $" EP_STR(__NR_exit_group) ", %eax\n"
        "    syscall\n"
        "    hlt\n"
        "    .cfi_endproc\n"
        ".size ep_clone3_run, .-ep_clone3_run\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl ep_clone3_run\n"
        ".hidden ep_clone3_run\n"
        ".type ep_clone3_run,%function\n"
        "ep_clone3_run:\n"
        "    mov x9, x2\n"
        "    mov x10, x3\n"
        "    mov x8, #" EP_STR(__NR_clone3) "\n"
        "    svc 0\n"
        "    cbz x0, 1f\n"
        "    ret\n"
        "1:  mov x29, #0\n"
        "    mov x30, #0\n"
        "    mov x0, x10\n"
        "    blr x9\n"
        "    mov x0, #127\n"
        "    mov x8, #" EP_STR(__NR_exit_group) "\n"
        "    svc 0\n"
        "    brk #0\n"
        ".size ep_clone3_run, .-ep_clone3_run\n");
#else
#error "ep_clone3_run is written for x86_64 and aarch64 only"
#endif
// clang-format on
