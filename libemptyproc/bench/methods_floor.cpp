// SPDX-License-Identifier: MIT
// methods_floor.cpp - the exec floor: a process that already exists calls execve and exits.
//
// No spawn method can beat this: it is the exec alone. Untimed, prepare() clones a helper that
// shares the caller's memory (CLONE_VM, so neither its creation nor its exec copies or tears down
// page tables) and parks it on a pipe. The timed part is "tell it" -> target's timestamp / reap.
// A throughput loop would have to time prepare() too, so the floor reports latency only.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "methods.hpp"
#include "raw_syscall.hpp"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace ep::bench {
namespace {

// Runs concurrently with the caller on the caller's memory: raw system calls only, and every value
// it needs is copied to its own stack before it says "ready" (after which the caller reuses them).
int floor_helper(void *arg) {
    const SpawnContext &ctx = *static_cast<const SpawnContext *>(arg);
    const int go = ctx.floor.go_read, ready = ctx.floor.ready_write;
    char *const *argv = ctx.argv, *const *envp = ctx.envp;
    raw_syscall(__NR_dup3, ctx.result_write, 3, 0);
    char byte = 1;
    raw_syscall(__NR_write, ready, reinterpret_cast<long>(&byte), 1);
    raw_syscall(__NR_read, go, reinterpret_cast<long>(&byte), 1);
    raw_syscall(__NR_execve, reinterpret_cast<long>(argv[0]), reinterpret_cast<long>(argv),
                reinterpret_cast<long>(envp));
    for (;;)
        raw_syscall(__NR_exit_group, 127);
}

int prepare_floor(const Method &, SpawnContext &ctx) {
    int go[2], ready[2];
    if (int r = pipe_above_3(go); r < 0)
        return r;
    if (int r = pipe_above_3(ready); r < 0) {
        close(go[0]);
        close(go[1]);
        return r;
    }
    ctx.floor.go_read = go[0];
    ctx.floor.ready_write = ready[1];
    char *stack_top = static_cast<char *>(ctx.helper_stack) + SpawnContext::kStackSize;
    int pidfd = -1;
    pid_t pid = clone(floor_helper, stack_top, CLONE_VM | CLONE_PIDFD | SIGCHLD, &ctx, &pidfd);
    int err = pid < 0 ? errno : 0;
    close(go[0]);
    close(ready[1]);
    char byte;
    if (pid >= 0)
        while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
        }
    close(ready[0]);
    ctx.floor.go_read = ctx.floor.ready_write = -1;
    if (pid < 0) {
        close(go[1]);
        return -err;
    }
    ctx.floor.pidfd = pidfd;
    ctx.floor.go_write = go[1];
    return 0;
}

int spawn_floor(const Method &, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    char byte = 1;
    if (write(ctx.floor.go_write, &byte, 1) != 1)
        return -errno;
    int status = 0;
    int r = wait_pidfd(ctx.floor.pidfd, status);
    if (r == 0)
        r = finish_sample(ctx, t0, status, s);
    close(ctx.floor.go_write);
    close(ctx.floor.pidfd);
    ctx.floor.go_write = ctx.floor.pidfd = -1;
    return r;
}

} // namespace

Method exec_floor_method() {
    return {"exec_floor", "preforked_clone_vm", "pipe", "oneshot", spawn_floor, prepare_floor, false, {}};
}

} // namespace ep::bench
