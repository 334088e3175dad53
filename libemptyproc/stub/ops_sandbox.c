/* SPDX-License-Identifier: MIT */
/*
 * ops_sandbox.c - the stub's sandbox and container handlers: namespaces (with the id-map helper),
 * cgroup, no_new_privs, seccomp, Landlock, capabilities, pdeathsig, controlling terminal, nice, CPU
 * affinity, oom_score_adj, I/O priority, personality, read-only remounts.
 *
 * Same rules as stub.c and ops.c: this runs between clone and exec in a CLONE_VM child; raw system
 * calls only, no libc, no errno, nothing of the caller's memory. Every value was checked twice
 * already (keys/parse.cpp in the caller, proto/decode.c here).
 */
#include "ops.h"
#include "sys.h"

#define EP_CLONE_VM 0x100ul
#define EP_CLONE_NEWNS 0x00020000ul
#define EP_CLONE_NEWUSER 0x10000000ul
#define EP_WALL 0x40000000
#define EP_O_WRONLY 01
#define EP_MS_RDONLY 1ul
#define EP_MS_NOSUID 2ul
#define EP_MS_NODEV 4ul
#define EP_MS_NOEXEC 8ul
#define EP_MS_REMOUNT 32ul
#define EP_MS_NOATIME 1024ul
#define EP_MS_NODIRATIME 2048ul
#define EP_MS_BIND 4096ul
#define EP_MS_REC 16384ul
#define EP_MS_PRIVATE (1ul << 18)
#define EP_MS_RELATIME (1ul << 21)
#define EP_PR_SET_PDEATHSIG 1
#define EP_PR_SET_KEEPCAPS 8
#define EP_PR_CAPBSET_DROP 24
#define EP_PR_SET_NO_NEW_PRIVS 38
#define EP_PR_CAP_AMBIENT 47
#define EP_PR_CAP_AMBIENT_RAISE 2
#define EP_SECCOMP_SET_MODE_FILTER 1
#define EP_TIOCSCTTY 0x540E
#define EP_PRIO_PROCESS 0
#define EP_IOPRIO_WHO_PROCESS 1
#define EP_CAP_V3 0x20080522u

/* Hand a frame descriptor to the record that uses it (as ops.c's take()). */
static int take_fd(struct ep_frame_fds *ff, int32_t index) {
    ff->live[index] = 0;
    return ff->fd[index];
}

static uint32_t length(const char *s) {
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* Write s to dirfd/name in one write(2), as /proc's id maps and cgroup.procs require. */
static int write_file(int dirfd, const char *name, const char *s) {
    long fd = sys_openat(dirfd, name, EP_O_WRONLY | EP_O_CLOEXEC, 0);
    if (fd < 0)
        return (int)fd;
    uint32_t n = length(s);
    long r = sys_write((int)fd, s, n);
    sys_close((int)fd);
    if (r < 0)
        return (int)r;
    return (uint32_t)r == n ? 0 : -EIO;
}

/* ---- namespaces ------------------------------------------------------------------------------ */

/*
 * The id maps of a new user namespace must be written from outside it, by a process with
 * CAP_SETUID/CAP_SETGID over the parent namespace (or, unprivileged, a single map of its own id).
 * The stub cannot do it once it has unshared, so before unsharing it clones a helper (CLONE_VM, on a
 * small stack inside this frame) that keeps the stub's credentials in the parent namespace. The
 * helper waits on a pipe; the stub unshares and writes one byte; the helper writes the stub's
 * uid_map, then gid_map (writing "deny" to setgroups first if the kernel refuses the gid map
 * without it), and exits with 0 or the errno. The stub reaps it and goes on with the maps in place:
 * batched mode needs no round trip to the caller.
 */
struct map_job {
    int procfd; /* /proc/<stub pid> (O_PATH), opened by the stub before the helper */
    int rd;     /* the pipe's read end: a byte means "unshared", EOF means "give up" */
    int wr;     /* the write end: the helper closes its copy */
    const char *uid_map;
    const char *gid_map;
};

static void map_helper(void *arg) {
    const struct map_job *j = (const struct map_job *)arg;
    static const char uid_map[] = "uid_map", gid_map[] = "gid_map", setgroups[] = "setgroups", deny[] = "deny";
    char c;
    sys_close(j->wr);
    long n;
    do
        n = sys_read(j->rd, &c, 1);
    while (n == -EINTR);
    if (n != 1)
        sys_exit_group(0); /* the unshare failed: nothing to map */
    int err = 0;
    if (j->uid_map)
        err = write_file(j->procfd, uid_map, j->uid_map);
    if (!err && j->gid_map) {
        err = write_file(j->procfd, gid_map, j->gid_map);
        if (err == -EPERM && write_file(j->procfd, setgroups, deny) == 0)
            err = write_file(j->procfd, gid_map, j->gid_map);
    }
    sys_exit_group(-err);
}

struct ep_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static int unshare_user(struct ep_stub *st, unsigned long flags) {
    static const char proc_self[] = "/proc/self";
    unsigned char stack[4096] __attribute__((aligned(16)));
    int p[2];
    long procfd = sys_openat(EP_AT_FDCWD, proc_self, EP_O_PATH | EP_O_DIRECTORY | EP_O_CLOEXEC, 0);
    if (procfd < 0)
        return (int)procfd;
    long r = sys_pipe2(p, EP_O_CLOEXEC);
    if (r < 0) {
        sys_close((int)procfd);
        return (int)r;
    }
    struct map_job job = {(int)procfd, p[0], p[1], st->id_map[0], st->id_map[1]};
    struct ep_clone_args ca = {0};
    ca.flags = EP_CLONE_VM;
    ca.exit_signal = 0; /* reaped below with __WALL; no SIGCHLD left pending into the program */
    ca.stack = (uint64_t)(uintptr_t)stack;
    ca.stack_size = sizeof stack;
    long pid = ep_clone3_run(&ca, sizeof ca, map_helper, &job);
    if (pid == -ENOSYS) /* no clone3 (seccomp, old kernel): the same child with clone(2) */
        pid = ep_clone_run(EP_CLONE_VM, stack + sizeof stack, 0, map_helper, &job);
    if (pid < 0) {
        sys_close(p[0]);
        sys_close(p[1]);
        sys_close((int)procfd);
        return (int)pid;
    }
    r = sys_unshare(flags);
    if (r == 0) {
        char go = 1;
        sys_write(p[1], &go, 1);
    }
    sys_close(p[1]); /* EOF for the helper if the unshare failed */
    int status = 0;
    long w;
    do
        w = sys_wait4(pid, &status, EP_WALL);
    while (w == -EINTR);
    sys_close(p[0]);
    sys_close((int)procfd);
    if (r < 0)
        return (int)r;
    if (w < 0)
        return (int)w;
    if ((status & 0x7f) != 0)
        return -ECHILD; /* the helper was killed */
    int code = (status >> 8) & 0xff;
    return code ? -code : 0;
}

static int op_unshare(struct ep_stub *st, const struct ep_wire_op *op) {
    unsigned long flags = (unsigned long)op->a;
    long r = (flags & EP_CLONE_NEWUSER) ? unshare_user(st, flags) : sys_unshare(flags);
    if (r < 0)
        return (int)r;
    if (flags & EP_CLONE_NEWNS) {
        /* A new mount namespace starts as a copy whose mounts may still propagate to and from the
         * caller's: make them private, as unshare(1) and Go do, so nothing leaks either way. */
        static const char root[] = "/";
        r = sys_mount(0, root, 0, EP_MS_REC | EP_MS_PRIVATE, 0);
        if (r < 0)
            return (int)r;
    }
    return 0;
}

static int op_setns(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int fd = take_fd(ff, op->fd_index);
    long r = sys_setns(fd, op->a);
    sys_close(fd);
    return r < 0 ? (int)r : 0;
}

/* MS_REMOUNT|MS_BIND|MS_RDONLY, keeping the flags the kernel may have locked (nosuid, nodev, noexec,
 * atime) so that it also works in a mount namespace owned by a new user namespace. */
static int op_remount_ro(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    struct {
        long type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen, frsize, flags, spare[4];
    } sfs;
    int dirfd = op->fd_index >= 0 ? take_fd(ff, op->fd_index) : -1;
    long saved = -1, r = 0;
    if (dirfd >= 0) { /* resolve relative to the dirfd by standing in it */
        saved = sys_openat(EP_AT_FDCWD, ".", EP_O_PATH | EP_O_DIRECTORY | EP_O_CLOEXEC, 0);
        r = saved < 0 ? saved : sys_fchdir(dirfd);
    }
    if (r >= 0)
        r = sys_statfs(op->data, &sfs);
    if (r >= 0) {
        unsigned long keep = (unsigned long)sfs.flags & (EP_MS_NOSUID | EP_MS_NODEV | EP_MS_NOEXEC | EP_MS_NOATIME |
                                                         EP_MS_NODIRATIME | EP_MS_RELATIME);
        r = sys_mount(0, op->data, 0, EP_MS_REMOUNT | EP_MS_BIND | EP_MS_RDONLY | keep, 0);
    }
    if (saved >= 0) {
        sys_fchdir((int)saved);
        sys_close((int)saved);
    }
    if (dirfd >= 0)
        sys_close(dirfd);
    return r < 0 ? (int)r : 0;
}

/* cgroup v2: writing "0" to cgroup.procs moves the writer itself. */
static int op_cgroup(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    static const char procs[] = "cgroup.procs", zero[] = "0";
    int dirfd = op->fd_index >= 0 ? take_fd(ff, op->fd_index) : EP_AT_FDCWD;
    long cg = dirfd;
    if (op->len > 1)
        cg = sys_openat(dirfd, op->data, EP_O_PATH | EP_O_DIRECTORY | EP_O_CLOEXEC, 0);
    int err = cg < 0 ? (int)cg : write_file((int)cg, procs, zero);
    if (cg >= 0 && cg != dirfd)
        sys_close((int)cg);
    if (dirfd >= 0)
        sys_close(dirfd);
    return err;
}

/* ---- capabilities ------------------------------------------------------------------------------- */

struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};

static int caps_get(struct cap_header *h, struct cap_data d[2]) {
    h->version = EP_CAP_V3;
    h->pid = 0;
    long r = sys_capget(h, d);
    return r < 0 ? (int)r : 0;
}

/* Bounding set and inheritable set now; the permitted and effective sets are the stub's until the
 * exec (later ops may need them: uid, chroot, mounts) and execve recomputes them from these. */
static int op_cap_drop(const struct ep_wire_op *op) {
    uint64_t mask = (uint64_t)op->a;
    for (int cap = 0; cap < 63; cap++) {
        if (!(mask & (1ull << cap)))
            continue;
        long r = sys_prctl(EP_PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0);
        if (r < 0)
            return (int)r;
    }
    struct cap_header h;
    struct cap_data d[2];
    int err = caps_get(&h, d);
    if (err)
        return err;
    d[0].inheritable &= ~(uint32_t)mask;
    d[1].inheritable &= ~(uint32_t)(mask >> 32);
    long r = sys_capset(&h, d); /* the ambient set follows: it is cleared of what leaves I */
    return r < 0 ? (int)r : 0;
}

/* Raise into the inheritable set, then the ambient set (which needs each in P and I). */
static int op_cap_ambient(const struct ep_wire_op *op) {
    uint64_t mask = (uint64_t)op->a;
    struct cap_header h;
    struct cap_data d[2];
    int err = caps_get(&h, d);
    if (err)
        return err;
    d[0].inheritable |= (uint32_t)mask;
    d[1].inheritable |= (uint32_t)(mask >> 32);
    long r = sys_capset(&h, d);
    if (r < 0)
        return (int)r;
    for (int cap = 0; cap < 63; cap++) {
        if (!(mask & (1ull << cap)))
            continue;
        r = sys_prctl(EP_PR_CAP_AMBIENT, EP_PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0);
        if (r < 0)
            return (int)r;
    }
    return 0;
}

/* ---- the rest ----------------------------------------------------------------------------------- */

static int op_seccomp(const struct ep_wire_op *op) {
    struct {
        unsigned short len;
        const void *filter;
    } prog = {(unsigned short)(op->len / 8), op->data};
    long r = sys_seccomp(EP_SECCOMP_SET_MODE_FILTER, 0, &prog);
    return r < 0 ? (int)r : 0;
}

static int op_landlock(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int fd = take_fd(ff, op->fd_index);
    long r = sys_landlock_restrict_self(fd, 0);
    sys_close(fd);
    return r < 0 ? (int)r : 0;
}

/* Armed after the credential changes (which clear it), then the parent re-checked: if it died
 * before the signal was armed, nobody would send it. */
static int op_pdeathsig(struct ep_stub *st, const struct ep_wire_op *op) {
    long r = sys_prctl(EP_PR_SET_PDEATHSIG, (unsigned long)op->a, 0, 0, 0);
    if (r < 0)
        return (int)r;
    return sys_getppid() == st->ppid ? 0 : -ESRCH;
}

static int op_oom_score_adj(const struct ep_wire_op *op) {
    static const char path[] = "/proc/self/oom_score_adj";
    return write_file(EP_AT_FDCWD, path, op->data);
}

int ep_stub_apply_sandbox(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    long r;
    switch (op->op) {
    case EP_OP_UNSHARE:
        return op_unshare(st, op);
    case EP_OP_ID_MAP:
        return ep_stub_arena_put(st, op->c == EP_ID_MAP_UID ? 'U' : 'G', op->data, op->len, &st->id_map[op->c]);
    case EP_OP_SETNS:
        return op_setns(ff, op);
    case EP_OP_SETHOSTNAME:
        r = sys_sethostname(op->data, op->len - 1);
        break;
    case EP_OP_CGROUP:
        return op_cgroup(ff, op);
    case EP_OP_NO_NEW_PRIVS:
        r = sys_prctl(EP_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        break;
    case EP_OP_SECCOMP:
        return op_seccomp(op);
    case EP_OP_LANDLOCK:
        return op_landlock(ff, op);
    case EP_OP_CAP_DROP:
        return op_cap_drop(op);
    case EP_OP_CAP_AMBIENT:
        return op_cap_ambient(op);
    case EP_OP_KEEP_CAPS:
        r = sys_prctl(EP_PR_SET_KEEPCAPS, 1, 0, 0, 0);
        break;
    case EP_OP_PDEATHSIG:
        return op_pdeathsig(st, op);
    case EP_OP_CTTY:
        r = sys_ioctl((int)op->a, EP_TIOCSCTTY, (void *)0);
        break;
    case EP_OP_NICE:
        r = sys_setpriority(EP_PRIO_PROCESS, 0, (int)op->a);
        break;
    case EP_OP_CPUS:
        r = sys_sched_setaffinity(0, op->len, op->data);
        break;
    case EP_OP_OOM_SCORE_ADJ:
        return op_oom_score_adj(op);
    case EP_OP_IOPRIO:
        r = sys_ioprio_set(EP_IOPRIO_WHO_PROCESS, 0, (int)op->a);
        break;
    case EP_OP_PERSONALITY:
        r = sys_personality((unsigned long)op->a);
        break;
    case EP_OP_REMOUNT_RO:
        return op_remount_ro(ff, op);
    default:
        return -EINVAL;
    }
    return r < 0 ? (int)r : 0;
}
