/* SPDX-License-Identifier: MIT */
/*
 * oneshot_helper.c - the safeexec-style benchmark method's one-shot helper (docs/benchmarks.md).
 *
 * The bench copies this program into a fresh memfd for every spawn, with its action area filled
 * (oneshot_area.h), and execs it by fd from a vfork child. Here, at the entry point, the helper
 * applies the actions with raw system calls and execve's the target. It is a pristine process: no
 * libc, no loader, none of the caller's memory, threads or locks. What it cannot do is tell anyone
 * why it failed: like safeexec it has no channel back, only its exit status (oneshot_area.h).
 *
 * Built like first_instruction.c: -nostdlib -static -no-pie -ffreestanding -fno-builtin
 * (libemptyproc/CMakeLists.txt). Non-PIE, so that the area's address is fixed at link time.
 */
#include "../../stub/sys.h"
#include "oneshot_area.h"

/* In a section of its own with an initialiser, so that it is in the file (not .bss) and the parent
 * finds it by its magic. Not static and marked used: the compiler must not fold its zeros. */
__attribute__((section(".ep_oneshot_area"), aligned(16), used)) union {
    struct ep_oneshot_header header;
    unsigned char bytes[EP_ONESHOT_AREA_SIZE];
} ep_oneshot_area = {.header = {.magic = EP_ONESHOT_MAGIC}};

#if defined(__x86_64__)
/* The kernel enters with rsp 16-byte aligned and no return address: align and call C from here. */
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall ep_oneshot_main\n\thlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tbl ep_oneshot_main\n\tbrk #0\n");
#endif

__attribute__((noreturn)) static void leave(int status) {
    for (;;)
        EP_SC1(__NR_exit_group, status);
}

static long apply(const struct ep_oneshot_action *a) {
    switch (a->kind) {
    case EP_ONESHOT_DUP2:
        /* dup3 refuses fd == fd2; dup2 then only has to clear FD_CLOEXEC, as posix_spawn does. */
        return a->fd == a->fd2 ? sys_fcntl(a->fd, EP_F_SETFD, 0) : sys_dup3(a->fd, a->fd2, 0);
    case EP_ONESHOT_CLOSE:
        return sys_close(a->fd);
    case EP_ONESHOT_CHDIR:
        return sys_chdir((const char *)(uintptr_t)a->path);
    case EP_ONESHOT_CLOSEFROM:
        return sys_close_range((unsigned)a->fd, ~0U, 0);
    default:
        return -EINVAL;
    }
}

__attribute__((used, noreturn)) void ep_oneshot_main(void) {
    const struct ep_oneshot_header *h = &ep_oneshot_area.header;
    __asm__("" : "+r"(h)); /* the parent wrote the area after compilation: read it, never assume */
    if (h->path == 0)
        leave(EP_ONESHOT_EXIT_UNPATCHED);
    const struct ep_oneshot_action *actions = (const struct ep_oneshot_action *)(h + 1);
    for (uint32_t i = 0; i < h->nactions; i++)
        if (apply(&actions[i]) < 0)
            leave(EP_ONESHOT_EXIT_ACTION);
    EP_SC3(__NR_execve, h->path, h->argv, h->envp);
    leave(EP_ONESHOT_EXIT_EXEC);
}
