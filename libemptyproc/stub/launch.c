/* SPDX-License-Identifier: MIT */
/*
 * launch.c - ep_launch_child(): the vfork child that execs the helper program ep-stub (strategies
 * exec_stub, safeexec and zygote; docs/strategies.md).
 *
 * It runs as a CLONE_VM|CLONE_VFORK|CLONE_FILES child on a stack of its own while the caller sleeps,
 * under the same rules as stub.c: raw system calls only, nothing of the caller's memory but the
 * struct ep_launch_args the caller placed in the child's region. Its descriptor table is the
 * caller's until the first close_range(), which makes it private copying only the entries below the
 * highest kept number (kept low by the caller's descriptor slots: strategy/fd_slots.cpp).
 */
#include "stub.h"
#include "sys.h"

__attribute__((noreturn)) void ep_launch_child(void *argp) {
    struct ep_launch_args *a = (struct ep_launch_args *)argp;
    uint32_t n = a->nkeep <= EP_STUB_KEEP_MAX + 1 ? a->nkeep : EP_STUB_KEEP_MAX + 1;
    int keep[EP_STUB_KEEP_MAX + 2];
    uint32_t m = 0;
    for (uint32_t i = 0; i <= n; i++) { /* insertion sort of keep[] and exec_fd */
        int fd = i < n ? a->keep[i] : a->exec_fd;
        if (fd < 0)
            continue;
        uint32_t j = m++;
        for (; j > 0 && keep[j - 1] > fd; j--)
            keep[j] = keep[j - 1];
        keep[j] = fd;
    }
    long r = m ? sys_close_range((unsigned)keep[m - 1] + 1, ~0u, EP_CLOSE_RANGE_UNSHARE) : -EBADF;
    /* Every other descriptor below the highest kept one goes too; the kept ones lose CLOEXEC (the
     * helper's own descriptor keeps it: it closes in the exec). */
    unsigned lo = 0;
    for (uint32_t i = 0; r >= 0 && i < m; i++) {
        if ((unsigned)keep[i] > lo)
            r = sys_close_range(lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    for (uint32_t i = 0; r >= 0 && i < n; i++)
        r = sys_fcntl(a->keep[i], EP_F_SETFD, 0);
    if (r >= 0) {
        char *envp[1] = {0};
        if (a->exec_fd >= 0)
            r = sys_execveat(a->exec_fd, "", a->argv, envp, EP_AT_EMPTY_PATH);
        else
            r = sys_execveat(EP_AT_FDCWD, a->path, a->argv, envp, 0);
    }
    a->err = (int32_t)(r < 0 ? r : -EINVAL);
    sys_exit_group(127);
}
