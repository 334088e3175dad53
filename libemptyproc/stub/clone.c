/* SPDX-License-Identifier: MIT */
/*
 * clone.c - ep_clone3_run(): clone3 onto a new stack and call a function there; ep_clone_run(): the
 * same with the legacy clone(2), for where clone3 gives ENOSYS (strategy/region.cpp).
 *
 * The child side of this is the first instruction of the stub. It must not touch the parent's stack
 * (the kernel already switched rsp/sp to the new one) and must not return through the parent's
 * frames, hence assembly: syscall, then in the child call fn(arg) and exit_group(127) if it returns.
 * fn and arg travel in registers that the system call neither reads nor clobbers, never on a stack.
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

/* long ep_clone_run(unsigned long flags, void *stack_top, int *parent_tid, void (*fn)(void *), void *arg)
 *   clone(2) takes rdi = flags, rsi = stack, rdx = parent_tid, r10 = child_tid, r8 = tls: the first
 *   three are already there and child_tid is zeroed. fn moves to r9, which clone(2) does not read.
 *   arg stays in r8: the kernel reads tls only with CLONE_SETTLS, which no caller passes (stub.h). */
__asm__(".text\n"
        ".globl ep_clone_run\n"
        ".hidden ep_clone_run\n"
        ".type ep_clone_run,@function\n"
        "ep_clone_run:\n"
        "    .cfi_startproc\n"
        "    mov %rcx, %r9\n"
        "    xor %r10d, %r10d\n"
        "    mov $" EP_STR(__NR_clone) ", %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jz 1f\n"
        "    ret\n"
        "1:  .cfi_undefined rip\n"
        "    xor %ebp, %ebp\n"
        "    and $-16, %rsp\n"
        "    mov %r8, %rdi\n"
        "    call *%r9\n"
        "    mov $127, %edi\n"
        "    mov $" EP_STR(__NR_exit_group) ", %eax\n"
        "    syscall\n"
        "    hlt\n"
        "    .cfi_endproc\n"
        ".size ep_clone_run, .-ep_clone_run\n");
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

/* long ep_clone_run(unsigned long flags, void *stack_top, int *parent_tid, void (*fn)(void *), void *arg)
 *   clone(2) takes x0 = flags, x1 = stack, x2 = parent_tid, x3 = tls, x4 = child_tid (the
 *   CLONE_BACKWARDS order): fn and arg move to x9/x10, which svc preserves, and tls and child_tid
 *   are zeroed. */
__asm__(".text\n"
        ".globl ep_clone_run\n"
        ".hidden ep_clone_run\n"
        ".type ep_clone_run,%function\n"
        "ep_clone_run:\n"
        "    mov x9, x3\n"
        "    mov x10, x4\n"
        "    mov x3, #0\n"
        "    mov x4, #0\n"
        "    mov x8, #" EP_STR(__NR_clone) "\n"
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
        ".size ep_clone_run, .-ep_clone_run\n");
#else
#error "ep_clone3_run and ep_clone_run are written for x86_64 and aarch64 only"
#endif
// clang-format on
