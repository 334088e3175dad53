// SPDX-License-Identifier: MIT
// methods_posix_spawn.cpp - ep_posix_spawn (include/emptyproc/spawn.h): glibc's posix_spawn call,
// the same file actions as the "posix_spawn" row, carried out by the builder (docs/posix_spawn.md).
// The row shows what the posix_spawn layer costs over the builder itself and over glibc.
#include <spawn.h>

#include <cerrno>

#include "emptyproc/spawn.h"
#include "methods.hpp"
#include "raw_syscall.hpp"

namespace ep::bench {
namespace {

constexpr int kTargetResultFd = 3;

int spawn_ep_posix_spawn(const Method &, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int i = 0; i <= ctx.ops; i++)
        posix_spawn_file_actions_adddup2(&actions, ctx.result_write, kTargetResultFd);
    pid_t pid = -1;
    int err = ep_posix_spawn(&pid, ctx.argv[0], &actions, nullptr, ctx.argv, ctx.envp);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0)
        return -err;
    int status = 0;
    if (int r = reap_pid(pid, status); r < 0)
        return r;
    return finish_sample(ctx, t0, status, s);
}

} // namespace

std::vector<Method> posix_spawn_layer_methods() {
    return {{"ep_posix_spawn", "clone_vm", "socketpair", "batched", spawn_ep_posix_spawn, nullptr, true, {}}};
}

} // namespace ep::bench
