// SPDX-License-Identifier: MIT
// region.cpp - the stub's memory and the clone every strategy of the library makes (region.hpp).
#include "region.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "../stub/stub.h"
#include "fd_slots.hpp"

namespace ep::detail {
namespace {

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

    std::mutex mu_; // fork(): locked in prepare, unlocked in parent and child (strategy.cpp)

  private:
    std::vector<void *> free_;
};

RegionCache &cache() {
    static RegionCache *c = new RegionCache; // never destroyed: stubs may outlive static destructors
    return *c;
}

} // namespace

void region_atfork(int phase) {
    if (phase == 0)
        cache().mu_.lock();
    else
        cache().mu_.unlock();
}

Region::Region(void *base) : base_(static_cast<unsigned char *>(base)) {}

Region::~Region() {
    if (lease_)
        fd_slots_release(lease_); // before the memory its flag lives in goes back
    cache().give(base_);
}

int new_region(std::unique_ptr<Region> &out, std::string &msg) {
    void *p = cache().take();
    if (!p) {
        p = mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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
    }
    out = std::make_unique<Region>(p);
    *out->s0_flag() = 0;
    return 0;
}

AllSignalsBlocked::AllSignalsBlocked() {
    uint64_t all = ~uint64_t{0};
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
}
AllSignalsBlocked::~AllSignalsBlocked() {
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
}

void start_library_thread(std::function<void()> fn) {
    AllSignalsBlocked blocked; // the new thread starts with everything blocked; ours is put back after
    std::thread([fn = std::move(fn)] {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, nullptr); // glibc keeps SIGCANCEL and SIGSETXID open
        fn();
    }).detach();
}

namespace {

// Set at the first ENOSYS: clone3 does not come back in a running process, and every clone after
// that goes straight to clone(2) instead of paying a failing system call first.
std::atomic<bool> no_clone3{false};

// clone(2) for the child clone3 would have made. What it cannot carry:
// - CLONE_CLEAR_SIGHAND (bit 32; clone(2) takes only 32 bits of flags, the low byte being the exit
//   signal). Without it the child starts with copies of the caller's handlers, and none of them can
//   run: the caller blocks every signal, 32 and 33 included, across the clone (AllSignalsBlocked),
//   the child inherits that mask, and it stays all-blocked until the stub's S2 sets the configured
//   mask just before execve. By then S0 has set every disposition to SIG_DFL, or with
//   EP_STUB_KEEP_SIGIGN every caught one (EP_STUB_SIGHAND_INHERITED tells it to). A fault while
//   blocked is not handled either: the kernel resets a blocked synchronous signal to SIG_DFL
//   before forcing it. The vfork child of the pristine strategies never unblocks at all, and its
//   execve resets every handler. So the child ends where clone3 would have put it.
// - CLONE_INTO_CGROUP (bit 33): no way to be born in a cgroup; moving the child afterwards would
//   let it run outside it for a while, so that call fails with ENOSYS (clone_failure() says why).
// - CLONE_PIDFD works as with clone3, the pidfd being written to parent_tid; the kernel refuses it
//   with CLONE_PARENT_SETTID, which the library never uses.
long clone_legacy(uint64_t flags, Region &region, void (*fn)(void *), void *arg, int *pidfd,
                  const LegacyClone &legacy) {
    if (flags & CLONE_INTO_CGROUP)
        return -ENOSYS;
    uint64_t f = flags & ~(CLONE_CLEAR_SIGHAND | legacy.drop);
    if ((flags & CLONE_CLEAR_SIGHAND) && legacy.stub_flags)
        *legacy.stub_flags |= EP_STUB_SIGHAND_INHERITED;
    if (f & (CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | 0xff | ~0xffffffffull))
        return -EINVAL; // ep_clone_run's registers for these carry other things; bit 32 and up do not exist
    // With CLONE_PARENT the kernel gives the child the caller's own exit signal; else SIGCHLD.
    if (!(f & CLONE_PARENT))
        f |= SIGCHLD;
    return ep_clone_run(f, region.stack_lo() + kStack, pidfd, fn, arg);
}

} // namespace

bool clone3_missing() {
    return no_clone3.load(std::memory_order_relaxed);
}

long clone_named(uint64_t flags, Region &region, void (*fn)(void *), void *arg, int *pidfd, const char *name,
                 int cgroup_fd, const LegacyClone &legacy) {
    struct clone_args ca {};
    ca.flags = flags;
    if (cgroup_fd >= 0) { // born in the cgroup: nothing of the child ever runs outside it
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    ca.pidfd = reinterpret_cast<uint64_t>(pidfd);
    ca.exit_signal = SIGCHLD;
    ca.stack = reinterpret_cast<uint64_t>(region.stack_lo());
    ca.stack_size = kStack;
    // A task inherits its creator's comm: wear the name for the instant of the clone, so that the
    // child bears it from birth (ps, /proc/<pid>/comm) without a round trip to it.
    char own_name[16] = {};
    prctl(PR_GET_NAME, own_name);
    prctl(PR_SET_NAME, name);
    long pid = -ENOSYS;
    if (!clone3_missing())
        pid = ep_clone3_run(&ca, sizeof ca, fn, arg);
    if (pid == -ENOSYS) {
        no_clone3.store(true, std::memory_order_relaxed);
        pid = clone_legacy(ca.flags, region, fn, arg, pidfd, legacy);
    }
    prctl(PR_SET_NAME, own_name);
    return pid;
}

std::string clone_failure(const std::string &flags, long err, int cgroup_fd) {
    std::string what = "clone3(" + flags + (cgroup_fd >= 0 ? "|CLONE_INTO_CGROUP" : "") + "): ";
    if (!clone3_missing())
        return what + strerror(static_cast<int>(-err));
    if (cgroup_fd >= 0 && err == -ENOSYS)
        return what + "not available (ENOSYS), and its fallback clone(2) cannot make a child in a cgroup: "
                      "no cgroup at birth on this system";
    return what + "not available (ENOSYS); its fallback clone(2): " + strerror(static_cast<int>(-err));
}

} // namespace ep::detail
