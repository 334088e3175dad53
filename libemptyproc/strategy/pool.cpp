// SPDX-License-Identifier: MIT
// pool.cpp - strategy pool: stubs prepared ahead, handed out by ep_open(), refilled by a thread of
// the library off the caller's critical path (docs/strategies.md, "pool").
//
// A pooled stub is a clone_vm stub made with CLONE_FS: S0 has run at fill time (its descriptor
// table is private and holds only its channel; its dispositions are default; all signals blocked),
// but cwd, root and umask it still shares with the caller. At hand-out the pool sends it an empty
// frame, on which it unshares them: from then on they are the caller's as of the hand-out.
// Credentials and resource limits are copied at fill time: a pooled stub whose Fingerprint differs
// from the caller's at hand-out is discarded (killed and reaped) and a fresh one made instead.
// The pool's size is $EMPTYPROC_POOL_SIZE (1..64, default 4) per transport in use.
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>

#include "../stub/stub.h"
#include "../transport/transport.hpp"
#include "fingerprint.hpp"
#include "region.hpp"
#include "strategy.hpp"

namespace ep::detail {

int start_clone_vm_flags(const StubLaunch &launch, uint64_t extra_flags, uint32_t extra_stub_flags, StubProcess &out,
                         std::string &msg);

namespace {

constexpr uint32_t kTransportsMax = 4;

struct Pooled {
    std::unique_ptr<Channel> chan;
    StubProcess stub;
    Fingerprint fp;
};

// A new stub and its channel; pooled: made with CLONE_FS and EP_STUB_LATE_FS.
int make_one(uint32_t transport, bool pooled, std::unique_ptr<Channel> &chan, StubProcess &stub, std::string &msg) {
    if (int err = make_channel(transport, chan, msg))
        return err;
    StubLaunch launch;
    launch.transport = transport;
    launch.nkeep = chan->stub_fds(launch.keep, EP_STUB_KEEP_MAX);
    chan->stub_uring(launch.uring);
    return pooled ? start_clone_vm_flags(launch, CLONE_FS, EP_STUB_LATE_FS, stub, msg)
                  : start_clone_vm_flags(launch, 0, 0, stub, msg);
}

void discard(Pooled &p) {
    if (!p.stub.pidfd)
        return;
    syscall(SYS_pidfd_send_signal, p.stub.pidfd.get(), SIGKILL, nullptr, 0);
    p.chan->shutdown();
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(p.stub.pidfd.get()), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    p.stub.memory.reset();
    p.stub.pidfd.reset();
}

// Until the stub's S0 word says 2 (EP_STUB_LATE_FS done); false if the stub died first.
bool await_unshared(Pooled &p) {
    auto *region = dynamic_cast<Region *>(p.stub.memory.get());
    if (!region)
        return false;
    volatile uint32_t *flag = region->s0_flag();
    for (;;) {
        uint32_t v = *flag;
        if (v == 2)
            return true;
        timespec ts{0, 20 * 1000 * 1000};
        syscall(SYS_futex, flag, FUTEX_WAIT, v, &ts, nullptr, 0);
        if (*flag == 2)
            return true;
        pollfd pf{p.stub.pidfd.get(), POLLIN, 0};
        if (poll(&pf, 1, 0) > 0)
            return false; // exited
    }
}

size_t pool_size() {
    const char *env = getenv("EMPTYPROC_POOL_SIZE");
    long n = env ? strtol(env, nullptr, 10) : 4;
    return n < 1 ? 1 : n > 64 ? 64 : static_cast<size_t>(n);
}

class Pool {
  public:
    int take(uint32_t transport, std::unique_ptr<Channel> &chan, StubProcess &stub, std::string &msg) {
        if (transport >= kTransportsMax) {
            msg = "unknown transport " + std::to_string(transport);
            return -EINVAL;
        }
        std::deque<Pooled> stale;
        Pooled got;
        {
            std::unique_lock lock(mu_);
            if (owner_ != getpid())
                forget();
            if (!thread_started_) {
                thread_started_ = true;
                size_ = pool_size();
                start_library_thread([this] { refill_loop(); });
            }
            want_[transport] = true;
            Fingerprint fp = Fingerprint::now();
            auto &q = ready_[transport];
            while (!q.empty()) {
                Pooled p = std::move(q.front());
                q.pop_front();
                if (p.fp == fp) {
                    got = std::move(p);
                    break;
                }
                stale.push_back(std::move(p)); // credentials or rlimits changed since it was made
            }
            cv_.notify_one();
        }
        for (auto &p : stale)
            discard(p);
        if (!got.stub.pidfd) // empty (or stale) pool: a fresh stub, the usual way
            return make_one(transport, false, chan, stub, msg);
        // Hand-out: the empty frame makes the stub unshare cwd, root and umask now; they must be
        // the caller's as of ep_open(), so wait for it to say it did.
        FrameBuilder empty;
        if (got.chan->send(empty, 0, got.stub.pidfd.get()) != 0 || !await_unshared(got)) {
            discard(got); // it died while pooled (killed from outside)
            return make_one(transport, false, chan, stub, msg);
        }
        chan = std::move(got.chan);
        stub = std::move(got.stub);
        return 0;
    }

    void release() {
        std::deque<Pooled> all;
        {
            std::lock_guard lock(mu_);
            if (owner_ != getpid())
                forget();
            for (uint32_t t = 0; t < kTransportsMax; t++) {
                want_[t] = false;
                for (auto &p : ready_[t])
                    all.push_back(std::move(p));
                ready_[t].clear();
            }
            // A fill in progress puts its stub back only while wanted: it discards it now.
        }
        for (auto &p : all)
            discard(p);
        std::unique_lock lock(mu_);
        idle_cv_.wait(lock, [this] { return !filling_; });
        // The refill thread's own io_uring ring (made by its io_uring channels) goes too: wait
        // until it has closed it, so that the caller's descriptor count is settled on return.
        if (thread_started_ && owner_ == getpid()) {
            drop_ring_ = true;
            cv_.notify_all();
            idle_cv_.wait(lock, [this] { return !drop_ring_; });
        }
    }

    // fork() of the caller: see Zygote. The refill thread does not exist in the child.
    void atfork_prepare() { mu_.lock(); }
    void atfork_parent() { mu_.unlock(); }
    void atfork_child() {
        new (&cv_) std::condition_variable;
        new (&idle_cv_) std::condition_variable;
        forget();
        mu_.unlock();
    }

  private:
    // Signals: see start_library_thread() (no handler of the caller's runs here; SIGSETXID does, so
    // that the stubs it makes have the caller's credentials).
    void refill_loop() {
        std::unique_lock lock(mu_);
        const pid_t me = owner_;
        for (;;) {
            uint32_t t = kTransportsMax;
            cv_.wait(lock, [&] {
                if (owner_ != me || drop_ring_)
                    return true;
                for (uint32_t i = 0; i < kTransportsMax; i++)
                    if (want_[i] && ready_[i].size() < size_) {
                        t = i;
                        return true;
                    }
                return false;
            });
            if (owner_ != me)
                return;
            if (drop_ring_) { // ep_cache_release()
                io_uring_release_thread();
                drop_ring_ = false;
                idle_cv_.notify_all();
                continue;
            }
            filling_ = true;
            lock.unlock();
            Pooled p;
            std::string msg;
            p.fp = Fingerprint::now();
            int err = make_one(t, true, p.chan, p.stub, msg);
            lock.lock();
            if (err) {
                want_[t] = false; // cannot fill it: hand-outs make fresh stubs until the next take()
            } else if (want_[t] && owner_ == me) {
                ready_[t].push_back(std::move(p));
            } else { // released meanwhile
                lock.unlock();
                discard(p);
                lock.lock();
            }
            filling_ = false; // only now: release() waits until no stub of ours is in flight
            idle_cv_.notify_all();
        }
    }

    // In a forked child: the pooled stubs are the parent's (not our children, their channels also
    // the parent's), and the refill thread did not survive the fork. Drop our copies, quietly.
    void forget() {
        for (auto &q : ready_) {
            for (auto &p : q) {
                p.stub.pidfd.reset();
                p.stub.memory.reset(); // our copy of its region: the parent's stub runs on the parent's
                p.chan.reset();
            }
            q.clear();
        }
        for (auto &w : want_)
            w = false;
        thread_started_ = false;
        filling_ = false;
        drop_ring_ = false;
        owner_ = getpid();
    }

    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::deque<Pooled> ready_[kTransportsMax];
    bool want_[kTransportsMax] = {};
    size_t size_ = 4;
    bool thread_started_ = false;
    bool filling_ = false;
    bool drop_ring_ = false;
    pid_t owner_ = 0;
};

Pool &pool() {
    static Pool *p = new Pool; // never destroyed: the refill thread may run during exit
    return *p;
}

} // namespace

int pool_take(uint32_t transport, std::unique_ptr<Channel> &chan, StubProcess &stub, std::string &msg) {
    return pool().take(transport, chan, stub, msg);
}

void pool_release() {
    pool().release();
}

void pool_atfork(int phase) {
    if (phase == 0)
        pool().atfork_prepare();
    else if (phase == 1)
        pool().atfork_parent();
    else
        pool().atfork_child();
}

} // namespace ep::detail
