// SPDX-License-Identifier: MIT
// region.hpp - the memory a stub (or the vfork child that execs the helper) runs on, and the little
// rituals every clone of the library goes through. Shared by the strategies.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "../proto/wire.h"
#include "strategy.hpp"

namespace ep::detail {

// Region layout, low to high: guard page | stack | args | receive buffer | arena.
constexpr size_t kPage = 4096;
constexpr size_t kGuard = kPage;
constexpr size_t kStack = 64 * 1024;
constexpr size_t kArgs = kPage;
constexpr size_t kRecv = (EP_WIRE_FRAME_MAX + kPage - 1) & ~(kPage - 1);
constexpr size_t kArena = 4 * 1024 * 1024; // argv + env + their pointers; ARG_MAX is 2 MiB here
constexpr size_t kRegion = kGuard + kStack + kArgs + kRecv + kArena;

// A region from a small cache of already faulted-in ones; back to the cache when destroyed. It
// may also hold the stub's descriptor-slot lease (fd_slots.hpp), released before the memory.
class Region final : public StubMemory {
  public:
    explicit Region(void *base);
    ~Region() override;
    unsigned char *stack_lo() const { return base_ + kGuard; }
    unsigned char *args() const { return base_ + kGuard + kStack; }
    unsigned char *recv() const { return args() + kArgs; }
    unsigned char *arena() const { return recv() + kRecv; }
    // A word in the args page, after struct ep_stub_args: the stub's S0 sets it (s0_done).
    volatile uint32_t *s0_flag() const { return reinterpret_cast<volatile uint32_t *>(args() + kArgs - 64); }
    void hold(uint64_t lease) { lease_ = lease; }

  private:
    unsigned char *base_;
    uint64_t lease_ = 0;
};

// fork() of the caller (strategy.cpp): 0 prepare, 1 parent, 2 child.
void region_atfork(int phase);

// A region, or -errno with msg.
int new_region(std::unique_ptr<Region> &out, std::string &msg);

// Block every signal, 32 and 33 included (glibc's pthread_sigmask leaves those open), so that no
// handler of the caller can run on a child before it has reset its dispositions.
struct AllSignalsBlocked {
    uint64_t old = 0;
    AllSignalsBlocked();
    ~AllSignalsBlocked();
};

// Start a detached thread of the library's (the zygote's keeper, the pool's refill) running fn.
// The calling thread's signal mask is left exactly as it was: glibc's first pthread_create() in a
// process unblocks SIGCANCEL and SIGSETXID (32, 33) in the creating thread, so the mask is saved and
// put back with the raw system call. The new thread blocks every signal but those two
// (pthread_sigmask() leaves them open): no handler of the caller's runs on it, and glibc's
// setuid()/setgroups() family, which signals every thread with SIGSETXID and waits until each has
// changed its own credentials, completes (a thread with SIGSETXID blocked would hang them forever)
// and gives the library's thread, and so the stubs and zygotes it starts, the new credentials.
void start_library_thread(std::function<void()> fn);

// What the clone(2) fallback of clone_named() does differently for one child.
struct LegacyClone {
    // Flags the child does without there (the vfork child of helper.cpp: CLONE_FILES).
    uint64_t drop = 0;
    // fn is ep_stub_main: its ep_stub_args.flags, which get EP_STUB_SIGHAND_INHERITED.
    uint32_t *stub_flags = nullptr;
};

// clone3 onto the region's stack, running fn(arg) in the child, wearing `name` for the instant of
// the clone (a task inherits its creator's comm). Signals must be blocked (AllSignalsBlocked): the
// clone(2) fallback relies on it. flags must carry CLONE_PIDFD. Returns pid or -errno.
//
// Where clone3 gives ENOSYS (valgrind 3.19, kernels before 5.3, seccomp profiles that refuse it so
// that the caller falls back, as glibc does), the legacy clone(2) makes the same child; see
// region.cpp for what it cannot do. clone_failure() words the message.
long clone_named(uint64_t flags, Region &region, void (*fn)(void *), void *arg, int *pidfd, const char *name,
                 int cgroup_fd = -1, const LegacyClone &legacy = {});

// The message for a failed clone_named(): "clone3(<flags>): <error>", saying so when the clone(2)
// fallback made (or could not make) the call. flags names them, e.g. "CLONE_VM|CLONE_PIDFD".
std::string clone_failure(const std::string &flags, long err, int cgroup_fd);

// Whether clone3 gave ENOSYS in this process, so that clone_named() goes straight to clone(2).
bool clone3_missing();

} // namespace ep::detail
