// SPDX-License-Identifier: MIT
// methods.cpp - the classic ways to start a program: fork, vfork, posix_spawn, clone with a pidfd.
//
// What each gets for the --ops axis: the target's fd 3 is one dup3(result pipe, 3); N extra ops are
// N more of the same dup3 (for posix_spawn, N more posix_spawn_file_actions_adddup2), the cheapest
// real per-op work each API can express. emptyproc gets its own kinds of ops (context.cpp).
#include <sched.h>
#include <signal.h>
#include <spawn.h>
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

constexpr int kTargetResultFd = 3;

// The child's side of fork, vfork and clone: raw system calls only, because after vfork and
// CLONE_VM the child runs on the caller's memory and thread pointer (raw_syscall.hpp).
[[noreturn]] void redirect_and_exec(const SpawnContext &ctx) {
    for (int i = 0; i <= ctx.ops; i++)
        raw_syscall(__NR_dup3, ctx.result_write, kTargetResultFd, 0);
    raw_syscall(__NR_execve, reinterpret_cast<long>(ctx.argv[0]), reinterpret_cast<long>(ctx.argv),
                reinterpret_cast<long>(ctx.envp));
    for (;;)
        raw_syscall(__NR_exit_group, 127);
}

int spawn_fork(const Method &, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0)
        redirect_and_exec(ctx);
    if (pid < 0)
        return -errno;
    int status = 0;
    if (int r = reap_pid(pid, status); r < 0)
        return r;
    return finish_sample(ctx, t0, status, s);
}

// Kept out of line so that nothing of the caller's frame is live across vfork (-Wclobbered).
__attribute__((noinline)) pid_t vfork_and_exec(const SpawnContext &ctx) {
    pid_t pid = vfork();
    if (pid == 0)
        redirect_and_exec(ctx);
    return pid;
}

int spawn_vfork(const Method &, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    pid_t pid = vfork_and_exec(ctx);
    if (pid < 0)
        return -errno;
    int status = 0;
    if (int r = reap_pid(pid, status); r < 0)
        return r;
    return finish_sample(ctx, t0, status, s);
}

} // namespace

int sample_posix_spawn_call(PosixSpawnFn spawn, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int i = 0; i <= ctx.ops; i++)
        posix_spawn_file_actions_adddup2(&actions, ctx.result_write, kTargetResultFd);
    pid_t pid = -1;
    int err = spawn(&pid, ctx.argv[0], &actions, nullptr, ctx.argv, ctx.envp);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0)
        return -err;
    int status = 0;
    if (int r = reap_pid(pid, status); r < 0)
        return r;
    return finish_sample(ctx, t0, status, s);
}

namespace {

int spawn_posix_spawn(const Method &, SpawnContext &ctx, Sample &s) {
    return sample_posix_spawn_call(posix_spawn, ctx, s);
}

int clone_child(void *arg) {
    redirect_and_exec(*static_cast<const SpawnContext *>(arg));
}

// The pidfd_spawn way (glibc 2.39's pidfd_spawn uses clone3 with CLONE_VM|CLONE_VFORK|CLONE_PIDFD):
// the child borrows the caller's memory on a stack of its own, the caller sleeps until the exec,
// and a pidfd comes back. Debian 12's glibc 2.36 has no pidfd_spawn and calling SYS_clone3 with a
// child stack from C++ needs assembly, so this uses glibc's clone() wrapper with the same flags,
// which the kernel treats identically. Unlike glibc's posix_spawn it neither blocks signals around
// the clone nor resets handlers: the benchmark installs none.
int spawn_clone_pidfd(const Method &, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    int pidfd = -1;
    char *stack_top = static_cast<char *>(ctx.vfork_stack) + SpawnContext::kStackSize;
    pid_t pid = clone(clone_child, stack_top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ctx, &pidfd);
    if (pid < 0)
        return -errno;
    int status = 0;
    int r = wait_pidfd(pidfd, status);
    close(pidfd);
    return r < 0 ? r : finish_sample(ctx, t0, status, s);
}

} // namespace

std::vector<Method> classic_methods() {
    return {
        {"fork+execve", "fork", "none", "oneshot", spawn_fork, nullptr, true, {}},
        {"vfork+execve", "vfork", "none", "oneshot", spawn_vfork, nullptr, true, {}},
        {"posix_spawn", "glibc", "none", "oneshot", spawn_posix_spawn, nullptr, true, {}},
        {"clone_pidfd", "clone_vm_vfork", "none", "oneshot", spawn_clone_pidfd, nullptr, true, {}},
    };
}

std::string Method::label() const {
    return name == "emptyproc" ? name + " " + strategy + "/" + transport + "/" + mode : name;
}

std::vector<Method> all_methods(std::vector<std::string> &skipped) {
    std::vector<Method> methods = classic_methods();
    for (Method &m : safeexec_methods(skipped))
        methods.push_back(std::move(m));
    for (Method &m : emptyproc_methods(skipped))
        methods.push_back(std::move(m));
    for (Method &m : posix_spawn_layer_methods())
        methods.push_back(std::move(m));
    methods.push_back(exec_floor_method());
    return methods;
}

} // namespace ep::bench
