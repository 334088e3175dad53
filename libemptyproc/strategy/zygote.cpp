// SPDX-License-Identifier: MIT
// zygote.cpp - strategy zygote: a long-lived pristine helper (ep-stub in zygote mode, started once
// like exec_stub) forks each stub on request with CLONE_PARENT, so that the stub is the caller's
// child (waitid works) and its creation never depends on the caller's size.
//
// The zygote shares the caller's cwd, root and umask (it was started with CLONE_FS), so a stub it
// forks has the caller's as of the request. Credentials and rlimits it took at its start: when the
// caller's differ at a request (Fingerprint), the zygote is replaced. It dies with its caller
// (PR_SET_PDEATHSIG, checked against a caller already gone; it is started by a thread of the
// library's that never ends, since the signal follows the starting thread) and at the EOF of its
// connection. After
// a fork() of the caller the child starts a zygote of its own (the parent's would make stubs of the
// parent's). The request carries the stub's descriptors by SCM_RIGHTS; the reply its pidfd. Over
// io_uring the zygote also makes the stub's ring C, which SCM_RIGHTS cannot carry (docs/io_uring.md).
#include <linux/sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <mutex>

#include "../stub/stub.h"
#include "../stub/zygote.h"
#include "fingerprint.hpp"
#include "helper.hpp"
#include "region.hpp"

namespace ep::detail {
namespace {

class Zygote {
  public:
    int start_stub(const StubLaunch &launch, StubProcess &out, std::string &msg) {
        std::lock_guard lock(mu_);
        if (owner_ != getpid())
            forget();
        Fingerprint fp = Fingerprint::now();
        if (ctl_ && !(fp == fp_))
            stop(); // credentials or rlimits changed since it started: a stub must have the new ones
        for (int attempt = 0;; attempt++) {
            if (!ctl_)
                if (int err = start(fp, msg))
                    return err;
            bool sent = false;
            int err = request(launch, out, sent, msg);
            if (err == 0)
                return 0;
            if (err != -EPIPE && err != -ECONNRESET)
                return err;
            stop(); // it is gone: the next ep_open() starts another
            // Retry only a request it never got: one it got may have made a stub already, on the
            // same channel.
            if (sent || attempt == 1)
                return err;
        }
    }

    void release() {
        std::lock_guard lock(mu_);
        if (owner_ != getpid())
            forget();
        stop();
    }

    // fork() of the caller: the locks are held across it, and the child starts afresh: a keeper
    // waiting on kcv_ in the parent does not exist in the child, so the condition variable is made
    // anew (signalling the copy could wait for that waiter forever).
    void atfork_prepare() {
        mu_.lock();
        kmu_.lock();
    }
    void atfork_parent() {
        kmu_.unlock();
        mu_.unlock();
    }
    void atfork_child() {
        new (&kcv_) std::condition_variable;
        keeper_owner_ = 0;
        job_ = done_ = false;
        forget();
        kmu_.unlock();
        mu_.unlock();
    }

  private:
    // The zygote's parent-death signal fires when the *thread* that started it ends, so it is
    // started by a thread of the library's that never ends (per process: a fork()ed child that
    // uses the zygote gets its own).
    int start(const Fingerprint &fp, std::string &msg) {
        std::unique_lock lock(kmu_);
        if (keeper_owner_ != getpid()) {
            keeper_owner_ = getpid();
            job_ = done_ = false;
            start_library_thread([this, me = getpid()] { keeper(me); });
        }
        job_ = true;
        job_fp_ = &fp;
        kcv_.notify_all();
        kcv_.wait(lock, [this] { return done_; });
        done_ = false;
        msg = job_msg_;
        return job_err_;
    }

    // Signals: see start_library_thread() (no handler of the caller's runs here; SIGSETXID does, so
    // that the zygote it starts has the caller's credentials).
    void keeper(pid_t me) {
        std::unique_lock lock(kmu_);
        for (;;) {
            kcv_.wait(lock, [this] { return job_; });
            if (keeper_owner_ != me)
                return;
            job_ = false;
            job_err_ = launch_zygote(*job_fp_, job_msg_);
            done_ = true;
            kcv_.notify_all();
        }
    }

    // On the keeper thread; mu_ is held by the thread that asked (it waits for this).
    int launch_zygote(const Fingerprint &fp, std::string &msg) {
        // The zygote gets this thread's credentials. glibc's set*id() and setgroups() give every
        // thread the same ones (SIGSETXID, see start_library_thread()); a raw system call changes the
        // calling thread's only, and a zygote started here would then make stubs with others.
        if (!(Fingerprint::now() == fp)) {
            msg = "strategy zygote: the calling thread's credentials differ from the library's thread's "
                  "(changed by a raw system call, not on every thread?); use another strategy";
            return -EOPNOTSUPP;
        }
        std::string path;
        if (int err = helper_path(path, msg))
            return err;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
            int err = errno;
            msg = "socketpair for the zygote: " + std::string(strerror(err));
            return -err;
        }
        UniqueFd mine(sv[0]), theirs(sv[1]);
        std::vector<std::string> argv{"ep-stub", "z", std::to_string(sv[1]), std::to_string(getpid())};
        StubProcess z;
        if (int err = launch_helper(-1, path, argv, &sv[1], 1, CLONE_FS, z, msg))
            return err;
        ctl_ = std::move(mine);
        zygote_ = std::move(z.pidfd);
        fp_ = fp;
        owner_ = getpid();
        return 0;
    }

    void stop() {
        if (!ctl_)
            return;
        ctl_.reset(); // EOF: it exits
        syscall(SYS_pidfd_send_signal, zygote_.get(), SIGKILL, nullptr, 0);
        siginfo_t info;
        while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(zygote_.get()), &info, WEXITED) < 0 &&
               errno == EINTR) {
        }
        zygote_.reset();
    }

    // In a forked child: the connection is the parent's zygote's. Drop our copies, start anew.
    void forget() {
        ctl_.reset();
        zygote_.reset();
        owner_ = getpid();
    }

    int request(const StubLaunch &launch, StubProcess &out, bool &sent, std::string &msg) {
        // io_uring: the zygote makes ring C (an io_uring descriptor cannot go by SCM_RIGHTS); the
        // channel takes its copy from the stub once it exists (Channel::stub_started).
        uint32_t flags = launch.transport == EP_STUB_TRANSPORT_IO_URING ? EP_ZYGOTE_MAKE_RING : 0;
        ep_zygote_request req{EP_ZYGOTE_MAGIC, launch.transport, launch.nkeep, flags};
        iovec iov{&req, sizeof req};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        alignas(cmsghdr) unsigned char control[CMSG_SPACE(EP_STUB_KEEP_MAX * sizeof(int))] = {};
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(launch.nkeep * sizeof(int));
        cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(launch.nkeep * sizeof(int));
        std::memcpy(CMSG_DATA(c), launch.keep, launch.nkeep * sizeof(int));
        ssize_t n;
        do
            n = sendmsg(ctl_.get(), &m, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            int err = errno;
            msg = "sending a request to the zygote: " + std::string(strerror(err));
            return -err;
        }
        sent = true;
        ep_zygote_reply rep{};
        iovec riov{&rep, sizeof rep};
        msghdr r{};
        r.msg_iov = &riov;
        r.msg_iovlen = 1;
        alignas(cmsghdr) unsigned char rcontrol[CMSG_SPACE(sizeof(int))] = {};
        r.msg_control = rcontrol;
        r.msg_controllen = sizeof rcontrol;
        do
            n = recvmsg(ctl_.get(), &r, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        int pidfd = -1;
        for (cmsghdr *rc = CMSG_FIRSTHDR(&r); rc; rc = CMSG_NXTHDR(&r, rc))
            if (rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS && rc->cmsg_len >= CMSG_LEN(sizeof(int)))
                std::memcpy(&pidfd, CMSG_DATA(rc), sizeof pidfd);
        UniqueFd owned(pidfd);
        if (n <= 0) {
            int err = n == 0 ? ECHILD : errno;
            msg = "the zygote did not answer: " + std::string(n == 0 ? "it is gone" : strerror(err));
            return -(n == 0 ? EPIPE : err);
        }
        if (n != sizeof rep || rep.magic != EP_ZYGOTE_MAGIC) {
            msg = "malformed reply from the zygote";
            return -EPROTO;
        }
        if (rep.err) {
            msg = "the zygote's clone3(CLONE_PARENT|CLONE_PIDFD): " + std::string(strerror(-rep.err));
            return rep.err;
        }
        if (!owned) {
            msg = "the zygote's reply came without the stub's pidfd";
            return -EPROTO;
        }
        out.pidfd = std::move(owned);
        out.pid = rep.pid;
        out.ring_fd = rep.ring_fd;
        return 0;
    }

    std::mutex mu_;
    std::mutex kmu_; // the keeper thread's job, below
    std::condition_variable kcv_;
    pid_t keeper_owner_ = 0;
    bool job_ = false, done_ = false;
    const Fingerprint *job_fp_ = nullptr;
    int job_err_ = 0;
    std::string job_msg_;
    UniqueFd ctl_;
    UniqueFd zygote_;
    Fingerprint fp_;
    pid_t owner_ = 0;
};

Zygote &zygote() {
    static Zygote *z = new Zygote; // never destroyed: the zygote ends with the process
    return *z;
}

} // namespace

int start_zygote(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    return zygote().start_stub(launch, out, msg);
}

void zygote_release() {
    zygote().release();
}

void zygote_atfork(int phase) {
    if (phase == 0)
        zygote().atfork_prepare();
    else if (phase == 1)
        zygote().atfork_parent();
    else
        zygote().atfork_child();
}

} // namespace ep::detail
