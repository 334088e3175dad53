// SPDX-License-Identifier: MIT
// fork.cpp - the baseline: a classic fork to the stub. clone3 without CLONE_VM or CLONE_FILES: the
// page tables are copied copy-on-write and so is the whole descriptor table, which is what fork()
// costs a large caller. The child runs the same ep_stub_main() on a private copy of the region.
#include <linux/sched.h>

#include <cerrno>
#include <cstring>

#include "../stub/stub.h"
#include "region.hpp"
#include "strategy.hpp"

namespace ep::detail {

int start_fork(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    std::unique_ptr<Region> region;
    if (int err = new_region(region, msg))
        return err;
    ep_stub_args args{};
    args.transport = launch.transport;
    args.flags = launch.flags;
    args.nkeep = launch.nkeep;
    for (uint32_t i = 0; i < EP_STUB_KEEP_MAX; i++)
        args.keep[i] = launch.keep[i];
    args.recv_size = static_cast<uint32_t>(kRecv);
    args.recv_buf = region->recv();
    args.arena = region->arena();
    args.arena_size = kArena;
    args.s0_done = nullptr;
    args.uring = launch.uring; // the ring's and arena's mappings are MAP_SHARED: the fork inherits them
    std::memcpy(region->args(), &args, sizeof args);

    int pidfd = -1;
    long pid;
    {
        AllSignalsBlocked blocked;
        // launch.clone_flags and cgroup_fd: born in a new pid namespace or in a cgroup, as clone_vm.
        LegacyClone legacy;
        legacy.stub_flags = &reinterpret_cast<ep_stub_args *>(region->args())->flags;
        pid = clone_named(CLONE_PIDFD | CLONE_CLEAR_SIGHAND | launch.clone_flags, *region, ep_stub_main, region->args(),
                          &pidfd, "ep-stub", launch.cgroup_fd, legacy);
    }
    if (pid < 0) {
        msg = clone_failure(std::string("CLONE_PIDFD") + (launch.clone_flags ? "|CLONE_NEWPID" : ""), pid,
                            launch.cgroup_fd);
        return static_cast<int>(pid);
    }
    out.pidfd.reset(pidfd);
    out.pid = static_cast<pid_t>(pid);
    // The child has its own copy of the region: ours can go back to the cache right away.
    return 0;
}

} // namespace ep::detail
