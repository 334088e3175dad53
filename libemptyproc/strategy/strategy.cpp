// SPDX-License-Identifier: MIT
// strategy.cpp - the table of strategies: adding one is one row and one file.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "../stub/stub.h"
#include "emptyproc/emptyproc.h"
#include "fd_slots.hpp"
#include "helper.hpp"
#include "region.hpp"
#include "strategy.hpp"
#include "../transport/transport.hpp"

namespace ep::detail {

int start_clone_vm(const StubLaunch &launch, StubProcess &out, std::string &msg);
int start_fork(const StubLaunch &launch, StubProcess &out, std::string &msg);
int start_exec_stub(const StubLaunch &launch, StubProcess &out, std::string &msg);
int start_safeexec(const StubLaunch &launch, StubProcess &out, std::string &msg);
int start_zygote(const StubLaunch &launch, StubProcess &out, std::string &msg);
void zygote_release();
void pool_release();
void zygote_atfork(int phase);
void pool_atfork(int phase);

namespace {
struct StrategyRow {
    uint32_t id;
    const char *name;
    int (*start)(const StubLaunch &launch, StubProcess &out, std::string &msg); // nullptr: pool
    // Whether the stub starts from the caller's own descriptor table and dispositions, so that
    // EP_STUB_KEEP_* (posix_spawn-style inheritance) can be honoured.
    bool inherits;
    // Whether ep_open() itself creates the stub with clone3, so that it can be born in a new pid
    // namespace or a cgroup (StubLaunch::clone_flags, cgroup_fd). Not the zygote's stubs (another
    // process clones them) nor the pool's (born before ep_open()).
    bool birth;
    // Whether the io_uring transport works (docs/io_uring.md): the stub either shares the caller's
    // memory or inherits its MAP_SHARED mappings (fork) and its start copies launch.uring into
    // ep_stub_args, or it maps ring C and the arena itself (stub_maps).
    bool io_uring;
    // How the stub reaches what the transport shares with it in memory (make_channel()).
    StubReach reach;
};
constexpr StrategyRow kStrategies[] = {
    {EP_STRATEGY_CLONE_VM, "clone_vm", start_clone_vm, true, true, true, StubReach::kCallerMappings},
    {EP_STRATEGY_FORK, "fork", start_fork, true, true, true, StubReach::kCallerMappings},
    {EP_STRATEGY_EXEC_STUB, "exec_stub", start_exec_stub, false, true, true, StubReach::kMapsItself},
    {EP_STRATEGY_ZYGOTE, "zygote", start_zygote, false, false, true, StubReach::kRingFromStub},
    {EP_STRATEGY_POOL, "pool", nullptr, false, false, true, StubReach::kCallerMappings},
    {EP_STRATEGY_SAFEEXEC, "safeexec", start_safeexec, false, true, true, StubReach::kMapsItself},
};

// A pool's row stands for every base (EP_STRATEGY_POOL_OF): what it can honour is the pool's.
const StrategyRow *row_of(uint32_t strategy) {
    for (const auto &s : kStrategies)
        if (s.id == strategy_kind(strategy))
            return &s;
    return nullptr;
}

// The bases a pool is offered over: one that shares the caller's memory, one that copies it, one that
// shares nothing. safeexec's stub is exec_stub's by another road; the zygote already makes its stubs
// off the caller's size.
constexpr uint32_t kPoolBases[] = {EP_STRATEGY_CLONE_VM, EP_STRATEGY_FORK, EP_STRATEGY_EXEC_STUB};
} // namespace

int check_strategy(uint32_t strategy, std::string &msg) {
    const StrategyRow *s = row_of(strategy);
    if (!s) {
        msg = "unknown strategy " + std::to_string(strategy_kind(strategy));
        return -EINVAL;
    }
    if (strategy_kind(strategy) != EP_STRATEGY_POOL) {
        if (pool_base(strategy) == 0)
            return 0;
        msg = std::string("strategy ") + s->name + " has no base: only EP_STRATEGY_POOL_OF() takes one";
        return -EINVAL;
    }
    const uint32_t base = pool_base(strategy);
    for (uint32_t offered : kPoolBases)
        if (base == offered)
            return 0;
    const StrategyRow *b = base <= 0xffu ? row_of(base) : nullptr; // row_of() reads the low byte only
    msg = "a pool of " + (b ? std::string(b->name) : std::to_string(base)) +
          " stubs is not offered: a pool's base is clone_vm, fork or exec_stub";
    return -EINVAL;
}

StubReach strategy_stub_reach(uint32_t strategy) {
    const StrategyRow *s = row_of(strategy);
    return s ? s->reach : StubReach::kCallerMappings;
}

int check_launch_flags(uint32_t strategy, uint32_t flags, std::string &msg) {
    const StrategyRow *s = row_of(strategy);
    if (!s || s->inherits || !(flags & (EP_STUB_KEEP_CALLER_FDS | EP_STUB_KEEP_SIGIGN)))
        return 0;
    msg = std::string("strategy ") + s->name + " cannot keep the caller's " +
          ((flags & EP_STUB_KEEP_CALLER_FDS) ? "descriptors" : "ignored signals") +
          ": its stub does not start from the caller's state (use clone_vm or fork)";
    return -EINVAL;
}

int check_birth(uint32_t strategy, const StubLaunch &launch, std::string &msg) {
    const StrategyRow *s = row_of(strategy);
    if (!s || s->birth || (!launch.clone_flags && launch.cgroup_fd < 0))
        return 0;
    msg = std::string("strategy ") + s->name +
          " cannot create a namespace or join a cgroup at birth: its stub is not cloned by ep_open() itself "
          "(use clone_vm, fork, exec_stub or safeexec)";
    return -EOPNOTSUPP;
}

int check_transport(uint32_t strategy, uint32_t transport, std::string &msg) {
    const StrategyRow *s = row_of(strategy);
    if (!s || transport != EP_TRANSPORT_IO_URING || s->io_uring)
        return 0;
    msg = std::string("io_uring: the ") + s->name +
          " strategy's stub cannot reach the caller's mappings of its ring and arena";
    return -EOPNOTSUPP;
}

int open_stub(uint32_t strategy, StubLaunch &launch, std::unique_ptr<Channel> &chan, StubProcess &stub,
              std::string &msg, const char *&step) {
    step = "transport";
    if (int err = make_channel(launch.transport, chan, msg, strategy_stub_reach(strategy)))
        return err;
    launch.nkeep = chan->stub_fds(launch.keep, static_cast<uint32_t>(std::size(launch.keep)));
    chan->stub_uring(launch.uring);
    step = "strategy";
    if (int err = start_stub(strategy, launch, stub, msg)) {
        std::string ignored;
        chan->stub_started(-1, -1, ignored);
        chan.reset();
        return err;
    }
    // A pristine stub has its own copies of what it keeps; a zygote's made ring C on its side.
    step = "transport";
    if (int err = chan->stub_started(stub.pidfd.get(), stub.ring_fd, msg)) {
        end_stub(stub, *chan);
        stub = StubProcess{};
        chan.reset();
        return err;
    }
    return 0;
}

void end_stub(StubProcess &stub, Channel &chan) {
    if (!stub.pidfd)
        return;
    syscall(SYS_pidfd_send_signal, stub.pidfd.get(), SIGKILL, nullptr, 0);
    chan.shutdown();
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(stub.pidfd.get()), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    stub.memory.reset(); // the stub is gone: its stack and buffers can be reused
}

int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg) {
    const StrategyRow *s = row_of(strategy);
    if (!s || !s->start) {
        msg = "unknown strategy " + std::to_string(strategy);
        return -EINVAL;
    }
    if (int err = check_launch_flags(strategy, launch.flags, msg))
        return err;
    if (int err = check_birth(strategy, launch, msg))
        return err;
    if (int err = check_transport(strategy, launch.transport, msg))
        return err;
    return s->start(launch, out, msg);
}

// fork() of the caller: every lock of the strategies is taken before it (in one order, the order
// they nest in: zygote, pool, helper, regions, slots) and released after it, so that the child
// finds their state whole; the child then drops what was the parent's (pid checks back this up).
namespace {
void atfork_prepare() {
    zygote_atfork(0);
    pool_atfork(0);
    helper_atfork(0);
    region_atfork(0);
    fd_slots_atfork(0);
}
void atfork_parent() {
    fd_slots_atfork(1);
    region_atfork(1);
    helper_atfork(1);
    pool_atfork(1);
    zygote_atfork(1);
}
void atfork_child() {
    fd_slots_atfork(2);
    region_atfork(2);
    helper_atfork(2);
    pool_atfork(2);
    zygote_atfork(2);
}
[[maybe_unused]] const int atfork_registered = pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
} // namespace

void release_cached() {
    pool_release();
    zygote_release();
    helper_release();
    fd_slots_drop();
}

} // namespace ep::detail
