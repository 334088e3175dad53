// SPDX-License-Identifier: MIT
// handle.cpp - one empty process: validate -> encode -> send, and the verdicts that come back.
#include "handle.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
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
    end_stub(stub_, *chan_);
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
    bool is_exec = cmd == EP_CONFIG_CMD_EXEC;
    std::string name = is_exec ? "exec" : key_for_log(key);
    if (is_exec && (key || value || aux))
        return fail(EINVAL, name, "CMD_EXEC takes no key, no value and aux 0");
    if (int err = check_configurable(name))
        return err;
    return is_exec ? exec() : set(cmd, key, value, aux, name);
}

void Handle::set_fs_first(FsAtOpen fs) {
    // Sent with the first frame, whenever that goes: nothing can come before them. A failure names
    // them as what they are, not as a key the caller set.
    Record cwd;
    cwd.op = EP_OP_CHDIR;
    cwd.payload.assign("", 1); // "": the descriptor itself
    keys_.push_back("cwd (the caller's at ep_open)");
    pending_.add(static_cast<uint32_t>(keys_.size() - 1), cwd, std::move(fs.cwd));
    Record mask;
    mask.op = EP_OP_UMASK;
    mask.a = fs.umask;
    keys_.push_back("umask (the caller's at ep_open)");
    pending_.add(static_cast<uint32_t>(keys_.size() - 1), mask, UniqueFd());
}

// Whether ops may still be added; if not, the reason, logged against `name`.
int Handle::check_configurable(const std::string &name) {
    switch (state_) {
    case State::Configuring:
        return 0;
    case State::Execd:
        return fail(EALREADY, name, "the program was already exec'd");
    case State::Failed:
        return fail(failed_err_, name, "the stream already failed (" + errno_text(failed_err_) + ")");
    case State::Dead:
        break;
    }
    return fail(ECHILD, name, "the stub is dead");
}

int Handle::check_order(KeyId id, const Record &r, std::string &msg) const {
    auto before_uid = [&](const char *what, const char *why) {
        msg = std::string(what) + " must come before uid: " + why;
        return -EINVAL;
    };
    if (int err = check_sandbox_order(id, r, msg))
        return err;
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

// The ordering rules of the sandbox keys (docs/semantics.md section 5; spawn-ecosystem.md section 3.2).
int Handle::check_sandbox_order(KeyId id, const Record &r, std::string &msg) const {
    auto rule = [&](const std::string &text) {
        msg = text;
        return -EINVAL;
    };
    size_t nkeys = 0;
    // Rule 4: seccomp last. The filter is in force for every op after it; only the ops the stub merely
    // records (argv, env, exec, sigmask) and further filters may follow.
    if (order_.seccomp && id != KeyId::Seccomp && id != KeyId::SeccompDeny && id != KeyId::Argv && id != KeyId::Env &&
        id != KeyId::Exec && id != KeyId::Sigmask)
        return rule(std::string(key_table(&nkeys)[static_cast<size_t>(id)].name) +
                    " must come before seccomp: the filter applies to every op after it, so seccomp comes last");
    bool cred = id == KeyId::Uid || id == KeyId::Gid || id == KeyId::Groups;
    switch (id) {
    case KeyId::Unshare:
        if ((r.a & CLONE_NEWUSER) && order_.namespaces)
            return rule("unshare user must come before the other namespaces: those made before it are owned by the "
                        "caller's user namespace, not the new one");
        if ((r.a & CLONE_NEWUSER) && order_.userns)
            return rule("unshare user came already");
        if ((r.a & CLONE_NEWCGROUP) && order_.cgroupns)
            return rule("unshare cgroup came already");
        break;
    case KeyId::UidMap:
    case KeyId::GidMap:
        if (order_.userns)
            return rule(std::string(id == KeyId::UidMap ? "uid_map" : "gid_map") +
                        " must come before unshare user: the maps are written as the namespace is made");
        break;
    case KeyId::Hostname:
        if (!order_.uts)
            return rule("hostname needs a new UTS namespace first (unshare uts, or setns of one): it would rename "
                        "the caller's host");
        break;
    case KeyId::RemountRo:
        if (!order_.mntns)
            return rule("remount_ro needs a new mount namespace first (unshare mnt, or setns of one): it would change "
                        "the caller's mounts");
        break;
    case KeyId::Cgroup:
        if (order_.cgroupns)
            return rule("cgroup must come before unshare cgroup: the new namespace's root is the cgroup the process "
                        "is in when it is made");
        break;
    case KeyId::CapDrop:
        if (order_.uid)
            return rule("cap_drop must come before uid: dropping from the bounding set needs CAP_SETPCAP, which "
                        "the uid change gives up");
        break;
    case KeyId::KeepCaps:
        if (order_.uid)
            return rule("keep_caps must come before uid: it is what keeps the permitted set across the uid change");
        break;
    case KeyId::CapAmbient:
        if (order_.uid && !order_.keep_caps_at_uid)
            return rule("cap_ambient after uid needs keep_caps before uid: the uid change empties the permitted "
                        "set, and an ambient capability must be permitted");
        break;
    case KeyId::OomScoreAdj:
        if (order_.uid)
            return rule("oom_score_adj must come before uid: lowering it needs CAP_SYS_RESOURCE, which the uid "
                        "change gives up");
        break;
    case KeyId::Nice:
        if (order_.uid)
            return rule("nice must come before uid: lowering it needs CAP_SYS_NICE, which the uid change gives up");
        break;
    case KeyId::Ctty:
        if (!order_.setsid)
            return rule("setsid must come before ctty: only a session leader can take a controlling terminal");
        break;
    default:
        break;
    }
    if (cred && order_.cap_ambient)
        return rule(std::string(id == KeyId::Uid   ? "uid"
                                : id == KeyId::Gid ? "gid"
                                                   : "groups") +
                    " must come before cap_ambient: a credential change clears the ambient set");
    if (cred && order_.pdeathsig)
        return rule(std::string(id == KeyId::Uid   ? "uid"
                                : id == KeyId::Gid ? "gid"
                                                   : "groups") +
                    " must come before pdeathsig: a credential change clears the parent-death signal");
    return 0;
}

void Handle::note_sandbox_order(KeyId id, const Record &r) {
    switch (id) {
    case KeyId::Unshare:
        if (r.a & CLONE_NEWUSER)
            order_.userns = true;
        if (r.a & ~static_cast<int64_t>(CLONE_NEWUSER))
            order_.namespaces = true;
        order_.uts |= (r.a & CLONE_NEWUTS) != 0;
        order_.mntns |= (r.a & CLONE_NEWNS) != 0;
        order_.cgroupns |= (r.a & CLONE_NEWCGROUP) != 0;
        break;
    case KeyId::Setns:
        order_.namespaces = true;
        order_.uts |= r.a == CLONE_NEWUTS;
        order_.mntns |= r.a == CLONE_NEWNS;
        break;
    case KeyId::Seccomp:
    case KeyId::SeccompDeny:
        order_.seccomp = true;
        break;
    case KeyId::KeepCaps:
        order_.keep_caps = true;
        break;
    case KeyId::CapAmbient:
        order_.cap_ambient = true;
        break;
    case KeyId::Pdeathsig:
        order_.pdeathsig = true;
        break;
    case KeyId::Uid:
        order_.keep_caps_at_uid = order_.keep_caps;
        break;
    default:
        break;
    }
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

int Handle::set(unsigned cmd, const char *key, const void *value, int aux, const std::string &name) {
    Record r;
    KeyId id{};
    std::string msg;
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
        note_sandbox_order(id, r);
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
    return await_verdicts(index);
}

int Handle::flush() {
    if (pending_.empty())
        return 0;
    int err = chan_->send(pending_, sync_ ? EP_FRAME_SYNC : 0, pidfd());
    if (err == 0)
        return 0;
    pending_.clear();
    if (err == -EPIPE || err == -ECONNRESET || err == -ECHILD)
        return await_verdicts(UINT32_MAX); // the stub is gone: learn why from what it said
    state_ = State::Dead;
    return fail(-err, "stream", "sending to the stub: " + errno_text(-err));
}

int Handle::await_verdicts(uint32_t until_index) {
    for (;;) {
        ep_wire_verdict v;
        int r = chan_->recv(v, pidfd());
        if (r == 1) {
            if (v.kind == EP_VERDICT_OK && v.index < until_index)
                continue;
            if (v.kind == EP_VERDICT_OK)
                return 0;
            return verdict_failure(v);
        }
        state_ = State::Dead;
        if (r == 0 || r == -ECHILD)
            return fail(ECHILD, "stream", "the stub died before it could exec (killed from outside?)");
        if (r == -EPROTO)
            return fail(EPROTO, "stream", "malformed verdict from the stub");
        return fail(-r, "stream", "receiving from the stub: " + errno_text(-r));
    }
}

int Handle::verdict_failure(const ep_wire_verdict &v) {
    std::string name = v.index < keys_.size() ? keys_[v.index] : "stream";
    if (v.kind == EP_VERDICT_FAIL) {
        int err = -v.err;
        if (!sync_) {
            state_ = State::Failed;
            failed_err_ = err;
        }
        return fail(err, name, errno_text(err));
    }
    // BAD_FRAME, or a verdict out of place: a bug on one side of the protocol
    state_ = State::Failed;
    failed_err_ = EPROTO;
    return fail(EPROTO, name, "the stub rejected a frame: " + errno_text(-v.err));
}

// Wait until fd hangs up (or is readable) or the process exits.
static int wait_hangup(int fd, int pidfd) {
    for (;;) {
        pollfd p[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        if (poll(p, 2, -1) >= 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

// After the EXEC frame: one sleep, until the exec pipe's write end (held by the stub alone) closes
// in execve, in the stub's death, or after a FAIL. Then the verdicts queued meanwhile say which.
int Handle::await_exec(const UniqueFd &exec_pipe) {
    if (int err = wait_hangup(exec_pipe.get(), pidfd())) {
        state_ = State::Dead;
        return fail(-err, "exec", "waiting for the exec: " + errno_text(-err));
    }
    bool begun = false;
    for (;;) {
        ep_wire_verdict v;
        int r = chan_->try_recv(v);
        if (r == 0)
            break; // nothing more queued (or EOF)
        if (r < 0) {
            state_ = State::Dead;
            return fail(-r, "exec", "receiving from the stub: " + errno_text(-r));
        }
        if (v.kind == EP_VERDICT_EXEC_BEGIN)
            begun = true;
        else if (v.kind != EP_VERDICT_OK)
            return verdict_failure(v);
    }
    if (!begun) {
        state_ = State::Dead;
        return fail(ECHILD, "exec", "the stub died before it could exec (killed from outside?)");
    }
    state_ = State::Execd;
    chan_->shutdown();
    stub_.memory.reset(); // execve replaced the mm before it closed the pipe: the region is free
    return 0;
}

int Handle::exec() {
    if (!order_.exec_target)
        return fail(EINVAL, "exec", "no program to exec: set the \"exec\" key first");

    // The exec pipe: its write end goes to the stub with the EXEC record and our copy is closed
    // once the frame is sent, so that its EOF tells "exec'd" (docs/design.md, section 7).
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return fail(errno, "exec", std::string("pipe2: ") + strerror(errno));
    UniqueFd exec_pipe(p[0]);
    UniqueFd write_end(p[1]);

    // The stub uses the default argv[0] only if no "argv" came: it knows, we may not (sync retries).
    Record e;
    e.op = EP_OP_EXEC;
    e.payload.assign(default_argv0_.c_str(), default_argv0_.size() + 1);
    e.caller_fd = write_end.get();
    uint32_t index = static_cast<uint32_t>(keys_.size());
    keys_.push_back("exec");
    if (!pending_.fits(e))
        if (int err = flush())
            return err;
    pending_.add(index, e, std::move(write_end));
    if (int err = flush())
        return err;
    return await_exec(exec_pipe);
}

} // namespace ep::detail
