// SPDX-License-Identifier: MIT
// launch.cpp - run the planned ops through the C ABI, exec, wait, and turn the outcome into an exit
// status: the program's own, 128+N, or 127/126/125/2 for what went wrong before it could run.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "commands.hpp"
#include "emptyproc/emptyproc.h"
#include "run.hpp"

namespace ep::cli {
namespace {

std::string errno_text(int err) {
    const char *name = strerrorname_np(err);
    return std::string(name ? name : "E?") + " (" + std::strerror(err) + ")";
}

template <size_t N> unsigned choice_value(const Choice (&choices)[N], const std::string &name) {
    for (const Choice &c : choices)
        if (name == c.name)
            return c.value;
    return ~0u; // not reached: CLI11 checked the name; the library would reject it with EINVAL
}

// ---- The library's log ----------------------------------------------------------------------------

// One message "e <key>: <text>" of a handle's log (or of the thread's open log, pidfd -1).
struct LogMessage {
    char severity; // 'e', 'w', 'i'
    std::string key;
    std::string text;
};

std::vector<LogMessage> drain_log(int pidfd) {
    std::vector<LogMessage> messages;
    char buf[EP_LOG_MSG_MAX];
    while (ep_log_read(pidfd, buf, sizeof buf) >= 0) {
        std::string_view m(buf);
        LogMessage msg{m.empty() ? '?' : m[0], "", std::string(m.substr(m.size() > 2 ? 2 : m.size()))};
        size_t colon = msg.text.find(": ");
        if (colon != std::string::npos) {
            msg.key = msg.text.substr(0, colon);
            msg.text.erase(0, colon + 2);
        }
        messages.push_back(std::move(msg));
    }
    return messages;
}

const char *severity_word(char severity) {
    return severity == 'e' ? "error" : severity == 'w' ? "warning" : "info";
}

// The option behind a key, when exactly one op has that key ("env" or "argv" may have many).
const Op *op_with_key(const std::vector<Op> &ops, const std::string &key) {
    const Op *found = nullptr;
    for (const Op &op : ops)
        if (op.key == key) {
            if (found)
                return nullptr;
            found = &op;
        }
    return found;
}

void print_log(const std::vector<LogMessage> &messages, const std::vector<Op> &ops) {
    for (const LogMessage &m : messages) {
        const Op *op = op_with_key(ops, m.key);
        std::fprintf(stderr, "emptyproc: %s: %s: %s%s\n", severity_word(m.severity), m.key.c_str(), m.text.c_str(),
                     op ? (" [" + op->origin + "]").c_str() : "");
    }
}

// ---- --trace --------------------------------------------------------------------------------------

std::string describe(const Op &op) {
    switch (op.cmd) {
    case EP_CONFIG_SET_FLAG:
        return op.key;
    case EP_CONFIG_SET_FD:
        if (op.opens_file())
            return op.key + "=" + op.value + ((op.open_flags & O_ACCMODE) == O_RDONLY ? " (read-only)" : " (write)");
        return op.key + "=<our fd " + std::to_string(op.fd) + ">";
    default:
        return op.key + "=" + op.value;
    }
}

class Tracer {
  public:
    Tracer(bool enabled, bool sync) : enabled_(enabled), sync_(sync) {}

    void op(const Op &op, int rc, int err) const {
        if (enabled_)
            std::fprintf(stderr, "emptyproc: %s ... %s\n", describe(op).c_str(), verdict(rc, err).c_str());
    }
    void exec(int rc, int err, pid_t pid) const {
        if (enabled_)
            std::fprintf(stderr, "emptyproc: exec ... %s\n",
                         rc == 0 ? ("ok, pid " + std::to_string(pid)).c_str() : verdict(rc, err).c_str());
    }
    void ended(pid_t pid, const siginfo_t &info) const {
        if (!enabled_)
            return;
        if (info.si_code == CLD_EXITED)
            std::fprintf(stderr, "emptyproc: pid %d exited with status %d\n", pid, info.si_status);
        else
            std::fprintf(stderr, "emptyproc: pid %d was killed by signal %d (SIG%s)\n", pid, info.si_status,
                         sigabbrev_np(info.si_status) ? sigabbrev_np(info.si_status) : "?");
    }

  private:
    // In batched mode an op's own verdict comes back only at the exec.
    std::string verdict(int rc, int err) const {
        if (rc == 0)
            return sync_ ? "ok" : "queued";
        return "failed: " + errno_text(err);
    }

    bool enabled_;
    bool sync_;
};

// ---- Failures before the program runs -------------------------------------------------------------

// The exit status for a failed ep_config(); `current` is the op of that call (nullptr: CMD_EXEC).
int failure_status(int err, const Op *current, const std::vector<LogMessage> &log) {
    const LogMessage *cause = log.empty() ? nullptr : &log.front();
    bool names_current = cause && current && cause->key == current->key;
    // The library checks a value (a user name, a signal, a limit) before anything reaches the stub
    // and says EINVAL naming that call's key: the command line's fault, not the op's. (In --sync
    // mode the stub's own verdict on the call could in principle be EINVAL too; none of the ops
    // planned here can fail that way once the library has accepted its value.)
    if (err == EINVAL && names_current)
        return kExitUsage;
    bool exec_failed = cause && cause->key == "exec" && err != ECHILD && err != EPROTO;
    if (exec_failed)
        return err == ENOENT ? kExitNotFound : kExitCannotExec;
    return kExitOpFailed;
}

int report_failure(int pidfd, int err, const Op *current, const std::vector<Op> &ops) {
    std::vector<LogMessage> log = drain_log(pidfd);
    int status = failure_status(err, current, log);
    if (status == kExitUsage) {
        std::fprintf(stderr, "emptyproc run: %s: %s\n", current->origin.c_str(), log.front().text.c_str());
        return status;
    }
    if (log.empty())
        std::fprintf(stderr, "emptyproc: error: %s\n", errno_text(err).c_str());
    print_log(log, ops);
    return status;
}

// ---- The handle and the wait ----------------------------------------------------------------------

// The pidfd of ep_open(); ep_close() kills a stub that has not exec'd, so every early return is safe.
class EmptyProcess {
  public:
    explicit EmptyProcess(int pidfd) : pidfd_(pidfd) {}
    ~EmptyProcess() {
        if (pidfd_ >= 0)
            ep_close(pidfd_);
    }
    EmptyProcess(const EmptyProcess &) = delete;
    EmptyProcess &operator=(const EmptyProcess &) = delete;
    int fd() const { return pidfd_; }

  private:
    int pidfd_;
};

int open_empty_process(const RunOptions &o) {
    ep_open_how how{};
    how.flags = o.sync ? EP_OPEN_SYNC : 0;
    how.transport = choice_value(kTransports, o.transport);
    how.strategy = choice_value(kStrategies, o.strategy);
    // At birth: --unshare pid (the program is pid 1) and --cgroup (CLONE_INTO_CGROUP).
    bool pid = false;
    if (o.unshare)
        unshare_without_pid(*o.unshare, pid);
    if (pid)
        how.namespaces = CLONE_NEWPID;
    int cgroup_fd = -1;
    if (o.cgroup) {
        cgroup_fd = open(o.cgroup->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cgroup_fd < 0) {
            std::fprintf(stderr, "emptyproc: error: --cgroup %s: %s\n", o.cgroup->c_str(), errno_text(errno).c_str());
            return -1;
        }
        how.flags |= EP_OPEN_CGROUP;
        how.cgroup_fd = cgroup_fd;
    }
    int pidfd = ep_open(&how, sizeof how);
    if (cgroup_fd >= 0) {
        int err = errno;
        close(cgroup_fd);
        errno = err;
    }
    if (pidfd < 0) {
        int err = errno;
        std::vector<LogMessage> log = drain_log(-1);
        if (log.empty())
            std::fprintf(stderr, "emptyproc: error: ep_open: %s\n", errno_text(err).c_str());
        print_log(log, {});
    }
    return pidfd;
}

// While we wait, SIGINT and SIGQUIT are ignored here, as system(3) does: the terminal sends them to
// the whole foreground process group, the program included, so the program decides what they mean
// and we report how it ended (128+2 if it died of SIGINT) instead of dying first and leaving it
// behind. With --setsid or --pgid the program is not in our group and the terminal's signals never
// reach it; ignoring them then would make Ctrl-C do nothing at all, so they keep their defaults.
// The program itself is unaffected either way: the library starts it with every signal at SIG_DFL.
class TerminalSignalsIgnored {
  public:
    explicit TerminalSignalsIgnored(bool active) : active_(active) {
        if (!active_)
            return;
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ign, &old_int_);
        sigaction(SIGQUIT, &ign, &old_quit_);
    }
    ~TerminalSignalsIgnored() {
        if (!active_)
            return;
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGQUIT, &old_quit_, nullptr);
    }
    TerminalSignalsIgnored(const TerminalSignalsIgnored &) = delete;
    TerminalSignalsIgnored &operator=(const TerminalSignalsIgnored &) = delete;

  private:
    bool active_;
    struct sigaction old_int_ {};
    struct sigaction old_quit_ {};
};

int wait_for_program(int pidfd, siginfo_t &info) {
    for (;;) {
        info = {};
        if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

int exit_status_of(const siginfo_t &info) {
    return info.si_code == CLD_EXITED ? info.si_status : kExitSignalBase + info.si_status;
}

// ---- Sending the ops ------------------------------------------------------------------------------

// The outcome of one op: ep_config()'s, or ours when we could not open the op's file.
struct Sent {
    int rc;
    int err;
    bool our_failure;
};

// A file of --open or --open-write, opened here as a shell opens a redirection (see plan.cpp).
Sent send_file(int pidfd, const Op &op) {
    int fd = open(op.value.c_str(), op.open_flags | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0)
        return {-1, errno, true};
    int rc = ep_config(pidfd, EP_CONFIG_SET_FD, op.key.c_str(), nullptr, fd);
    Sent sent{rc, errno, false};
    close(fd); // the library has its own copy
    return sent;
}

Sent send(int pidfd, const Op &op) {
    if (op.opens_file())
        return send_file(pidfd, op);
    const char *value = op.cmd == EP_CONFIG_SET_FLAG || op.cmd == EP_CONFIG_SET_FD ? nullptr : op.value.c_str();
    int aux = op.cmd == EP_CONFIG_SET_FD ? op.fd : op.cmd == EP_CONFIG_SET_PATH ? AT_FDCWD : 0;
    int rc = ep_config(pidfd, op.cmd, op.key.c_str(), value, aux);
    return {rc, errno, false};
}

} // namespace

int launch(const RunOptions &o, const std::vector<Op> &ops) {
    EmptyProcess proc(open_empty_process(o));
    if (proc.fd() < 0)
        return kExitOpFailed;
    Tracer trace(o.trace, o.sync);
    for (const Op &op : ops) {
        Sent sent = send(proc.fd(), op);
        trace.op(op, sent.rc, sent.err);
        if (sent.our_failure) {
            std::fprintf(stderr, "emptyproc: error: %s: opening %s: %s [%s]\n", op.key.c_str(), op.value.c_str(),
                         errno_text(sent.err).c_str(), op.origin.c_str());
            return kExitOpFailed;
        }
        if (sent.rc < 0)
            return report_failure(proc.fd(), sent.err, &op, ops);
    }

    TerminalSignalsIgnored ignoring(!o.setsid && !o.pgid);
    pid_t pid = ep_pid(proc.fd());
    int rc = ep_config(proc.fd(), EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0);
    int err = errno;
    trace.exec(rc, err, pid);
    if (rc < 0)
        return report_failure(proc.fd(), err, nullptr, ops);

    siginfo_t info;
    if (int werr = wait_for_program(proc.fd(), info)) {
        std::fprintf(stderr, "emptyproc: error: waiting for pid %d: %s\n", pid, errno_text(-werr).c_str());
        return kExitOpFailed;
    }
    trace.ended(pid, info);
    return exit_status_of(info);
}

} // namespace ep::cli
