// SPDX-License-Identifier: MIT
// clone_vm.cpp - the default strategy: clone(CLONE_VM) onto the stub's own stack.
//
// No page tables are copied (CLONE_VM) and no descriptor table either (CLONE_FILES: the stub
// unshares it keeping only its channel, see stub.c; the channel sits on a low reserved number for
// the instant of the clone, so that the unshare copies next to nothing: fd_slots.hpp). There is no
// CLONE_VFORK: the caller goes on while the stub waits for its stream. The stub runs on a region of
// memory it alone uses (stack, receive buffer, string arena); the region goes back to a small cache
// once the stub has exec'd or died, so that a steady stream of spawns reuses pages already faulted in.
#include <linux/sched.h>

#include <cerrno>
#include <cstring>

#include "../stub/stub.h"
#include "fd_slots.hpp"
#include "region.hpp"
#include "strategy.hpp"

namespace ep::detail {

int start_clone_vm(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    std::unique_ptr<Region> region;
    if (int err = new_region(region, msg))
        return err;

    ep_stub_args args{};
    static_assert(sizeof launch.keep / sizeof launch.keep[0] == EP_STUB_KEEP_MAX);
    args.transport = launch.transport;
    args.flags = launch.flags;
    args.nkeep = launch.nkeep;
    for (uint32_t i = 0; i < EP_STUB_KEEP_MAX; i++)
        args.keep[i] = launch.keep[i];
    args.uring = launch.uring;
    args.recv_size = static_cast<uint32_t>(kRecv);
    args.recv_buf = region->recv();
    args.arena = region->arena();
    args.arena_size = kArena;
    args.s0_done = region->s0_flag();
    // The kept descriptors on low slots; without slots (all busy) the clone still works, at the
    // cost of copying the caller's table below them.
    if (!(launch.flags & EP_STUB_KEEP_CALLER_FDS))
        region->hold(fd_slots_lease(args.keep, args.nkeep, region->s0_flag()));
    std::memcpy(region->args(), &args, sizeof args);

    int pidfd = -1;
    long pid;
    {
        AllSignalsBlocked blocked;
        // launch.clone_flags: CLONE_NEWPID, the stub is pid 1 of a new pid namespace.
        // The clone(2) fallback works here on a real kernel; valgrind stops the process at it
        // ("Unsupported clone() flags": a CLONE_VM task that is not a thread), docs/reliability.md §5.
        LegacyClone legacy;
        legacy.stub_flags = &reinterpret_cast<ep_stub_args *>(region->args())->flags;
        pid = clone_named(CLONE_VM | CLONE_FILES | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | launch.clone_flags, *region,
                          ep_stub_main, region->args(), &pidfd, "ep-stub", launch.cgroup_fd, legacy);
    }
    if (pid < 0) {
        msg =
            clone_failure(std::string("CLONE_VM|CLONE_FILES|CLONE_PIDFD") + (launch.clone_flags ? "|CLONE_NEWPID" : ""),
                          pid, launch.cgroup_fd);
        return static_cast<int>(pid);
    }
    out.pidfd.reset(pidfd);
    out.pid = static_cast<pid_t>(pid);
    out.memory = std::move(region);
    return 0;
}

} // namespace ep::detail
