// SPDX-License-Identifier: MIT
// strategy.hpp - how a paused stub comes to exist (docs/design.md). One file per strategy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "../common/unique_fd.hpp"
#include "../stub/stub.h"

namespace ep::detail {

// Memory a stub runs on. The caller may reuse or unmap it only once the stub no longer runs on it:
// after it exec'd (the channel's EOF says so) or was reaped.
class StubMemory {
  public:
    virtual ~StubMemory() = default;
};

struct StubProcess {
    UniqueFd pidfd;
    pid_t pid = -1;
    std::unique_ptr<StubMemory> memory;
    int ring_fd = -1; // io_uring, StubReach::kRingFromStub: ring C's number in the stub's table
};

// What a new stub is given: its transport, the caller's descriptors it keeps (its end of the
// stream first) and what S0 leaves alone (EP_STUB_KEEP_*, stub/stub.h).
struct StubLaunch {
    uint32_t transport = 0;
    uint32_t flags = 0;
    uint32_t nkeep = 0;
    int keep[4] = {-1, -1, -1, -1}; // EP_STUB_KEEP_MAX
    // At birth (ep_open_how VER1): namespaces to create with the stub (CLONE_NEWPID) and a cgroup
    // directory to be born in (CLONE_INTO_CGROUP), or -1. Only strategies that create the stub at
    // ep_open() can honour them; start_stub() refuses the others with EOPNOTSUPP.
    uint64_t clone_flags = 0;
    int cgroup_fd = -1;
    ep_stub_uring uring{}; // io_uring transport: Channel::stub_uring()
};

// Start a paused stub. The stub owns private copies of launch.keep[]; the caller closes its own
// copies once the stub has spoken (the stub unshares the descriptor table first). Returns 0 or
// -errno with msg.
int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg);

// ep_open_how.strategy: the strategy in the low byte, a pool's base above it (EP_STRATEGY_POOL_OF).
inline uint32_t strategy_kind(uint32_t strategy) {
    return strategy & 0xffu;
}
inline uint32_t pool_base(uint32_t strategy) {
    return strategy >> 8;
}

// 0, or -EINVAL with msg if `strategy` names no strategy this build has, or a pool of a base it does
// not offer (clone_vm, fork and exec_stub are).
int check_strategy(uint32_t strategy, std::string &msg);

// How `strategy`'s stub reaches what its transport shares with it in memory (the io_uring
// transport's ring and arena): make_channel()'s reach.
enum class StubReach : uint8_t;
StubReach strategy_stub_reach(uint32_t strategy);

// 0, or -EINVAL with msg if `strategy` cannot honour the EP_STUB_KEEP_* flags (only clone_vm and
// fork start the stub from the caller's own descriptor table and dispositions).
int check_launch_flags(uint32_t strategy, uint32_t flags, std::string &msg);

// 0, or -EOPNOTSUPP with msg if `strategy` cannot honour launch.clone_flags or launch.cgroup_fd
// (zygote and pool stubs are not cloned by ep_open() itself).
int check_birth(uint32_t strategy, const StubLaunch &launch, std::string &msg);

// 0, or -EOPNOTSUPP with msg if `strategy` cannot carry `transport` (io_uring needs a stub that
// shares or inherits the caller's mappings of the ring and the arena).
int check_transport(uint32_t strategy, uint32_t transport, std::string &msg);

// A pooled stub's cwd and umask are copies taken when it was made; these are the caller's as of
// ep_open(), for the handle to send first in the stream (Handle::set_fs_first). Empty cwd: the
// stub is fresh and already has them.
struct FsAtOpen {
    UniqueFd cwd; // O_PATH descriptor of the caller's working directory
    mode_t umask = 0;
};

class Channel;

// A fresh stub of `strategy` (not the pool) and its channel, made as ep_open() makes them: the
// channel, then the stub, then the channel told of the stub. 0, or -errno with msg and `step` naming
// the part that failed ("transport" or "strategy"); a failure leaves nothing behind.
int open_stub(uint32_t strategy, StubLaunch &launch, std::unique_ptr<Channel> &chan, StubProcess &stub,
              std::string &msg, const char *&step);

// Kill a stub that has not exec'd, end its stream and reap it.
void end_stub(StubProcess &stub, Channel &chan);

// Strategy pool: a prepared stub of `base` and its channel (or a fresh one if none is ready).
// pool.cpp.
int pool_take(uint32_t base, uint32_t transport, std::unique_ptr<Channel> &chan, StubProcess &stub, FsAtOpen &fs,
              std::string &msg, const char *&step);

// ep_cache_release(): end the pool's stubs, the zygote, the safeexec memfd, the descriptor slots.
void release_cached();

} // namespace ep::detail
