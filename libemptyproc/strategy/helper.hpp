// SPDX-License-Identifier: MIT
// helper.hpp - the helper program ep-stub (stub/helper_main.c) and how the pristine strategies
// start it: exec_stub (from its file), safeexec (from a sealed memfd), zygote (in zygote mode).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "strategy.hpp"

namespace ep::detail {

// The helper's path: $EMPTYPROC_STUB if set, else next to the library (build tree, then install
// tree). 0, or -ENOENT with msg naming every path looked at.
int helper_path(std::string &out, std::string &msg);

// The helper image built into the library (safeexec), as a sealed executable memfd made once per
// process. Returns the descriptor (the library's; do not close) or -errno with msg.
int helper_memfd(std::string &msg);

// vfork + exec the helper (exec_fd >= 0: execveat AT_EMPTY_PATH; else path) with argv and only
// keep[0..nkeep) open. clone_flags are added to CLONE_VM|CLONE_VFORK|CLONE_FILES|CLONE_PIDFD|
// CLONE_CLEAR_SIGHAND; cgroup_fd >= 0 adds CLONE_INTO_CGROUP. On success out has the pidfd and pid of
// the running helper.
int launch_helper(int exec_fd, const std::string &path, const std::vector<std::string> &argv, const int *keep,
                  uint32_t nkeep, uint64_t clone_flags, StubProcess &out, std::string &msg, int cgroup_fd = -1);

// ep_cache_release(): close the memfd.
void helper_release();

// fork() of the caller (strategy.cpp): 0 prepare, 1 parent, 2 child.
void helper_atfork(int phase);

} // namespace ep::detail
