// SPDX-License-Identifier: MIT
// io_uring.cpp - the stream over io_uring (docs/io_uring.md): frames in a shared memfd arena, each
// committed into the stub's ring C with IORING_OP_MSG_RING, its descriptors moved into C's fixed
// table with IORING_MSG_SEND_FD, all from the calling thread's ring P in one io_uring_enter. Verdicts
// come back on a SOCK_SEQPACKET pair (the socketpair channel, used for that half only), whose
// hang-up also ends the stub's stream.
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "../common/unique_fd.hpp"
#include "../stub/stub.h"
#include "../strategy/region.hpp"
#include "../stub/uring_sqe.h"
#include "emptyproc/emptyproc.h"
#include "transport.hpp"

static_assert(EP_STUB_TRANSPORT_IO_URING == EP_TRANSPORT_IO_URING);
static_assert(EP_STUB_TRANSPORT_SOCKETPAIR == EP_TRANSPORT_SOCKETPAIR);
static_assert(sizeof(ep_sqe) == sizeof(io_uring_sqe) && sizeof(ep_cqe) == sizeof(io_uring_cqe));
static_assert(sizeof(ep_uring_arena_hdr) <= EP_URING_ARENA_FRAMES);

namespace ep::detail {
namespace {

constexpr unsigned kStubSlots = EP_URING_STUB_SLOTS; // C: fixed-file slots (SQ: EP_URING_STUB_ENTRIES)
constexpr unsigned kCallerRingEntries = 512;         // P: a frame's chain is at most 2 x 250 + 2 SQEs
constexpr unsigned kCallerSlots = 256;               // P: a frame's descriptors, briefly
constexpr size_t kArenaSize = 8u << 20;              // frames in flight; a sparse memfd
constexpr size_t kArenaCacheMax = 8;
constexpr size_t kMaxInFlight = EP_URING_PENDING_MAX / 2; // the stub queues up to EP_URING_PENDING_MAX

// user_data of the caller's own requests on P.
constexpr uint64_t kUdCommit = 0xc0'0000'0000'0001;
constexpr uint64_t kUdChain = 0xc0'0000'0000'0002;
constexpr uint64_t kUdFutex = 0xc0'0000'0000'0003;
constexpr uint64_t kUdPidfd = 0xc0'0000'0000'0004;
constexpr uint64_t kUdCancel = 0xc0'0000'0000'0005;
constexpr uint64_t kUdUpdate = 0xc0'0000'0000'0006;
constexpr uint64_t kUdSend = 0xc0'0000'0001'0000; // | descriptor index

ep_sqe *sqe_of(io_uring_sqe *s) {
    return reinterpret_cast<ep_sqe *>(s);
}

// ---- what the kernel has: probed once per process ------------------------------------------------

struct Needed {
    int op;
    const char *name;
};
constexpr Needed kNeeded[] = {
    {EP_IORING_OP_MSG_RING, "IORING_OP_MSG_RING (Linux 5.18)"},
    {EP_IORING_OP_FILES_UPDATE, "IORING_OP_FILES_UPDATE (Linux 5.6)"},
    {EP_IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD (Linux 5.1)"},
    {EP_IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL (Linux 5.5)"},
    {EP_IORING_OP_OPENAT, "IORING_OP_OPENAT (Linux 5.6)"},
    {EP_IORING_OP_CLOSE, "IORING_OP_CLOSE (Linux 5.6)"},
    {EP_IORING_OP_FUTEX_WAIT, "IORING_OP_FUTEX_WAIT (Linux 6.7)"},
    // implies IORING_MSG_SEND_FD (6.0) and IORING_MSG_RING_CQE_SKIP, which the probe cannot show
    {EP_IORING_OP_FIXED_FD_INSTALL, "IORING_OP_FIXED_FD_INSTALL (Linux 6.8)"},
};

int probe_kernel(std::string &msg) {
    static std::once_flag once;
    static int result;
    static std::string why;
    std::call_once(once, [] {
        io_uring_probe *p = io_uring_get_probe(); // on a ring of its own (IORING_REGISTER_PROBE)
        if (!p) {
            result = -EOPNOTSUPP;
            why = "io_uring is not available here (io_uring_setup or IORING_REGISTER_PROBE failed: "
                  "kernel.io_uring_disabled, a seccomp filter, or a kernel before 5.6)";
            return;
        }
        for (const auto &n : kNeeded)
            if (!io_uring_opcode_supported(p, n.op)) {
                result = -EOPNOTSUPP;
                why = std::string("the kernel lacks ") + n.name;
                break;
            }
        io_uring_free_probe(p);
    });
    if (result)
        msg = "io_uring: " + why;
    return result;
}

// ---- the caller's ring P: one per thread ---------------------------------------------------------

std::atomic<unsigned> fork_generation{0};

struct CallerRing {
    io_uring ring{};
    bool ok = false;
    unsigned generation = 0;
    ~CallerRing() {
        if (ok && generation == fork_generation.load())
            io_uring_queue_exit(&ring);
    }
};
thread_local CallerRing caller_ring;

int get_caller_ring(io_uring *&out, std::string &msg) {
    static std::once_flag once;
    // A forked child must not share the parent's ring (its SQ/CQ are shared memory): it makes its own.
    std::call_once(once, [] { pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
    CallerRing &c = caller_ring;
    unsigned gen = fork_generation.load();
    if (c.ok && c.generation != gen) {
        io_uring_queue_exit(&c.ring); // our copies of the parent's ring: unmapped and closed
        c.ok = false;
    }
    if (!c.ok) {
        io_uring_params params{};
        params.flags = IORING_SETUP_SUBMIT_ALL;
        int err = io_uring_queue_init_params(kCallerRingEntries, &c.ring, &params);
        if (err < 0) {
            msg = "io_uring: the calling thread's ring: io_uring_setup: " + std::string(strerror(-err));
            return err == -EPERM || err == -ENOSYS ? -EOPNOTSUPP : err;
        }
        err = io_uring_register_files_sparse(&c.ring, kCallerSlots);
        if (err < 0) {
            io_uring_queue_exit(&c.ring);
            msg = "io_uring: the calling thread's ring: registering its file table: " + std::string(strerror(-err));
            return err;
        }
        c.ok = true;
        c.generation = gen;
    }
    out = &c.ring;
    return 0;
}

// Get an SQE, submitting what is queued if the SQ is full (never for one frame's chain).
io_uring_sqe *get_sqe(io_uring *p) {
    io_uring_sqe *s = io_uring_get_sqe(p);
    if (!s) {
        io_uring_submit(p);
        s = io_uring_get_sqe(p);
    }
    return s;
}

// Forget the SQEs the kernel did not take: liburing has already published them in the SQ ring, so
// the next io_uring_enter on P would submit them, pointing at a frame's stack arrays long gone.
void drop_unsubmitted(io_uring *p) {
    unsigned head = io_uring_smp_load_acquire(p->sq.khead);
    p->sq.sqe_head = p->sq.sqe_tail = head;
    io_uring_smp_store_release(p->sq.ktail, head);
}

// Submit everything queued on P, waiting for `wait_nr` completions in the same io_uring_enter.
// IORING_SETUP_SUBMIT_ALL: the kernel takes all of them, or (out of memory, a CQ in overflow) none,
// with -EAGAIN/-EBUSY, and -EINTR only for the wait, after the submission. What it did not take is
// submitted again (nothing of it ran: no double send) a bounded number of times, then dropped.
int submit_all(io_uring *p, unsigned wait_nr) {
    int r = 0;
    for (int tries = 0; tries < 100 && io_uring_sq_ready(p) > 0; tries++) {
        r = wait_nr ? io_uring_submit_and_wait(p, wait_nr) : io_uring_submit(p);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            break;
        if (r < 0)
            sched_yield();
    }
    if (io_uring_sq_ready(p) == 0)
        return 0;
    drop_unsubmitted(p);
    return r < 0 ? r : -EAGAIN;
}

// A request of P that io_uring punts to its io-wq (MSG_RING/SEND_FD does when ring C's lock is
// taken: the stub is submitting) needs a worker thread, which the kernel creates from the calling
// thread, lazily; copy_process() refuses while a signal is pending for that thread
// (-ERESTARTNOINTR), and after a few retries io-wq cancels the queued work (-ECANCELED) or leaves it
// queued for an idle worker that may never look. Under a rain of signals (tests/reliability
// signals_test.cpp: SIGALRM every 50 us) a frame's chain then failed or hung. So the chain is
// submitted and waited for with the caller's signals blocked: they are delivered when it is done
// (microseconds), as glibc's posix_spawn() does around its clone; all 64, glibc's SIGCANCEL and
// SIGSETXID too (a setuid() in another thread waits those microseconds). A cancellation that still
// happens (io-wq's other reasons) is handled by send() without sending anything twice. The block is
// AllSignalsBlocked (strategy/region.hpp), the raw system call the clone paths use.

// ---- the frame arena: a memfd both sides map; a few are cached ----------------------------------

struct Arena {
    unsigned char *base = nullptr; // MAP_SHARED of a memfd (shared with a forked stub too)
};

// Ring C's geometry for a stub that maps C itself (a pristine stub): plain numbers, written into
// the arena's header. 0, or -EOPNOTSUPP if the rings are not one mapping (IORING_FEAT_SINGLE_MMAP).
int ring_geometry(const io_uring &c, ep_uring_geometry &g, std::string &msg) {
    if (!(c.features & IORING_FEAT_SINGLE_MMAP) || c.sq.ring_ptr != c.cq.ring_ptr) {
        msg = "io_uring: the kernel lacks IORING_FEAT_SINGLE_MMAP (Linux 5.4)";
        return -EOPNOTSUPP;
    }
    auto *base = static_cast<const unsigned char *>(c.sq.ring_ptr);
    auto at = [base](const void *p) { return static_cast<uint32_t>(static_cast<const unsigned char *>(p) - base); };
    g = ep_uring_geometry{};
    g.magic = EP_URING_GEOMETRY_MAGIC;
    g.ring_size = static_cast<uint32_t>(c.sq.ring_sz > c.cq.ring_sz ? c.sq.ring_sz : c.cq.ring_sz);
    g.sqes_size = static_cast<uint32_t>(c.sq.ring_entries * sizeof(io_uring_sqe));
    g.sq_head = at(c.sq.khead);
    g.sq_tail = at(c.sq.ktail);
    g.sq_mask = at(c.sq.kring_mask);
    g.sq_entries = at(c.sq.kring_entries);
    g.sq_array = at(c.sq.array);
    g.cq_head = at(c.cq.khead);
    g.cq_tail = at(c.cq.ktail);
    g.cq_mask = at(c.cq.kring_mask);
    g.cq_cqes = at(c.cq.cqes);
    g.slots = kStubSlots;
    g.arena_size = static_cast<uint32_t>(kArenaSize);
    return 0;
}

class ArenaCache {
  public:
    Arena take() {
        std::lock_guard lock(mu_);
        if (free_.empty())
            return {};
        Arena a = free_.back();
        free_.pop_back();
        return a;
    }
    void give(Arena a) {
        {
            std::lock_guard lock(mu_);
            if (free_.size() < kArenaCacheMax) {
                free_.push_back(a);
                return;
            }
        }
        munmap(a.base, kArenaSize);
    }

  private:
    std::mutex mu_;
    std::vector<Arena> free_;
};

ArenaCache &arena_cache() {
    static ArenaCache *c = new ArenaCache; // never destroyed: stubs may outlive static destructors
    return *c;
}

// An arena, from the cache if there is one. With memfd (a pristine stub maps the arena itself): a
// new one whose descriptor is kept open in *memfd, for the stub to take; cached arenas hold none.
int make_arena(Arena &out, UniqueFd *memfd, std::string &msg) {
    if (!memfd) {
        out = arena_cache().take();
        if (out.base)
            return 0;
    }
    int fd = memfd_create("ep-uring-arena", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, kArenaSize) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        msg = "io_uring: the frame arena: memfd: " + std::string(strerror(err));
        return -err;
    }
    void *p = mmap(nullptr, kArenaSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(fd);
        msg = "io_uring: the frame arena: mmap: " + std::string(strerror(err));
        return -err;
    }
    if (memfd)
        memfd->reset(fd); // until the stub has its copy (IoUringChannel::stub_started)
    else
        close(fd); // the mapping keeps the memory; cached arenas hold no descriptor
    out.base = static_cast<unsigned char *>(p);
    return 0;
}

// ---- the channel ---------------------------------------------------------------------------------

class IoUringChannel final : public Channel {
  public:
    // stub_ring: C as the caller made and mapped it, or null (StubReach::kRingFromStub: the zygote
    // makes C, and stub_started() takes the caller's copy).
    IoUringChannel(std::unique_ptr<Channel> verdicts, const io_uring *stub_ring, Arena arena, UniqueFd memfd,
                   StubReach reach, const ep_uring_geometry &geometry)
        : verdicts_(std::move(verdicts)), ring_{}, arena_(arena), memfd_(std::move(memfd)), reach_(reach) {
        if (stub_ring) {
            ring_ = *stub_ring;
            ring_mapped_ = true;
            ring_fd_ = ring_.ring_fd;
        }
        hdr()->done = 0;
        hdr()->waiting = 0;
        hdr()->geometry = geometry; // what a stub that maps C itself needs (zero if C is not made here)
    }
    ~IoUringChannel() override {
        shutdown();
        arena_cache().give(arena_); // after the reap or the exec: no stub uses it any more
    }

    uint32_t stub_fds(int *fds, uint32_t max) const override {
        if (max < 3)
            return 0;
        uint32_t n = 0;
        verdicts_->stub_fds(fds + n++, 1); // keep[0]: the channel socket, for verdicts and the hang-up
        if (ring_fd_ >= 0)
            fds[n++] = ring_fd_; // keep[1]: ring C (the zygote puts its own there)
        if (memfd_)
            fds[n++] = memfd_.get(); // keep[2]: the arena, which a pristine stub maps itself
        return n;
    }

    int stub_started(int pidfd, int ring, std::string &msg) override {
        memfd_.reset(); // the stub has its own copy of the arena's memfd (or never will)
        if (reach_ != StubReach::kRingFromStub || pidfd < 0)
            return 0;
        // The zygote made C in the stub (SCM_RIGHTS cannot carry an io_uring descriptor): take our
        // copy from it, our child. Only MSG_RING targets it here; we never map it.
        if (ring < 0) {
            msg = "io_uring: the zygote did not make the stub's ring";
            return -EPROTO;
        }
        int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, ring, 0)); // CLOEXEC
        if (fd < 0) {
            int err = errno;
            msg = "io_uring: taking the stub's ring from it: pidfd_getfd: " + std::string(strerror(err));
            return err == ENOSYS || err == EPERM ? -EOPNOTSUPP : -err;
        }
        ring_fd_ = fd;
        return 0;
    }

    void stub_uring(ep_stub_uring &u) const override {
        if (reach_ != StubReach::kCallerMappings)
            return; // sq_head == 0: the stub maps C and the arena itself (ep_uring_geometry)
        u.sq_head = ring_.sq.khead;
        u.sq_tail = ring_.sq.ktail;
        u.sq_array = ring_.sq.array;
        u.sqes = reinterpret_cast<ep_sqe *>(ring_.sq.sqes);
        u.sq_mask = ring_.sq.ring_mask;
        u.sq_entries = ring_.sq.ring_entries;
        u.cq_head = ring_.cq.khead;
        u.cq_tail = ring_.cq.ktail;
        u.cqes = reinterpret_cast<ep_cqe *>(ring_.cq.cqes);
        u.cq_mask = ring_.cq.ring_mask;
        u.slots = kStubSlots;
        u.arena = arena_.base;
        u.arena_size = kArenaSize;
    }

    int send(FrameBuilder &frame, uint16_t flags, int pidfd) override {
        if (ring_fd_ < 0)
            return -EPIPE;
        io_uring *p;
        std::string msg;
        if (int err = get_caller_ring(p, msg))
            return err;
        const auto &bytes = frame.finish(flags);
        const auto &fds = frame.fds();
        uint32_t len = static_cast<uint32_t>(bytes.size());
        uint32_t n = static_cast<uint32_t>(fds.size());
        uint32_t off, base;
        if (int err = reserve(p, (len + 7u) & ~7u, n, pidfd, off, base))
            return err;
        std::memcpy(arena_.base + off, bytes.data(), len);

        // One hard-linked chain: our descriptors into P's slots, each sent into C's slot base+k,
        // P's slots emptied, then the commit. Hard links: in order, and the cleanup runs whatever
        // fails before it.
        // One FILES_UPDATE per descriptor: io_uring's table refuses O_PATH files (fget() does not
        // take them), and such a refusal must leave only that slot empty. Their SEND_FD fails in
        // turn; those few go by SCM_RIGHTS right after the commit (docs/io_uring.md).
        int32_t mine[EP_WIRE_FDS_MAX], none[EP_WIRE_FDS_MAX];
        const uint8_t link = EP_IOSQE_IO_HARDLINK | EP_IOSQE_CQE_SKIP_SUCCESS;
        const int force = io_uring_force_async.load(std::memory_order_relaxed);
        std::optional<AllSignalsBlocked> quiet;
        if (force != 2)
            quiet.emplace();
        if (n) {
            for (uint32_t k = 0; k < n; k++) {
                mine[k] = fds[k].get();
                none[k] = -1;
                ep_sqe *s = sqe_of(get_sqe(p));
                ep_sqe_files_update(s, &mine[k], 1, k, kUdUpdate);
                s->flags = link;
            }
            for (uint32_t k = 0; k < n; k++) {
                ep_sqe *s = sqe_of(get_sqe(p));
                ep_sqe_msg_send_fd(s, ring_fd_, k, base + k, kUdSend | k);
                s->flags = link | (force ? EP_IOSQE_ASYNC : 0);
            }
            ep_sqe *s = sqe_of(get_sqe(p));
            ep_sqe_files_update(s, none, n, 0, kUdChain);
            s->flags = link;
        }
        io_uring_sqe *commit = get_sqe(p);
        ep_sqe_msg_data(sqe_of(commit), ring_fd_, len, EP_URING_COMMIT(off, base), kUdCommit);
        if (force)
            commit->flags |= EP_IOSQE_ASYNC;
        // The stream's one io_uring_enter. Nothing taken: nothing ran, nothing is left queued.
        if (int r = submit_all(p, 1))
            return r;
        // -ECANCELED: io-wq dropped the request before it ran (see AllSignalsBlocked above). For a
        // FILES_UPDATE into P or a SEND_FD that leaves C's slot empty, as for an O_PATH file: the
        // descriptor goes by hand. The cleanup and the commit are done again (the cleanup is
        // idempotent; a commit that did not run was not delivered: no double send).
        int err = 0;
        bool committed = false, cleaned = true;
        bool hand[EP_WIRE_FDS_MAX] = {};
        for (int commits = 1; !committed;) {
            io_uring_cqe *cqe;
            int r = io_uring_wait_cqe(p, &cqe); // already there, unless part of the chain went async
            if (r == -EINTR)
                continue;
            if (r < 0) {
                // Not expected (the CQ is ours). Without its completion, whether the frame was
                // committed is unknown: the stream cannot go on, and P holds what it holds.
                io_uring_release_thread();
                return r;
            }
            uint64_t ud = cqe->user_data;
            int res = cqe->res;
            io_uring_cqe_seen(p, cqe);
            if (ud == kUdCommit && res == -ECANCELED && commits < 100) {
                ep_sqe_msg_data(sqe_of(get_sqe(p)), ring_fd_, len, EP_URING_COMMIT(off, base), kUdCommit);
                commits++;
                if (int e = submit_all(p, 0)) {
                    err = e;
                    committed = true;
                }
                continue;
            }
            if (ud == kUdCommit)
                committed = true;
            if (ud == kUdUpdate && (res == -EBADF || res == -ECANCELED))
                continue; // an O_PATH file, or not done: P's slot is empty, its SEND_FD fails next
            if ((ud & ~0xffffull) == kUdSend && (res == -EBADF || res == -ECANCELED)) {
                hand[ud & 0xffff] = true; // C's slot stays empty: the stub expects it by hand
                continue;
            }
            if (ud == kUdChain) {
                cleaned = false;
                continue;
            }
            if (res < 0 && !err)
                err = res;
        }
        if (!cleaned && empty_slots(p, none, n) < 0)
            io_uring_release_thread(); // P's table must not keep our descriptors: P goes instead
        quiet.reset();
        std::vector<int> byhand; // descriptors the ring could not move, in order
        for (uint32_t k = 0; k < n; k++)
            if (hand[k])
                byhand.push_back(fds[k].get());
        if (!byhand.empty() && !err)
            err = verdicts_->send_fds(byhand.data(), static_cast<uint32_t>(byhand.size()), pidfd);
        sent_++;
        inflight_.push_back({sent_, off, (len + 7u) & ~7u, base, n});
        frame.clear(); // closes our duplicates: the stub has its own now (or will never have them)
        return err;
    }

    int recv(ep_wire_verdict &v, int pidfd) override { return verdicts_->recv(v, pidfd); }
    int try_recv(ep_wire_verdict &v) override { return verdicts_->try_recv(v); }

    // Only after the stub exec'd or was sent SIGKILL (Handle): C, its mapping and whatever its
    // fixed table still holds go now; the arena only in the destructor, after the reap.
    void shutdown() override {
        verdicts_->shutdown();
        if (ring_mapped_)
            io_uring_queue_exit(&ring_); // unmaps and closes C
        else if (ring_fd_ >= 0)
            close(ring_fd_);
        ring_mapped_ = false;
        ring_fd_ = -1;
    }

  private:
    struct InFlight {
        uint32_t seq, off, len, slot, nslots;
    };

    ep_uring_arena_hdr *hdr() const { return reinterpret_cast<ep_uring_arena_hdr *>(arena_.base); }

    uint32_t done() const { return __atomic_load_n(&hdr()->done, __ATOMIC_SEQ_CST); }

    // P's slots [0, n) emptied by a synchronous update, when the chain's own one did not run.
    static int empty_slots(io_uring *p, int32_t *none, uint32_t n) {
        int r = -EINTR;
        for (int tries = 0; tries < 100 && (r == -EINTR || r == -EAGAIN); tries++)
            r = io_uring_register_files_update(p, 0, none, n);
        return r < 0 ? r : 0;
    }

    bool overlaps(uint32_t off, uint32_t len, uint32_t slot, uint32_t n) const {
        for (const auto &f : inflight_) {
            if (off < f.off + f.len && f.off < off + len)
                return true;
            if (n && f.nslots && slot < f.slot + f.nslots && f.slot < slot + n)
                return true;
        }
        return false;
    }

    // Room for a frame of len bytes and n descriptors, allocated circularly past the frames the stub
    // has not finished; waits for it to finish one if there is none.
    int reserve(io_uring *p, uint32_t len, uint32_t n, int pidfd, uint32_t &off, uint32_t &slot) {
        for (;;) {
            uint32_t d = done();
            while (!inflight_.empty() && static_cast<int32_t>(d - inflight_.front().seq) >= 0)
                inflight_.pop_front();
            if (inflight_.empty()) {
                arena_head_ = EP_URING_ARENA_FRAMES;
                slot_head_ = 0;
            }
            off = arena_head_ + len > kArenaSize ? EP_URING_ARENA_FRAMES : arena_head_;
            slot = slot_head_ + n > kStubSlots ? 0 : slot_head_;
            if (inflight_.size() < kMaxInFlight && !overlaps(off, len, slot, n)) {
                arena_head_ = off + len;
                slot_head_ = slot + n;
                return 0;
            }
            if (int err = wait_done(p, d, pidfd))
                return err;
        }
    }

    // Sleep until the stub finishes a frame (done != seen) or dies: FUTEX_WAIT on the arena's done
    // word and a poll on the pidfd, in one io_uring_enter on P.
    int wait_done(io_uring *p, uint32_t seen, int pidfd) {
        __atomic_store_n(&hdr()->waiting, 1u, __ATOMIC_SEQ_CST);
        if (done() != seen) {
            __atomic_store_n(&hdr()->waiting, 0u, __ATOMIC_SEQ_CST);
            return 0;
        }
        ep_sqe_futex_wait(sqe_of(get_sqe(p)), &hdr()->done, seen, kUdFutex);
        ep_sqe_poll_add(sqe_of(get_sqe(p)), pidfd, EP_POLLIN, kUdPidfd);
        int r = submit_all(p, 1);
        int outstanding = r < 0 ? 0 : 2;
        bool cancelled = false, died = false;
        while (outstanding > 0) {
            io_uring_cqe *cqe;
            r = io_uring_wait_cqe(p, &cqe);
            if (r == -EINTR)
                continue;
            if (r < 0)
                break;
            uint64_t ud = cqe->user_data;
            if (ud == kUdPidfd && cqe->res > 0)
                died = true;
            io_uring_cqe_seen(p, cqe);
            if (ud != kUdFutex && ud != kUdPidfd && ud != kUdCancel)
                continue;
            outstanding--;
            if (ud != kUdCancel && !cancelled && outstanding > 0) {
                // One of the two woke us: cancel the other, so that nothing is left in flight on P.
                ep_sqe_cancel(sqe_of(get_sqe(p)), ud == kUdFutex ? kUdPidfd : kUdFutex, kUdCancel);
                cancelled = true;
                if (submit_all(p, 0) == 0)
                    outstanding++;
            }
        }
        __atomic_store_n(&hdr()->waiting, 0u, __ATOMIC_SEQ_CST);
        if (r < 0)
            return r;
        return died && done() == seen ? -ECHILD : 0;
    }

    std::unique_ptr<Channel> verdicts_;
    io_uring ring_; // C as the caller made and mapped it (ring_mapped_)
    bool ring_mapped_ = false;
    int ring_fd_ = -1; // C's descriptor until shutdown (ring_.ring_fd, or taken from the stub)
    Arena arena_;
    UniqueFd memfd_; // the arena's memfd until the stub has its copy (pristine stubs only)
    StubReach reach_;
    uint32_t sent_ = 0; // frames committed
    std::deque<InFlight> inflight_;
    uint32_t arena_head_ = EP_URING_ARENA_FRAMES;
    uint32_t slot_head_ = 0;
};

} // namespace

std::atomic<int> io_uring_force_async{0};

int make_io_uring_channel(std::unique_ptr<Channel> &out, StubReach reach, std::string &msg) {
    if (int err = probe_kernel(msg))
        return err;
    io_uring *p;
    if (int err = get_caller_ring(p, msg)) // made now, so that a failure has its message here
        return err;
    std::unique_ptr<Channel> verdicts;
    if (int err = make_socketpair_channel(verdicts, msg))
        return err;
    Arena arena;
    UniqueFd memfd;
    if (int err = make_arena(arena, reach == StubReach::kCallerMappings ? nullptr : &memfd, msg))
        return err;
    ep_uring_geometry geometry{};
    if (reach == StubReach::kRingFromStub) { // the zygote makes C (EP_ZYGOTE_MAKE_RING)
        out = std::make_unique<IoUringChannel>(std::move(verdicts), nullptr, arena, std::move(memfd), reach, geometry);
        return 0;
    }
    io_uring c{};
    int err = io_uring_queue_init(EP_URING_STUB_ENTRIES, &c, 0);
    if (err == 0) {
        err = io_uring_register_files_sparse(&c, EP_URING_STUB_SLOTS);
        if (err < 0)
            io_uring_queue_exit(&c);
    }
    if (err < 0) {
        arena_cache().give(arena);
        msg = "io_uring: the stub's ring: " + std::string(strerror(-err));
        return err == -EPERM || err == -ENOSYS ? -EOPNOTSUPP : err;
    }
    err = ring_geometry(c, geometry, msg);
    if (err < 0 && reach == StubReach::kMapsItself) {
        io_uring_queue_exit(&c);
        arena_cache().give(arena);
        return err;
    }
    out = std::make_unique<IoUringChannel>(std::move(verdicts), &c, arena, std::move(memfd), reach, geometry);
    return 0;
}

void io_uring_release_thread() {
    CallerRing &c = caller_ring;
    if (c.ok && c.generation == fork_generation.load())
        io_uring_queue_exit(&c.ring);
    c.ok = false;
}

} // namespace ep::detail
