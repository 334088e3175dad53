// SPDX-License-Identifier: MIT
// posix_spawn.cpp - posix_spawn(3) and pidfd_spawn(3) on the builder, through the public C ABI only
// (ep_open / ep_config / ep_pid / ep_close), as Brauner's pidfd_config proposal says it should be
// possible (docs/posix_spawn.md).
//
// glibc's posix_spawn_file_actions_t and posix_spawnattr_t are opaque in the sense that glibc offers
// no accessor for the file actions and no getter for everything at once. Their layout is glibc's ABI
// (it cannot change without breaking programs built against it): the attribute's fields are visible
// in <spawn.h> (__flags, __pgrp, __sd, __ss, __sp, __policy, __pad), and the file actions are an
// array (__actions, __used entries) of glibc's struct __spawn_action (posix/spawn_int.h, internal),
// mirrored below from its description and checked by static_assert and by tests/spawn.
#include "emptyproc/spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

// ---- glibc's layout (LP64: x86_64, aarch64) ----------------------------------------------------

// One file action: a tag, then a union whose members start 8 bytes in (the open action holds a
// pointer). The tags are numbered in the order glibc added the actions.
enum GlibcActionTag : int {
    kActClose = 0,     // posix_spawn_file_actions_addclose(fd)
    kActDup2 = 1,      // adddup2(fd, newfd)
    kActOpen = 2,      // addopen(fd, path, oflag, mode); glibc keeps its own copy of path
    kActChdir = 3,     // addchdir_np(path), glibc 2.29
    kActFchdir = 4,    // addfchdir_np(fd), glibc 2.29
    kActClosefrom = 5, // addclosefrom_np(from), glibc 2.34
    kActTcsetpgrp = 6, // addtcsetpgrp_np(fd), glibc 2.35
};

struct GlibcAction {
    int tag;
    union {
        struct {
            int fd;
        } close;
        struct {
            int fd;
            int newfd;
        } dup2;
        struct {
            int fd;
            const char *path;
            int oflag;
            mode_t mode;
        } open;
        struct {
            const char *path;
        } chdir;
        struct {
            int fd;
        } fchdir;
        struct {
            int from;
        } closefrom;
        struct {
            int fd;
        } tcsetpgrp;
    } u;
};
static_assert(sizeof(void *) == 8, "the mirror of glibc's struct __spawn_action is written for LP64");
static_assert(sizeof(GlibcAction) == 32, "glibc's struct __spawn_action is 32 bytes on LP64");
static_assert(offsetof(GlibcAction, u) == 8);
static_assert(sizeof(posix_spawn_file_actions_t) == 80, "glibc's posix_spawn_file_actions_t");
static_assert(sizeof(posix_spawnattr_t) == 336, "glibc's posix_spawnattr_t");
static_assert(offsetof(posix_spawnattr_t, __pad) == offsetof(posix_spawnattr_t, __policy) + sizeof(int));

constexpr short kKnownFlags = POSIX_SPAWN_RESETIDS | POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                              POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER |
                              POSIX_SPAWN_USEVFORK | POSIX_SPAWN_SETSID | EP_POSIX_SPAWN_SETCGROUP;

// glibc 2.39 keeps the cgroup descriptor in the first int after __policy (its __cgroup field).
int &cgroup_slot(posix_spawnattr_t *a) {
    return a->__pad[0];
}
int cgroup_slot(const posix_spawnattr_t *a) {
    return a->__pad[0];
}

// ---- the stream --------------------------------------------------------------------------------

// One empty process being configured; the first failure sticks (its errno is the answer).
class Stream {
  public:
    explicit Stream(int fd) : fd_(fd) {}
    ~Stream() {
        if (fd_ >= 0)
            ep_close(fd_); // before a successful exec: kills and reaps the stub
    }
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;

    int err() const { return err_; }
    void fail(int err) {
        if (!err_)
            err_ = err;
    }
    void set(unsigned cmd, const char *key, const void *value, int aux) {
        if (!err_ && ep_config(fd_, cmd, key, value, aux) < 0)
            err_ = errno;
    }
    void str(const char *key, const char *value) { set(EP_CONFIG_SET_STRING, key, value, 0); }
    void num(const char *key, long n) {
        char v[32];
        std::snprintf(v, sizeof v, "%ld", n);
        str(key, v);
    }
    void sigset(const char *key, const sigset_t &s) { set(EP_CONFIG_SET_BINARY, key, &s, sizeof s); }

    // Exec; on success the handle lets go of the child (it stays the caller's child).
    int exec(pid_t *pid, int *pidfd) {
        set(EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0);
        if (err_)
            return err_;
        pid_t p = ep_pid(fd_);
        if (pidfd) {
            int dup = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
            if (dup < 0) { // the caller cannot be given the child: do not leave it running
                int err = errno;
                syscall(SYS_pidfd_send_signal, fd_, SIGKILL, nullptr, 0);
                siginfo_t si;
                while (waitid(P_PIDFD, static_cast<id_t>(fd_), &si, WEXITED) < 0 && errno == EINTR) {
                }
                return err;
            }
            *pidfd = dup;
        }
        ep_close(fd_);
        fd_ = -1;
        if (pid)
            *pid = p;
        return 0;
    }

  private:
    int fd_;
    int err_ = 0;
};

const char *policy_name(int policy) {
    switch (policy) {
    case SCHED_OTHER:
        return "other";
    case SCHED_FIFO:
        return "fifo";
    case SCHED_RR:
        return "rr";
    case SCHED_BATCH:
        return "batch";
    case SCHED_IDLE:
        return "idle";
    default:
        return nullptr;
    }
}

// The attributes glibc's child applies before the file actions, in its order.
void attributes(Stream &s, const posix_spawnattr_t *a) {
    short flags = a ? a->__flags : 0;
    if (flags & POSIX_SPAWN_SETSIGDEF) {
        sigset_t sd = a->__sd;
        sigdelset(&sd, SIGKILL); // glibc's child ignores sigaction's EINVAL on these two
        sigdelset(&sd, SIGSTOP);
        s.sigset("sigdefault", sd);
    }
    // glibc's child sets its two internal signals (32 SIGCANCEL, 33 SIGSETXID) to SIG_IGN unless
    // SETSIGDEF names them, whatever the caller had: the program starts with them ignored (observed
    // with glibc 2.36, tests/spawn). The kernel's 8-byte set, since sigaddset() refuses them.
    uint64_t internal = (1ull << 31) | (1ull << 32);
    if (flags & POSIX_SPAWN_SETSIGDEF) {
        uint64_t sd;
        std::memcpy(&sd, &a->__sd, sizeof sd);
        internal &= ~sd;
    }
    if (internal)
        s.set(EP_CONFIG_SET_BINARY, "sigignore", &internal, sizeof internal);
    if (flags & POSIX_SPAWN_SETSCHEDULER) {
        const char *name = policy_name(a->__policy);
        if (!name)
            return s.fail(EINVAL); // what sched_setscheduler says of an unknown policy
        char v[48];
        std::snprintf(v, sizeof v, "%s:%d", name, a->__sp.sched_priority);
        s.str("sched", v);
    } else if (flags & POSIX_SPAWN_SETSCHEDPARAM) {
        s.num("schedparam", a->__sp.sched_priority);
    }
    if (flags & POSIX_SPAWN_SETSID)
        s.set(EP_CONFIG_SET_FLAG, "setsid", nullptr, 0);
    if (flags & POSIX_SPAWN_SETPGROUP)
        s.num("pgid", a->__pgrp);
    if (flags & POSIX_SPAWN_RESETIDS)
        s.set(EP_CONFIG_SET_FLAG, "resetids", nullptr, 0);
}

void file_actions(Stream &s, const posix_spawn_file_actions_t *fa) {
    if (!fa || fa->__used <= 0)
        return;
    const auto *acts = reinterpret_cast<const GlibcAction *>(fa->__actions);
    char key[64];
    for (int i = 0; i < fa->__used && !s.err(); i++) {
        const GlibcAction &act = acts[i];
        switch (act.tag) {
        case kActClose:
            std::snprintf(key, sizeof key, "close.%d", act.u.close.fd);
            s.set(EP_CONFIG_SET_FLAG, key, nullptr, 0);
            break;
        case kActDup2:
            std::snprintf(key, sizeof key, "dup.%d", act.u.dup2.newfd);
            s.num(key, act.u.dup2.fd);
            break;
        case kActOpen:
            if (!act.u.open.path[0])
                return s.fail(ENOENT); // open("") in glibc's child
            std::snprintf(key, sizeof key, "open.%d:0x%x:%o", act.u.open.fd, static_cast<unsigned>(act.u.open.oflag),
                          static_cast<unsigned>(act.u.open.mode & 07777));
            s.str(key, act.u.open.path);
            break;
        case kActChdir:
            if (!act.u.chdir.path[0])
                return s.fail(ENOENT); // chdir("")
            s.str("cwd", act.u.chdir.path);
            break;
        case kActFchdir:
            s.num("fchdir", act.u.fchdir.fd);
            break;
        case kActClosefrom:
            s.num("closefrom", act.u.closefrom.from);
            break;
        case kActTcsetpgrp:
            s.num("tcsetpgrp", act.u.tcsetpgrp.fd);
            break;
        default:
            return s.fail(EINVAL); // an action this build does not know: never skip one silently
        }
    }
}

int spawn(pid_t *pid, int *pidfd, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *a,
          char *const argv[], char *const envp[], bool search) {
    short flags = a ? a->__flags : 0;
    if ((flags & POSIX_SPAWN_SETSID) && (flags & POSIX_SPAWN_SETPGROUP))
        return EPERM; // glibc's child: setsid(), then setpgid() of a session leader
    if (!file || !file[0])
        return ENOENT;
    if (search && !std::strchr(file, '/') && std::strlen(file) > NAME_MAX)
        return ENAMETOOLONG;

    // What the empty process does not inherit and posix_spawn does: the descriptors without
    // FD_CLOEXEC and the ignored signals (at birth), the calling thread's mask (a key).
    ep_open_how how{};
    how.flags = EP_OPEN_INHERIT_FDS | EP_OPEN_INHERIT_SIGIGN;
    if (flags & EP_POSIX_SPAWN_SETCGROUP) { // as glibc 2.39: clone3(CLONE_INTO_CGROUP), born in it
        how.flags |= EP_OPEN_CGROUP;
        how.cgroup_fd = cgroup_slot(a);
    }
    int fd = ep_open(&how, sizeof how);
    if (fd < 0)
        return errno;
    Stream s(fd);
    attributes(s, a);
    file_actions(s, fa);
    sigset_t mask;
    if (flags & POSIX_SPAWN_SETSIGMASK)
        mask = a->__ss;
    else
        pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    s.sigset("sigmask", mask);
    if (argv && argv[0]) {
        for (char *const *p = argv; *p; p++)
            s.str("argv", *p);
    } else {
        // An empty (or NULL) argv: glibc passes it to execve, and Linux >= 5.18 then gives the
        // program argv = {""}. Without any argv key the builder would use the path as argv[0].
        s.str("argv", "");
    }
    if (envp)
        for (char *const *p = envp; *p; p++)
            s.str("env", *p);
    if (search) {
        const char *path = std::getenv("PATH");
        s.str("execpath", path ? path : "/bin:/usr/bin");
        s.str("exec", file);
    } else {
        s.set(EP_CONFIG_SET_PATH, "exec", file, AT_FDCWD);
    }
    return s.exec(pid, pidfd);
}

// errno is not the channel of these functions: whatever the library did to it is undone.
struct KeepErrno {
    int saved = errno;
    ~KeepErrno() { errno = saved; }
};

} // namespace

extern "C" int ep_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                              const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    KeepErrno keep;
    return spawn(pid, nullptr, path, fa, attrp, argv, envp, false);
}

extern "C" int ep_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                               const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    KeepErrno keep;
    return spawn(pid, nullptr, file, fa, attrp, argv, envp, true);
}

extern "C" int ep_pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
                              const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    KeepErrno keep;
    if (!pidfd)
        return EINVAL;
    return spawn(nullptr, pidfd, path, fa, attrp, argv, envp, false);
}

extern "C" int ep_pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
                               const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    KeepErrno keep;
    if (!pidfd)
        return EINVAL;
    return spawn(nullptr, pidfd, file, fa, attrp, argv, envp, true);
}

extern "C" int ep_posix_spawnattr_setcgroup_np(posix_spawnattr_t *attr, int cgroupfd) {
    cgroup_slot(attr) = cgroupfd;
    return 0;
}

extern "C" int ep_posix_spawnattr_getcgroup_np(const posix_spawnattr_t *attr, int *cgroupfd) {
    *cgroupfd = cgroup_slot(attr);
    return 0;
}

extern "C" int ep_posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags) {
    if (flags & ~kKnownFlags)
        return EINVAL;
    attr->__flags = flags;
    return 0;
}
