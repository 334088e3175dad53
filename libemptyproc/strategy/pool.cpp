// SPDX-License-Identifier: MIT
// pool.cpp - strategy pool: stubs prepared ahead, handed out by ep_open(), refilled by a thread of
// the library off the caller's critical path (docs/strategies.md, "pool").
//
// A pooled stub is a stub of the pool's base (clone_vm, fork or exec_stub) made ahead: S0 has run at
// fill time (its descriptor table is private and holds only its channel; its dispositions are
// default; all signals blocked). Its cwd, root, umask, credentials and resource limits are copies
// taken at fill time. At hand-out the pool reads the caller's cwd (an O_PATH descriptor) and umask,
// and the handle sends them as the first two records of the stream, so no round trip to the stub is
// needed before ep_open() returns.
// Root, credentials and resource limits are compared instead: a pooled stub whose root or
// Fingerprint differs from the caller's at hand-out is discarded (killed and reaped) and a fresh
// one made.
// The pool's size is $EMPTYPROC_POOL_SIZE (1..64, default 4) per base and transport in use.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "../stub/stub.h"
#include "../transport/transport.hpp"
#include "fingerprint.hpp"
#include "region.hpp"
#include "strategy.hpp"

namespace ep::detail {
namespace {

constexpr uint32_t kTransportsMax = 4;
constexpr uint32_t kBasesMax = 3; // EP_STRATEGY_CLONE_VM, _FORK, _EXEC_STUB: check_strategy()
constexpr uint32_t kQueues = kTransportsMax * kBasesMax;
// The refill waits until no stub has been handed out for this long, so that its clone and the new
// stub's S0 do not compete for the CPUs with the spawn it hands out for (one spawn takes 0.1-0.3 ms
// here). An empty pool is filled at once: a burst is under way and fresh stubs cost as much.
constexpr auto kQuiet = std::chrono::milliseconds(1);

// The root directory's identity. A pooled stub's root is a copy of the caller's at fill time; a
// chroot() since then makes the stub stale (sending a root as a descriptor would need chroot's
// privilege in the stub, which the caller may have given up since its own chroot).
struct RootId {
    uint64_t mnt = 0, dev = 0, ino = 0;

    static bool now(RootId &out) {
        struct statx st;
        if (statx(AT_FDCWD, "/", 0, STATX_INO | STATX_MNT_ID, &st) < 0 || !(st.stx_mask & STATX_MNT_ID))
            return false;
        out.mnt = st.stx_mnt_id;
        out.dev = (uint64_t{st.stx_dev_major} << 32) | st.stx_dev_minor;
        out.ino = st.stx_ino;
        return true;
    }
    bool operator==(const RootId &) const = default;
};

struct Pooled {
    std::unique_ptr<Channel> chan;
    StubProcess stub;
    Fingerprint fp;
    RootId root;
};

// The calling thread's umask, from the "Umask:" line of /proc/thread-self/status (Linux 4.7).
// umask(2) reads it only by setting it, and another thread creating a file in that instant would
// get the wrong mode. 11-14 us here (the kernel writes the whole file), against 60-100 us for a
// round trip to the stub.
bool read_umask(mode_t &out) {
    int fd;
    while ((fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (fd < 0)
        return false;
    char buf[512]; // "Umask:" is the second line
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf - 1)) < 0 && errno == EINTR) {
    }
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *at = strstr(buf, "\nUmask:\t");
    if (!at)
        return false;
    char *end;
    unsigned long mask = strtoul(at + 8, &end, 8);
    if (end == at + 8 || *end != '\n' || mask > 0777)
        return false;
    out = static_cast<mode_t>(mask);
    return true;
}

// What a pooled stub must be told to start from the caller's cwd and umask as of now.
bool fs_at_open(FsAtOpen &fs) {
    UniqueFd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cwd || !read_umask(fs.umask))
        return false;
    fs.cwd = std::move(cwd);
    return true;
}

// Queue q holds the stubs of base q / kTransportsMax over transport q % kTransportsMax.
uint32_t queue_of(uint32_t base, uint32_t transport) {
    return base * kTransportsMax + transport;
}

// A new stub of the queue's base and its channel.
int make_one(uint32_t q, std::unique_ptr<Channel> &chan, StubProcess &stub, std::string &msg, const char *&step) {
    StubLaunch launch;
    launch.transport = q % kTransportsMax;
    return open_stub(q / kTransportsMax, launch, chan, stub, msg, step);
}

void discard(Pooled &p) {
    if (!p.stub.pidfd)
        return;
    end_stub(p.stub, *p.chan);
    p.stub.pidfd.reset();
}

size_t pool_size() {
    const char *env = getenv("EMPTYPROC_POOL_SIZE");
    long n = env ? strtol(env, nullptr, 10) : 4;
    return n < 1 ? 1 : n > 64 ? 64 : static_cast<size_t>(n);
}

class Pool {
  public:
    int take(uint32_t base, uint32_t transport, std::unique_ptr<Channel> &chan, StubProcess &stub, FsAtOpen &fs,
             std::string &msg, const char *&step) {
        step = "transport";
        if (transport >= kTransportsMax) {
            msg = "unknown transport " + std::to_string(transport);
            return -EINVAL;
        }
        step = "strategy";
        if (base >= kBasesMax) { // check_strategy() let it through: the two lists disagree
            msg = "a pool of strategy " + std::to_string(base) + " stubs is not offered";
            return -EINVAL;
        }
        const uint32_t qi = queue_of(base, transport);
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
            want_[qi] = true;
            Fingerprint fp = Fingerprint::now();
            auto &q = ready_[qi];
            while (!q.empty()) {
                Pooled p = std::move(q.front());
                q.pop_front();
                if (p.fp == fp) {
                    got = std::move(p);
                    break;
                }
                stale.push_back(std::move(p)); // credentials or rlimits changed since it was made
            }
            if (got.stub.pidfd)
                quiet_until_ = std::chrono::steady_clock::now() + kQuiet;
            cv_.notify_one();
        }
        for (auto &p : stale)
            discard(p);
        if (!got.stub.pidfd) // empty (or stale) pool: a fresh stub, the usual way
            return make_one(qi, chan, stub, msg, step);
        // Hand-out: the caller's cwd and umask go to the stub with its first frame. A chroot since
        // the fill, or no /proc to read the umask from: a fresh stub, which copies all at once.
        RootId root;
        if (!RootId::now(root) || !(root == got.root) || !fs_at_open(fs)) {
            discard(got);
            return make_one(qi, chan, stub, msg, step);
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
            for (uint32_t q = 0; q < kQueues; q++) {
                want_[q] = false;
                for (auto &p : ready_[q])
                    all.push_back(std::move(p));
                ready_[q].clear();
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
            uint32_t q = kQueues; // the queue to fill
            cv_.wait(lock, [&] {
                if (owner_ != me || drop_ring_)
                    return true;
                for (uint32_t i = 0; i < kQueues; i++)
                    if (want_[i] && ready_[i].size() < size_) {
                        q = i;
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
            if (!ready_[q].empty() && std::chrono::steady_clock::now() < quiet_until_) {
                cv_.wait_until(lock, quiet_until_);
                continue; // then look again: released, forked, or another hand-out since
            }
            filling_ = true;
            lock.unlock();
            Pooled p;
            std::string msg;
            const char *step;
            p.fp = Fingerprint::now();
            // No root identity (statx without a mount id): nothing to check a hand-out against.
            int err = RootId::now(p.root) ? make_one(q, p.chan, p.stub, msg, step) : -ENOENT;
            lock.lock();
            if (err) {
                want_[q] = false; // cannot fill it: hand-outs make fresh stubs until the next take()
            } else if (want_[q] && owner_ == me) {
                ready_[q].push_back(std::move(p));
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
    std::deque<Pooled> ready_[kQueues];
    bool want_[kQueues] = {};
    size_t size_ = 4;
    bool thread_started_ = false;
    std::chrono::steady_clock::time_point quiet_until_{}; // no refill before (kQuiet)
    bool filling_ = false;
    bool drop_ring_ = false;
    pid_t owner_ = 0;
};

Pool &pool() {
    static Pool *p = new Pool; // never destroyed: the refill thread may run during exit
    return *p;
}

} // namespace

int pool_take(uint32_t base, uint32_t transport, std::unique_ptr<Channel> &chan, StubProcess &stub, FsAtOpen &fs,
              std::string &msg, const char *&step) {
    return pool().take(base, transport, chan, stub, fs, msg, step);
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
