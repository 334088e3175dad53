// SPDX-License-Identifier: MIT
// clone_vm.cpp - the default strategy: clone(CLONE_VM) onto the stub's own stack.
//
// No page tables are copied (CLONE_VM) and no descriptor table either (CLONE_FILES: the stub
// unshares it keeping only its channel, see stub.c). There is no CLONE_VFORK: the caller goes on
// while the stub waits for its stream. The stub runs on a region of memory it alone uses (stack,
// receive buffer, string arena); the region goes back to a small cache once the stub has exec'd or
// died, so that a steady stream of spawns reuses pages that are already faulted in.
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "../proto/wire.h"
#include "../stub/stub.h"
#include "strategy.hpp"

namespace ep::detail {
namespace {

// Region layout, low to high: guard page | stack | args | receive buffer | arena.
constexpr size_t kPage = 4096;
constexpr size_t kGuard = kPage;
constexpr size_t kStack = 64 * 1024;
constexpr size_t kArgs = kPage;
constexpr size_t kRecv = (EP_WIRE_FRAME_MAX + kPage - 1) & ~(kPage - 1);
constexpr size_t kArena = 4 * 1024 * 1024; // argv + env + their pointers; ARG_MAX is 2 MiB here
constexpr size_t kRegion = kGuard + kStack + kArgs + kRecv + kArena;
constexpr size_t kCacheMax = 8;

class RegionCache {
  public:
    void *take() {
        std::lock_guard lock(mu_);
        if (free_.empty())
            return nullptr;
        void *p = free_.back();
        free_.pop_back();
        return p;
    }
    void give(void *p) {
        {
            std::lock_guard lock(mu_);
            if (free_.size() < kCacheMax) {
                free_.push_back(p);
                return;
            }
        }
        munmap(p, kRegion);
    }

  private:
    std::mutex mu_;
    std::vector<void *> free_;
};

RegionCache &cache() {
    static RegionCache *c = new RegionCache; // never destroyed: stubs may outlive static destructors
    return *c;
}

class Region final : public StubMemory {
  public:
    explicit Region(void *base) : base_(static_cast<unsigned char *>(base)) {}
    ~Region() override { cache().give(base_); }
    unsigned char *stack_lo() const { return base_ + kGuard; }
    unsigned char *args() const { return base_ + kGuard + kStack; }
    unsigned char *recv() const { return args() + kArgs; }
    unsigned char *arena() const { return recv() + kRecv; }

  private:
    unsigned char *base_;
};

int map_region(void *&out, std::string &msg) {
    if ((out = cache().take()))
        return 0;
    void *p = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        msg = "mmap of the stub's memory: " + std::string(strerror(err));
        return -err;
    }
    // A stack overflow in the stub faults instead of running into someone else's memory.
    if (mprotect(p, kGuard, PROT_NONE) < 0) {
        int err = errno;
        munmap(p, kRegion);
        msg = "mprotect of the stub's guard page: " + std::string(strerror(err));
        return -err;
    }
    out = p;
    return 0;
}

// Block every signal, 32 and 33 included (glibc's pthread_sigmask leaves those open), so that no
// handler of the caller can run on the stub before it has reset its dispositions.
struct AllSignalsBlocked {
    uint64_t old = 0;
    AllSignalsBlocked() {
        uint64_t all = ~uint64_t{0};
        syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
    }
    ~AllSignalsBlocked() { syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old); }
};

} // namespace

int start_clone_vm(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    void *base = nullptr;
    if (int err = map_region(base, msg))
        return err;
    auto region = std::make_unique<Region>(base);

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
    std::memcpy(region->args(), &args, sizeof args);

    int pidfd = -1;
    struct clone_args ca {};
    ca.flags = CLONE_VM | CLONE_FILES | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
    ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    ca.exit_signal = SIGCHLD;
    ca.stack = reinterpret_cast<uint64_t>(region->stack_lo());
    ca.stack_size = kStack;

    long pid;
    {
        AllSignalsBlocked blocked;
        // A task inherits its creator's comm: wear "ep-stub" for the instant of the clone, so that
        // the stub bears its name from birth (ps, /proc/<pid>/comm) without a round trip to it.
        char own_name[16] = {};
        prctl(PR_GET_NAME, own_name);
        prctl(PR_SET_NAME, "ep-stub");
        pid = ep_clone3_run(&ca, sizeof ca, ep_stub_main, region->args());
        prctl(PR_SET_NAME, own_name);
    }
    if (pid < 0) {
        msg = "clone3(CLONE_VM|CLONE_FILES|CLONE_PIDFD): " + std::string(strerror(static_cast<int>(-pid)));
        return static_cast<int>(pid);
    }
    out.pidfd.reset(pidfd);
    out.pid = static_cast<pid_t>(pid);
    out.memory = std::move(region);
    return 0;
}

} // namespace ep::detail
