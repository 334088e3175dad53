// SPDX-License-Identifier: MIT
// handle.cpp - one empty process: validate -> encode -> send, and the verdicts that come back.
#include "handle.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "emptyproc/emptyproc.h"

namespace ep::detail {
namespace {

constexpr size_t kKeyInLog = 64; // a hostile key is cut short in messages

std::string key_for_log(const char *key) {
    if (!key)
        return "(no key)";
    std::string k(key, strnlen(key, kKeyInLog));
    if (k.size() == kKeyInLog)
        k += "...";
    return k;
}

std::string fd_path(int fd) {
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string("fd-") + std::to_string(fd);
}

} // namespace

Handle::Handle(StubProcess stub, std::unique_ptr<Channel> chan, bool sync)
    : stub_(std::move(stub)), chan_(std::move(chan)), sync_(sync) {}

Handle::~Handle() {
    if (state_ != State::Execd)
        kill_and_reap();
}

int Handle::init(std::string &msg) {
    struct stat st;
    if (fstat(pidfd(), &st) < 0) {
        int err = errno;
        msg = "fstat of the pidfd: " + std::string(strerror(err));
        return -err;
    }
    ino_ = st.st_ino;
    return 0;
}

int Handle::fail(int err, const std::string &prefix, const std::string &text) {
    log_.add('e', prefix, text);
    return -err;
}

void Handle::kill_and_reap() {
    if (!stub_.pidfd)
        return;
    syscall(SYS_pidfd_send_signal, pidfd(), SIGKILL, nullptr, 0);
    chan_->shutdown();
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd()), &info, WEXITED) < 0 && errno == EINTR) {
    }
    stub_.memory.reset(); // the stub is gone: its stack and buffers can be reused
}

int Handle::release_pidfd() {
    if (state_ == State::Execd)
        chan_->shutdown();
    else
        kill_and_reap();
    state_ = State::Execd; // nothing left for the destructor to do
    stub_.memory.reset();
    return stub_.pidfd.release();
}

void Handle::abandon() {
    stub_.pidfd.release(); // not ours any more: never close or signal it
    if (state_ != State::Execd) {
        ::kill(stub_.pid, SIGKILL);
        chan_->shutdown();
        while (waitpid(stub_.pid, nullptr, __WALL) < 0 && errno == EINTR) {
        }
        stub_.memory.reset();
    }
    state_ = State::Execd;
}

int Handle::config(unsigned cmd, const char *key, const void *value, int aux) {
    if (cmd == EP_CONFIG_CMD_EXEC) {
        if (key || value || aux)
            return fail(EINVAL, "exec", "CMD_EXEC takes no key, no value and aux 0");
        return exec();
    }
    switch (state_) {
    case State::Configuring:
        return set(cmd, key, value, aux);
    case State::Execd:
        return fail(EALREADY, key_for_log(key), "the program was already exec'd");
    case State::Failed:
        return fail(failed_err_, key_for_log(key), "the stream already failed (" + errno_text(failed_err_) + ")");
    case State::Dead:
        break;
    }
    return fail(ECHILD, key_for_log(key), "the stub is dead");
}

int Handle::check_order(KeyId id, const Record &, std::string &msg) const {
    auto before_uid = [&](const char *what, const char *why) {
        msg = std::string(what) + " must come before uid: " + why;
        return -EINVAL;
    };
    switch (id) {
    case KeyId::Groups:
        if (order_.uid)
            return before_uid("groups", "setgroups needs CAP_SETGID, which the uid change gives up");
        break;
    case KeyId::Gid:
        if (order_.uid)
            return before_uid("gid", "setgid needs CAP_SETGID, which the uid change gives up");
        break;
    case KeyId::Root:
        if (order_.uid)
            return before_uid("root", "chroot needs CAP_SYS_CHROOT, which the uid change gives up");
        if (order_.cwd) {
            msg = "root must come before cwd: root makes \"/\" of the new root the working directory";
            return -EINVAL;
        }
        break;
    case KeyId::Rlimit:
        if (order_.uid)
            return before_uid("rlimit", "raising a hard limit needs CAP_SYS_RESOURCE, which the uid change gives up");
        break;
    case KeyId::Setsid:
        if (order_.pgid) {
            msg = "setsid and pgid exclude each other: a process group leader cannot start a session";
            return -EINVAL;
        }
        break;
    case KeyId::Pgid:
        if (order_.setsid) {
            msg = "setsid and pgid exclude each other: a session leader cannot change its process group";
            return -EINVAL;
        }
        break;
    default:
        break;
    }
    return 0;
}

void Handle::note_order(KeyId id) {
    switch (id) {
    case KeyId::Uid:
        order_.uid = true;
        break;
    case KeyId::Groups:
        order_.groups = true;
        break;
    case KeyId::Cwd:
        order_.cwd = true;
        break;
    case KeyId::Setsid:
        order_.setsid = true;
        break;
    case KeyId::Pgid:
        order_.pgid = true;
        break;
    case KeyId::Exec:
        order_.exec_target = true;
        break;
    default:
        break;
    }
}

int Handle::set(unsigned cmd, const char *key, const void *value, int aux) {
    Record r;
    KeyId id{};
    std::string msg;
    std::string name = key_for_log(key);
    if (int err = parse_config(cmd, key, value, aux, r, id, msg))
        return fail(-err, name, msg);
    if (int err = check_order(id, r, msg))
        return fail(-err, name, msg);
    if (id == KeyId::Uid && !order_.groups)
        r.c |= EP_SETUID_CLEAR_GROUPS;

    uint32_t index = static_cast<uint32_t>(keys_.size());
    keys_.push_back(name);
    int err = queue(index, r);
    if (err == 0) {
        note_order(id);
        if (id == KeyId::Exec)
            default_argv0_ = (r.c == EP_EXEC_FD && r.caller_fd >= 0) ? fd_path(r.caller_fd)
                                                                     : std::string(static_cast<const char *>(value));
    }
    return err;
}

int Handle::queue(uint32_t index, const Record &r) {
    UniqueFd dup;
    if (r.caller_fd >= 0) {
        // Our own copy: the caller may close theirs as soon as ep_config() returns.
        dup.reset(fcntl(r.caller_fd, F_DUPFD_CLOEXEC, 0));
        if (!dup)
            return fail(errno, keys_[index], "duplicating fd " + std::to_string(r.caller_fd) + ": " + strerror(errno));
    }
    if (!pending_.fits(r))
        if (int err = flush())
            return err;
    pending_.add(index, r, std::move(dup));
    if (!sync_)
        return 0;
    if (int err = flush())
        return err;
    return await_verdicts(index, false);
}

int Handle::flush() {
    if (pending_.empty())
        return 0;
    int err = chan_->send(pending_, sync_ ? EP_FRAME_SYNC : 0, pidfd());
    if (err == 0)
        return 0;
    pending_.clear();
    if (err == -EPIPE || err == -ECONNRESET || err == -ECHILD)
        return await_verdicts(UINT32_MAX, false); // the stub is gone: learn why from what it said
    state_ = State::Dead;
    return fail(-err, "stream", "sending to the stub: " + errno_text(-err));
}

// The next thing the stub says. After EXEC_BEGIN the exec pipe is watched too: its EOF (or the
// stub's exit) with no FAIL queued means the exec happened. The channel's EOF cannot be relied on
// alone: a process the caller forked may hold a copy of the stub's end of it.
int Handle::next_verdict(ep_wire_verdict &v, UniqueFd &exec_pipe, bool &exec_done) {
    exec_done = false;
    if (exec_pipe) {
        int r = chan_->wait_verdict_or(exec_pipe.get(), pidfd());
        if (r < 0)
            return r;
        if (r == 0) {
            r = chan_->try_recv(v); // a FAIL is sent before the pipe closes: look for one first
            if (r == 0)
                exec_done = true;
            return r;
        }
    }
    UniqueFd fd;
    int r = chan_->recv(v, pidfd(), fd);
    if (r == 1 && v.kind == EP_VERDICT_EXEC_BEGIN)
        exec_pipe = std::move(fd);
    if (r == 0 && exec_pipe)
        exec_done = true; // the channel's EOF after EXEC_BEGIN: the stub's end closed in execve
    return r;
}

int Handle::await_verdicts(uint32_t until_index, bool exec) {
    UniqueFd exec_pipe;
    for (;;) {
        ep_wire_verdict v;
        bool exec_done = false;
        int r = next_verdict(v, exec_pipe, exec_done);
        if (exec_done && exec) {
            state_ = State::Execd;
            chan_->shutdown();
            stub_.memory.reset();
            return 0;
        }
        if (r == 1) {
            switch (v.kind) {
            case EP_VERDICT_OK:
                if (v.index >= until_index)
                    return 0;
                continue;
            case EP_VERDICT_EXEC_BEGIN:
                continue;
            case EP_VERDICT_FAIL: {
                int err = -v.err;
                std::string name = v.index < keys_.size() ? keys_[v.index] : "stream";
                if (!sync_) {
                    state_ = State::Failed;
                    failed_err_ = err;
                }
                return fail(err, name, errno_text(err));
            }
            default: // EP_VERDICT_BAD_FRAME: a bug on one side of the protocol
                state_ = State::Failed;
                failed_err_ = EPROTO;
                return fail(EPROTO, v.index < keys_.size() ? keys_[v.index] : "stream",
                            "the stub rejected a frame: " + errno_text(-v.err));
            }
        }
        state_ = State::Dead;
        if (r == 0 || r == -ECHILD)
            return fail(ECHILD, exec ? "exec" : "stream", "the stub died before it could exec (killed from outside?)");
        if (r == -EPROTO)
            return fail(EPROTO, "stream", "malformed verdict from the stub");
        return fail(-r, "stream", "receiving from the stub: " + errno_text(-r));
    }
}

int Handle::exec() {
    if (state_ == State::Execd)
        return fail(EALREADY, "exec", "the program was already exec'd");
    if (state_ == State::Failed)
        return fail(failed_err_, "exec", "the stream already failed (" + errno_text(failed_err_) + ")");
    if (state_ == State::Dead)
        return fail(ECHILD, "exec", "the stub is dead");
    if (!order_.exec_target)
        return fail(EINVAL, "exec", "no program to exec: set the \"exec\" key first");

    // The stub uses the default argv[0] only if no "argv" came: it knows, we may not (sync retries).
    Record e;
    e.op = EP_OP_EXEC;
    e.payload.assign(default_argv0_.c_str(), default_argv0_.size() + 1);
    uint32_t index = static_cast<uint32_t>(keys_.size());
    keys_.push_back("exec");
    if (!pending_.fits(e))
        if (int err = flush())
            return err;
    pending_.add(index, e, UniqueFd());
    if (int err = flush())
        return err;
    return await_verdicts(index, true);
}

} // namespace ep::detail
