// SPDX-License-Identifier: MIT
// region.cpp - the stub's memory and the clone every strategy of the library makes (region.hpp).
#include "region.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

long clone_named(uint64_t flags, Region &region, void (*fn)(void *), void *arg, int *pidfd, const char *name,
                 int cgroup_fd) {
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
    long pid = ep_clone3_run(&ca, sizeof ca, fn, arg);
    prctl(PR_SET_NAME, own_name);
    return pid;
}

} // namespace ep::detail
