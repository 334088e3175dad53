// SPDX-License-Identifier: MIT
// methods_posix_spawn.cpp - ep_posix_spawn (include/emptyproc/spawn.h): glibc's posix_spawn call,
// the same file actions as the "posix_spawn" row, carried out by the builder (docs/posix_spawn.md).
// The row shows what the posix_spawn layer costs over the builder itself and over glibc.
#include <spawn.h>

#include "emptyproc/spawn.h"
#include "methods.hpp"

namespace ep::bench {
namespace {

int spawn_ep_posix_spawn(const Method &, SpawnContext &ctx, Sample &s) {
    return sample_posix_spawn_call(ep_posix_spawn, ctx, s);
}

} // namespace

std::vector<Method> posix_spawn_layer_methods() {
    return {{"ep_posix_spawn", "clone_vm", "socketpair", "batched", spawn_ep_posix_spawn, nullptr, true, {}}};
}

} // namespace ep::bench
