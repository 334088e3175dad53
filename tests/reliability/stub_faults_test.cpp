// SPDX-License-Identifier: MIT
// stub_faults_test.cpp - faults injected into the stub's own system calls. The stub makes raw system
// calls (stub/sys.h), so no LD_PRELOAD shim can reach it (faults_test.cpp does the caller's side),
// and seccomp's SECCOMP_RET_ERRNO fails every matching call, not one in N. A tracer process
// ptraces each stub instead: at the entry of a receive or send it skips the call (orig_rax = -1) and
// at the exit it sets the result to -EINTR, -EAGAIN or -ENOBUFS, each only where the kernel could
// give it; where a byte stream allows a short count it shrinks the length so the kernel itself
// returns less (docs/reliability.md §7.11). The tracer is a separate process because its
// waitpid() must not take the stops and exits that the library's waitid(P_PIDFD) waits for.
#include <fcntl.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/futex.h>

#include <algorithm>
#include <array>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "reliability.hpp"

using namespace ep_test;

#ifndef IORING_ENTER_GETEVENTS
#define IORING_ENTER_GETEVENTS 1u
#endif

namespace {

// ---- the tracer (a forked process: system calls only, no allocation) -------------------------------------

// What the tracer counts for one stub, in this order.
enum Count {
    kEntries,      // system-call entries of the stub seen
    kRecvmsg,      // the calls it watches
    kSendmsg,      //
    kRead,         //
    kWrite,        //
    kUringEnter,   //
    kFutex,        //
    kEintrLegal,   // calls that could sleep: EINTR is legal
    kEagainLegal,  // nonblocking calls (and io_uring submissions): EAGAIN is legal
    kShortLegal,   // reads and writes on a byte stream: a short count is legal
    kEnobufsLegal, // sends on AF_UNIX: ENOBUFS is legal
    kSeqpacket,    // sends and receives on SOCK_SEQPACKET: no short count exists
    kEintr,        // injected
    kEagain,       //
    kShort,        //
    kEnobufs,      //
    kCounts
};
using Counts = std::array<uint64_t, kCounts>;

// Rates: one in kEintrRate of the calls where EINTR is legal gets it, and so on. ENOBUFS is rarer:
// the stub waits 1 ms before it sends again.
constexpr uint64_t kEintrRate = 2, kEagainRate = 2, kShortRate = 3, kEnobufsRate = 40;

struct Command {
    pid_t pid;         // the stub to trace; 0 ends the tracer
    int16_t inject;    // 0: trace and count only (warm-up)
    int16_t no_memory; // every send that may fail with ENOBUFS does: the kernel never has memory
    uint64_t seed;     // this spawn's draws
};

enum End : int32_t { kAttached = 1, kExec, kExited, kLost, kAttachFailed };

struct Reply {
    int32_t end; // End
    int32_t err; // kAttachFailed: the errno of PTRACE_SEIZE or PTRACE_INTERRUPT
    Counts counts;
};
static_assert(sizeof(Reply) <= PIPE_BUF, "one reply is one atomic pipe write");

// The kernel's struct ptrace_syscall_info (linux/ptrace.h, which clashes with sys/ptrace.h; glibc
// 2.36 has the request but not the struct).
struct SyscallInfo {
    uint8_t op; // 1 entry, 2 exit
    uint8_t pad[3];
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t stack_pointer;
    union {
        struct {
            uint64_t nr;
            uint64_t args[6];
        } entry;
        struct {
            int64_t rval;
            uint8_t is_error;
        } exit;
        uint64_t space[8];
    };
};
constexpr uint8_t kSyscallEntry = 1, kSyscallExit = 2;

long pt(int req, pid_t pid, uintptr_t addr = 0, uintptr_t data = 0) {
    return ptrace(static_cast<__ptrace_request>(req), pid, reinterpret_cast<void *>(addr),
                  reinterpret_cast<void *>(data));
}
template <typename T> long pt(int req, pid_t pid, uintptr_t addr, T *data) {
    return pt(req, pid, addr, reinterpret_cast<uintptr_t>(data));
}

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// What a descriptor of the stub is, from a copy of it (pidfd_getfd shares the open file description,
// so its flags and queue are the stub's).
struct FdKind {
    bool ok = false;
    bool fifo = false;
    int sock_type = 0; // SOCK_STREAM, SOCK_SEQPACKET, ...; 0 if not a socket
    int domain = 0;    // AF_UNIX, ...
    bool nonblock = false;
    bool readable = false; // something is queued: a nonblocking receive would not say EAGAIN
};

FdKind fd_kind(int pidfd, long fd) {
    FdKind k;
    int copy = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, static_cast<int>(fd), 0));
    if (copy < 0)
        return k;
    struct stat st;
    if (fstat(copy, &st) == 0) {
        k.ok = true;
        k.fifo = S_ISFIFO(st.st_mode);
        socklen_t len = sizeof k.sock_type;
        if (S_ISSOCK(st.st_mode) && getsockopt(copy, SOL_SOCKET, SO_TYPE, &k.sock_type, &len) < 0)
            k.sock_type = 0;
        len = sizeof k.domain;
        if (S_ISSOCK(st.st_mode) && getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &k.domain, &len) < 0)
            k.domain = 0;
        int fl = fcntl(copy, F_GETFL);
        k.nonblock = fl >= 0 && (fl & O_NONBLOCK);
        pollfd p{copy, POLLIN, 0};
        k.readable = poll(&p, 1, 0) == 1;
    }
    close(copy);
    return k;
}

// One stub, traced until it execs (detached at PTRACE_EVENT_EXEC) or dies.
class Trace {
  public:
    Trace(pid_t pid, int pidfd, const Command &c) : pid_(pid), pidfd_(pidfd), cmd_(c) {}

    End run(Counts &n) {
        long pending = 0; // the errno to return at the exit of a skipped call
        // Until the stub is detached at its exec or reaped at its end, it must be waited for here:
        // a traced zombie is released to its parent (the library's waitid) only by its tracer's wait.
        // So a failed request only goes on to the next waitpid. (ESRCH happens here: an aborted batched
        // stream's ep_close() SIGKILLs the stub before it was ever resumed.)
        pt(PTRACE_SYSCALL, pid_);
        for (;;) {
            int st;
            pid_t w = waitpid(pid_, &st, __WALL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return kLost;
            if (WIFEXITED(st) || WIFSIGNALED(st))
                return kExited; // reaped here, it is released to its parent, the library's waitid
            if (!WIFSTOPPED(st))
                continue;
            int event = st >> 16, sig = WSTOPSIG(st), deliver = 0;
            if (event == PTRACE_EVENT_EXEC && pt(PTRACE_DETACH, pid_) == 0)
                return kExec; // the program runs untraced
            if (sig == (SIGTRAP | 0x80))
                syscall_stop(n, pending);
            else if (event == 0)
                deliver = sig; // a signal-delivery stop: the signal goes on
            // (PTRACE_EVENT_STOP, a group stop or our interrupt: just go on.) ESRCH: it was killed
            // meanwhile; the next waitpid reports that.
            pt(PTRACE_SYSCALL, pid_, 0, static_cast<uintptr_t>(deliver));
        }
    }

  private:
    uint64_t draw() { return splitmix64(cmd_.seed ^ splitmix64(++calls_)); }
    bool one_in(uint64_t rate) { return cmd_.inject && draw() % rate == 0; }

    void syscall_stop(Counts &n, long &pending) {
        SyscallInfo info{};
        if (pt(PTRACE_GET_SYSCALL_INFO, pid_, sizeof info, &info) <= 0)
            return;
        if (info.op == kSyscallExit) {
            if (pending) {
                user_regs_struct r;
                if (pt(PTRACE_GETREGS, pid_, 0, &r) == 0) {
                    r.rax = static_cast<unsigned long long>(-pending);
                    pt(PTRACE_SETREGS, pid_, 0, &r);
                }
                pending = 0;
            }
            return;
        }
        if (info.op != kSyscallEntry)
            return;
        n[kEntries]++;
        const auto *a = info.entry.args;
        bool eintr = false, eagain = false, shorten = false, enobufs = false;
        switch (info.entry.nr) {
        case SYS_recvmsg:
        case SYS_sendmsg:
        case SYS_read:
        case SYS_write: {
            bool recv = info.entry.nr == SYS_recvmsg || info.entry.nr == SYS_read;
            bool msg = info.entry.nr == SYS_recvmsg || info.entry.nr == SYS_sendmsg;
            n[info.entry.nr == SYS_recvmsg   ? kRecvmsg
              : info.entry.nr == SYS_sendmsg ? kSendmsg
              : info.entry.nr == SYS_read    ? kRead
                                             : kWrite]++;
            FdKind k = fd_kind(pidfd_, static_cast<long>(a[0]));
            if (!k.ok)
                break;
            bool nonblock = k.nonblock || (msg && (a[2] & MSG_DONTWAIT));
            // A blocking call may sleep, and a sleep is where EINTR comes from. A nonblocking one
            // never sleeps: EAGAIN instead, for a receive only when nothing is queued (AF_UNIX and
            // pipes never say EAGAIN while data waits), for a send any time (the buffer or the
            // peer's queue may be full).
            eintr = !nonblock;
            eagain = nonblock && (!recv || !k.readable);
            // An AF_UNIX send allocates its skb (alloc_skb_with_frags): ENOBUFS if that fails.
            enobufs = msg && !recv && k.domain == AF_UNIX;
            if (k.sock_type == SOCK_SEQPACKET)
                n[kSeqpacket]++; // a datagram comes whole (or MSG_TRUNC): never short
            // A byte stream may transfer less than asked; a pipe write of at most PIPE_BUF bytes is
            // atomic. Only read/write: the length of a msghdr's iovec is in the stub's memory.
            if (!msg && (k.fifo || k.sock_type == SOCK_STREAM) && a[2] > 1 &&
                (recv || k.sock_type == SOCK_STREAM || a[2] > PIPE_BUF))
                shorten = true;
            break;
        }
        case SYS_io_uring_enter: {
            n[kUringEnter]++;
            // With requests to submit, the kernel submits first and returns their count even if the
            // wait after it is interrupted, or -EAGAIN if it could not allocate them. With none, a
            // wait for completions (GETEVENTS, min_complete > 0) sleeps: -EINTR.
            eagain = a[1] > 0;
            eintr = a[1] == 0 && (a[3] & IORING_ENTER_GETEVENTS) && a[2] > 0;
            break;
        }
        case SYS_futex: {
            n[kFutex]++;
            int op = static_cast<int>(a[1]) & FUTEX_CMD_MASK;
            eintr = op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET; // a wake never sleeps: nothing
            break;
        }
        default:
            return;
        }
        n[kEintrLegal] += eintr;
        n[kEagainLegal] += eagain;
        n[kShortLegal] += shorten;
        n[kEnobufsLegal] += enobufs;
        long err = 0;
        if (enobufs && cmd_.inject && (cmd_.no_memory || one_in(kEnobufsRate)))
            err = ENOBUFS;
        else if (eintr && one_in(kEintrRate))
            err = EINTR;
        else if (eagain && one_in(kEagainRate))
            err = EAGAIN;
        user_regs_struct r;
        if (err) {
            if (pt(PTRACE_GETREGS, pid_, 0, &r) < 0)
                return;
            r.orig_rax = static_cast<unsigned long long>(-1); // the kernel skips the call
            if (pt(PTRACE_SETREGS, pid_, 0, &r) == 0) {
                pending = err;
                n[err == EINTR ? kEintr : err == EAGAIN ? kEagain : kEnobufs]++;
            }
        } else if (shorten && one_in(kShortRate)) {
            if (pt(PTRACE_GETREGS, pid_, 0, &r) < 0)
                return;
            r.rdx = 1 + draw() % (a[2] - 1); // the kernel itself returns at most this
            if (pt(PTRACE_SETREGS, pid_, 0, &r) == 0)
                n[kShort]++;
        }
    }

    pid_t pid_;
    int pidfd_;
    Command cmd_;
    uint64_t calls_ = 0;
};

bool read_whole(int fd, void *buf, size_t len) {
    auto *p = static_cast<char *>(buf);
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        len -= static_cast<size_t>(r);
    }
    return true;
}

void write_whole(int fd, const void *buf, size_t len) {
    while (write(fd, buf, len) < 0 && errno == EINTR) {
    }
}

// The tracer: one stub after another, as the test names them on `cmd`; replies on `rep`.
[[noreturn]] void tracer_main(int cmd, int rep) {
    for (;;) {
        Command c;
        if (!read_whole(cmd, &c, sizeof c) || c.pid == 0)
            _exit(0);
        Reply r{};
        int pidfd = static_cast<int>(syscall(SYS_pidfd_open, c.pid, 0));
        // EXITKILL: should this process die, the stub dies with it instead of running on, stopped.
        uintptr_t opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
        if (pidfd < 0 || pt(PTRACE_SEIZE, c.pid, 0, opts) < 0 || pt(PTRACE_INTERRUPT, c.pid) < 0) {
            r.end = kAttachFailed;
            r.err = errno;
            if (pidfd >= 0)
                close(pidfd);
            write_whole(rep, &r, sizeof r);
            continue;
        }
        // The interrupt stop: from here on, every system call of the stub is seen. (A stub asleep in
        // recvmsg restarts it; one asleep in io_uring_enter gets a real EINTR, which it retries.)
        int st = 0;
        pid_t w;
        while ((w = waitpid(c.pid, &st, __WALL)) < 0 && errno == EINTR) {
        }
        r.end = kAttached;
        write_whole(rep, &r, sizeof r);
        if (w < 0)
            r.end = kLost;
        else if (WIFEXITED(st) || WIFSIGNALED(st))
            r.end = kExited;
        else
            r.end = Trace(c.pid, pidfd, c).run(r.counts);
        close(pidfd);
        write_whole(rep, &r, sizeof r);
    }
}

// The test's end of the tracer.
class Tracer {
  public:
    Tracer() {
        int c[2], r[2];
        if (pipe2(c, O_CLOEXEC) < 0)
            return;
        if (pipe2(r, O_CLOEXEC) < 0) {
            close(c[0]);
            close(c[1]);
            return;
        }
        pid_ = fork();
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            // Keep only its two pipe ends: a copy of the library's descriptors (a pool stub's
            // channel, the zygote's socket) would hide from a stub the caller's hang-up.
            int keep[2] = {std::min(c[0], r[1]), std::max(c[0], r[1])};
            close_range(3, static_cast<unsigned>(keep[0]) - 1, 0);
            close_range(static_cast<unsigned>(keep[0]) + 1, static_cast<unsigned>(keep[1]) - 1, 0);
            close_range(static_cast<unsigned>(keep[1]) + 1, ~0u, 0);
            tracer_main(c[0], r[1]);
        }
        close(c[0]);
        close(r[1]);
        cmd_.reset(c[1]);
        rep_.reset(r[0]);
        if (pid_ < 0) {
            cmd_.reset();
            rep_.reset();
        }
    }
    ~Tracer() { stop(); }
    Tracer(const Tracer &) = delete;
    Tracer &operator=(const Tracer &) = delete;

    bool running() const { return pid_ > 0; }

    // Trace `pid`; returns once the stub is attached and stopped for the first time, so that the
    // stream sent after it is seen whole. The reply's end is kAttached, or kAttachFailed with err.
    Reply attach(pid_t pid, bool inject, bool no_memory, uint64_t seed) {
        Command c{pid, static_cast<int16_t>(inject), static_cast<int16_t>(no_memory), seed};
        write_whole(cmd_.get(), &c, sizeof c);
        return reply();
    }

    // The counts, once the stub exec'd or died (kLost if no reply came within 10 s).
    Reply reply() {
        Reply r{};
        r.end = kLost;
        pollfd p{rep_.get(), POLLIN, 0};
        int n;
        while ((n = poll(&p, 1, 10000)) < 0 && errno == EINTR) {
        }
        if (n == 1 && !read_whole(rep_.get(), &r, sizeof r))
            r.end = kLost;
        return r;
    }

    void stop() {
        if (pid_ <= 0)
            return;
        cmd_.reset(); // EOF: the tracer exits
        rep_.reset();
        int st;
        while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }

  private:
    pid_t pid_ = -1;
    Fd cmd_, rep_;
};

// A stub that mishandles a fault may leave the caller asleep for good (a lost verdict in sync mode
// does). The watchdog turns that into a failure: a spawn still running after 10 s has its stub
// SIGKILLed through a copy of the pidfd, which ends the caller's wait with ECHILD.
class Watchdog {
  public:
    Watchdog()
        : thread_([this] {
              std::unique_lock lock(mu_);
              while (!quit_) {
                  if (pidfd_ >= 0 && std::chrono::steady_clock::now() >= deadline_) {
                      sys_pidfd_send_signal(pidfd_, SIGKILL);
                      fired_ = true;
                      close(pidfd_);
                      pidfd_ = -1;
                  }
                  cv_.wait_for(lock, std::chrono::milliseconds(100));
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mu_);
            quit_ = true;
        }
        cv_.notify_all();
        thread_.join();
        disarm();
    }
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    void arm(int pidfd) {
        std::lock_guard lock(mu_);
        pidfd_ = fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
        deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        fired_ = false;
    }
    // True if it had to kill the stub.
    bool disarm() {
        std::lock_guard lock(mu_);
        if (pidfd_ >= 0)
            close(pidfd_);
        pidfd_ = -1;
        return fired_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int pidfd_ = -1;
    std::chrono::steady_clock::time_point deadline_;
    bool fired_ = false, quit_ = false;
    std::thread thread_; // last: it starts with everything above in place
};

// ---- the spawns ----------------------------------------------------------------------------------

class StubFaults : public MatrixTest {
  protected:
    // One traced spawn of kind k; "" if every outcome was right, else what was wrong. The tracer's
    // counts are added to `n`. *no_ptrace is set (and "" returned) if the stub cannot be traced here.
    // With no_memory every send of the stub fails with ENOBUFS; *failed_enobufs tells that this
    // ended the spawn, cleanly.
    std::string one(Tracer &t, Watchdog &dog, int k, int i, bool inject, bool no_memory, uint64_t seed, int opath,
                    Counts &n, int *no_ptrace, bool *failed_enobufs) {
        *failed_enobufs = false;
        const Matrix &m = GetParam();
        Empty e(m);
        if (!e.opened())
            return "ep_open: " + errno_name(e.open_errno()) + ", log: " + joined(log_messages(-1));
        Reply a = t.attach(e.pid(), inject, no_memory, seed);
        if (a.end == kAttachFailed) {
            *no_ptrace = a.err;
            return "";
        }
        if (a.end != kAttached)
            return "the tracer did not attach to stub " + std::to_string(e.pid());
        dog.arm(e.fd());
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
            return "pipe2";
        Fd out_r(pp[0]), out_w(pp[1]);
        const std::string word = "w" + std::to_string(i);
        const std::string missing = tmp / "missing";
        KindRun run = run_kind(e, k, m.sync, out_w.get(), opath, word, missing);
        out_w.reset();
        const Step &last = run.steps.back();
        const auto &log = run.log;
        const std::string &what = run.what;
        std::string wrong;
        switch (k) {
        case 0: { // success: the probe wrote the word and saw fds 1 and 5
            if (!(last.rc == ok())) {
                wrong = what;
                break;
            }
            std::string out;
            char buf[65536];
            for (;;) {
                pollfd pf{out_r.get(), POLLIN, 0};
                if (poll(&pf, 1, 10000) <= 0) {
                    wrong = "no EOF on the probe's stdout within 10 s: " + what;
                    break;
                }
                ssize_t r = read(out_r.get(), buf, sizeof buf);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                out.append(buf, static_cast<size_t>(r));
            }
            Exit x = wait_pidfd(e.fd());
            if (wrong.empty() && (out.rfind(word + "\n", 0) != 0 || out.find("\nfds=1,5\n") == std::string::npos ||
                                  out.find("\nfd.5=" + tmp.path() + "/d flags=") == std::string::npos || !x.exited(0)))
                wrong = "output '" + out.substr(0, 200) + "', " + describe(x) + ": " + what;
            break;
        }
        case 1:   // a failing op: ENOENT at cwd (sync) or at CMD_EXEC (batched), named, nothing runs
        case 3: { // an exec failure: ENOENT at CMD_EXEC, "e exec:"
            const char *prefix = k == 1 ? "e cwd: " : "e exec: ";
            const char *at = k == 1 && m.sync ? "cwd" : "CMD_EXEC";
            if (std::strcmp(last.name, at) != 0 || !(last.rc == fails(ENOENT)) || !has_message(log, prefix, "ENOENT")) {
                wrong = what;
                break;
            }
            if (!m.sync) {
                Exit x = wait_pidfd(e.fd(), true);
                if (!x.killed(SIGKILL)) {
                    wrong = "the stub did not kill itself (" + describe(x) + "): " + what;
                    break;
                }
            }
            pollfd pf{out_r.get(), POLLIN, 0};
            char c;
            if (poll(&pf, 1, 0) == 1 && read(out_r.get(), &c, 1) > 0)
                wrong = "something ran and wrote: " + what;
            break;
        }
        case 2: // aborted: everything but CMD_EXEC, then ep_close
            if (!(last.rc == ok()))
                wrong = what;
            break;
        }
        const bool hung = dog.disarm();
        if (hung)
            wrong = "hung: the watchdog killed the stub after 10 s; " + what;
        Rc closed = e.close();
        if (wrong.empty() && !(closed == ok()))
            wrong = "ep_close: " + what;
        // The stub has exec'd or is dead by now (ep_close kills a stub that has not exec'd), so the
        // tracer has its counts.
        Reply r = t.reply();
        if (r.end == kLost)
            return "the tracer sent no counts for stub " + std::to_string(e.pid()) +
                   (wrong.empty() ? "" : "; " + wrong);
        if (r.end != (k == 0 ? kExec : kExited) && wrong.empty())
            wrong = std::string("the tracer saw the stub ") + (r.end == kExec ? "exec" : "end") + ": " + what;
        for (int c = 0; c < kCounts; c++)
            n[c] += r.counts[c];
        // An ENOBUFS now and then must change nothing: the stub sends its verdict again. One that
        // never passes leaves the stub a verdict it cannot send; it must then end itself. The
        // caller's call fails with ECHILD and a message instead of waiting forever for the verdict,
        // and no program runs (an EXEC_BEGIN lost and the exec made anyway would be a program
        // running that the caller takes for a dead stub).
        if (!wrong.empty() && !hung && no_memory && r.counts[kEnobufs] > 0 && r.end == kExited &&
            last.rc == fails(ECHILD) && has_message(log, "e ", "died") && closed == ok()) {
            *failed_enobufs = true;
            wrong.clear();
        }
        return wrong;
    }
};

TEST_P(StubFaults, EintrAndEagainInTheStubsCallsChangeNoOutcomeAnEnobufsEndsTheSpawnCleanlyAndNothingLeaks) {
#if !defined(__x86_64__)
    GTEST_SKIP() << "the injector rewrites x86_64 registers (orig_rax, rax, rdx)";
#else
    const Matrix &m = GetParam();
    const uint64_t seed = test_seed("stub faults");
    tmp.dir("d");
    Fd opath(::open((tmp / "d").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_GE(opath.get(), 0);
    const auto fds_before = open_fds();
    Counts n{}, starved{}; // the spawns with memory now and then, and those without

    {
        Tracer t; // forked before the watchdog's thread exists
        ASSERT_TRUE(t.running());
        Watchdog dog;
        // Warm-up, traced without faults: ptrace works here, and the strategies' caches and helpers
        // exist before the counted spawns.
        for (int i = 0; i < 4; i++) {
            int no_ptrace = 0;
            Counts warm{};
            bool enobufs;
            ASSERT_EQ(one(t, dog, 0, i, false, false, 0, opath.get(), warm, &no_ptrace, &enobufs), "");
            if (no_ptrace)
                GTEST_SKIP() << "cannot ptrace the stub here (PTRACE_SEIZE: " << errno_name(no_ptrace)
                             << "): a container without CAP_SYS_PTRACE, or Yama's ptrace_scope";
        }

        constexpr int kSpawns = 200;
        int right[kKinds] = {}, enobufs_failed = 0, wrong = 0;
        for (int i = 0; i < kSpawns && wrong < 5; i++) {
            int k = i % kKinds, no_ptrace = 0;
            bool failed_enobufs = false;
            // Four spawns in a hundred, one of each kind, where memory never comes back.
            bool no_memory = (i / kKinds) % 25 == 24;
            std::string why = one(t, dog, k, i, true, no_memory, splitmix64(seed + static_cast<uint64_t>(i)),
                                  opath.get(), no_memory ? starved : n, &no_ptrace, &failed_enobufs);
            if (no_ptrace)
                why = "PTRACE_SEIZE failed: " + errno_name(no_ptrace);
            if (!why.empty()) {
                wrong++;
                ADD_FAILURE() << "spawn " << i << ": " << why;
                continue;
            }
            if (failed_enobufs)
                enobufs_failed++;
            else
                right[k]++;
        }
        t.stop();
        EXPECT_EQ(wrong, 0);
        const uint64_t starved_enobufs = starved[kEnobufs];
        for (int c = 0; c < kCounts; c++)
            n[c] += c == kEnobufs ? 0 : starved[c];
        std::printf(
            "stub faults (%s): %d spawns: %d success, %d failing op, %d aborted, %d exec failure right; %d ended "
            "cleanly where memory never came back\n"
            "  stub system calls seen %llu: recvmsg %llu, sendmsg %llu, read %llu, write %llu, io_uring_enter "
            "%llu, futex %llu\n"
            "  legal: EINTR at %llu, EAGAIN at %llu, ENOBUFS at %llu, short at %llu (%llu on SOCK_SEQPACKET, never "
            "short)\n"
            "  injected: EINTR %llu, EAGAIN %llu, ENOBUFS %llu (and %llu in the spawns without memory), short %llu\n",
            m.name().c_str(), kSpawns, right[0], right[1], right[2], right[3], enobufs_failed,
            static_cast<unsigned long long>(n[kEntries]), static_cast<unsigned long long>(n[kRecvmsg]),
            static_cast<unsigned long long>(n[kSendmsg]), static_cast<unsigned long long>(n[kRead]),
            static_cast<unsigned long long>(n[kWrite]), static_cast<unsigned long long>(n[kUringEnter]),
            static_cast<unsigned long long>(n[kFutex]), static_cast<unsigned long long>(n[kEintrLegal]),
            static_cast<unsigned long long>(n[kEagainLegal]), static_cast<unsigned long long>(n[kEnobufsLegal]),
            static_cast<unsigned long long>(n[kShortLegal]), static_cast<unsigned long long>(n[kSeqpacket]),
            static_cast<unsigned long long>(n[kEintr]), static_cast<unsigned long long>(n[kEagain]),
            static_cast<unsigned long long>(n[kEnobufs]), static_cast<unsigned long long>(starved_enobufs),
            static_cast<unsigned long long>(n[kShort]));
        for (int k = 0; k < kKinds; k++)
            EXPECT_GT(right[k], 0) << kKindNames[k] << " never ran to its own outcome";
        EXPECT_GT(enobufs_failed, 0) << "no spawn without memory ended";
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
    EXPECT_TRUE(live_stubs_of({getpid()}).empty()) << describe(live_stubs_of({getpid()}));
    // Not vacuous: faults reached the stub wherever they were legal.
    EXPECT_GT(n[kEintr], 0u) << "no EINTR was injected: nothing was tested";
    EXPECT_GT(n[kEnobufs], 0u) << "no ENOBUFS was injected now and then: the retry was not tested";
    EXPECT_EQ(n[kEagainLegal] > 0, n[kEagain] > 0);
    // No call of the stub may come back short today: its socket is SOCK_SEQPACKET, where a datagram
    // arrives whole. If a byte stream appears on its path, the tracer cuts it.
    EXPECT_EQ(n[kShortLegal] > 0, n[kShort] > 0);
    if (m.transport.id == EP_TRANSPORT_IO_URING) {
        EXPECT_GT(n[kEagain], 0u) << "io_uring submissions were never failed with EAGAIN";
    }
#endif
}

} // namespace

EP_INSTANTIATE_MATRIX(Reliability, StubFaults);
