/* SPDX-License-Identifier: MIT */
/*
 * ops.c - the stub's handlers, one per wire op. Same rules as stub.c: this runs between clone and
 * exec, in a CLONE_VM child; raw system calls only, no libc, no errno, nothing of the caller's memory.
 */
#include "ops.h"

#include "sys.h"

void ep_stub_init(struct ep_stub *st, const struct ep_stub_args *args) {
    st->chan = args->keep[0];
    st->nextra = 0;
    for (uint32_t i = 1; i < args->nkeep && i < EP_STUB_KEEP_MAX; i++)
        st->extra[st->nextra++] = args->keep[i];
    st->transport = args->transport;
    st->exec_fd = -1;
    st->exec_kind = 0;
    st->exec_pipe = -1;
    st->exec_str = 0;
    st->sigmask = 0;
    st->recv_buf = args->recv_buf;
    st->recv_size = args->recv_size;
    st->arena = args->arena;
    st->arena_size = args->arena_size;
    st->arena_used = 0;
    st->id_map[0] = 0;
    st->id_map[1] = 0;
    st->ppid = sys_getppid();
}

/* ---- descriptors ------------------------------------------------------------------------------ */

/* The number a record makes or closes in the child, or -1. */
static int64_t record_target(const struct ep_wire_op *op) {
    switch (op->op) {
    case EP_OP_FD_DUP:
    case EP_OP_OPEN:
    case EP_OP_CLOSE:
    case EP_OP_DUP:
        return op->a;
    default:
        return -1;
    }
}

int ep_stub_take_fds(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_cursor *cur, const int *fds,
                     uint32_t nfds) {
    (void)st;
    int32_t user[EP_WIRE_FDS_MAX]; /* position of the record that consumes each descriptor */
    uint32_t user_index[EP_WIRE_FDS_MAX];
    int64_t max_target = -1;
    struct ep_wire_cursor c = *cur;
    struct ep_wire_op op;

    ff->n = nfds;
    ff->failed_index = 0xffffffffu;
    for (uint32_t k = 0; k < nfds; k++) {
        ff->fd[k] = fds[k];
        ff->live[k] = 1;
        user[k] = -1;
        user_index[k] = 0xffffffffu;
    }
    if (nfds == 0)
        return 0;
    for (int32_t pos = 0; ep_wire_next(&c, &op); pos++) {
        if (op.fd_index >= 0) {
            user[op.fd_index] = pos;
            user_index[op.fd_index] = op.index;
        }
        if (record_target(&op) > max_target)
            max_target = record_target(&op);
    }
    /* A descriptor must move if a record before its user makes or closes its number. It moves above
     * every number this frame names, so that no later record of the frame can hit it either. */
    for (uint32_t k = 0; k < nfds; k++) {
        int conflict = 0;
        c = *cur;
        for (int32_t pos = 0; pos < user[k] && ep_wire_next(&c, &op); pos++)
            if (record_target(&op) == ff->fd[k])
                conflict = 1;
        if (!conflict)
            continue;
        long moved = sys_fcntl(ff->fd[k], EP_F_DUPFD_CLOEXEC, (long)(max_target + 1));
        if (moved < 0) {
            ff->failed_index = user_index[k];
            return (int)moved; /* the caller drops the descriptors once it has reported this */
        }
        sys_close(ff->fd[k]);
        ff->fd[k] = (int)moved;
    }
    return 0;
}

void ep_stub_drop_fds(struct ep_frame_fds *ff) {
    for (uint32_t k = 0; k < ff->n; k++)
        if (ff->live[k]) {
            sys_close(ff->fd[k]);
            ff->live[k] = 0;
        }
}

/* Hand a frame descriptor to the record that uses it. */
static int take(struct ep_frame_fds *ff, int32_t index) {
    ff->live[index] = 0;
    return ff->fd[index];
}

/* The stub's own descriptors (channel, exec target) are CLOEXEC and invisible to the target; if a
 * record wants their number, they move to the lowest free one. */
static int make_room(struct ep_stub *st, int64_t n) {
    int *owned[EP_STUB_KEEP_MAX + 1];
    uint32_t nowned = 0;
    owned[nowned++] = &st->chan;
    owned[nowned++] = &st->exec_fd;
    for (uint32_t i = 0; i < st->nextra; i++)
        owned[nowned++] = &st->extra[i];
    for (uint32_t i = 0; i < nowned; i++) {
        if (*owned[i] < 0 || *owned[i] != n)
            continue;
        long moved = sys_fcntl(*owned[i], EP_F_DUPFD_CLOEXEC, 0);
        if (moved < 0)
            return (int)moved;
        sys_close(*owned[i]);
        *owned[i] = (int)moved;
    }
    return 0;
}

static int is_owned(const struct ep_stub *st, int64_t n) {
    for (uint32_t i = 0; i < st->nextra; i++)
        if (n == st->extra[i])
            return 1;
    return n == st->chan || n == st->exec_fd;
}

static int op_fd_dup(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int from = take(ff, op->fd_index);
    int err = make_room(st, op->a);
    if (err) {
        sys_close(from);
        return err;
    }
    if (from == op->a) /* dup2(fd, fd) would keep FD_CLOEXEC (Austin Group #411) */
        return (int)sys_fcntl(from, EP_F_SETFD, 0);
    long r = sys_dup3(from, (int)op->a, 0);
    sys_close(from);
    return r < 0 ? (int)r : 0;
}

static int op_open(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int dirfd = op->fd_index >= 0 ? take(ff, op->fd_index) : EP_AT_FDCWD;
    int err = make_room(st, op->a);
    long fd = err                                           ? err
              : st->transport == EP_STUB_TRANSPORT_IO_URING ? ep_chan_uring_openat(st, dirfd, op->data, op->b, op->c)
                                                            : sys_openat(dirfd, op->data, op->b, op->c);
    if (dirfd >= 0)
        sys_close(dirfd);
    if (fd < 0)
        return (int)fd;
    if (fd == op->a)
        return 0;
    long r = sys_dup3((int)fd, (int)op->a, (op->b & EP_O_CLOEXEC) ? EP_O_CLOEXEC : 0);
    sys_close((int)fd);
    return r < 0 ? (int)r : 0;
}

static int op_close(struct ep_stub *st, const struct ep_wire_op *op) {
    if (is_owned(st, op->a))
        return 0; /* not visible to the target anyway */
    long r = st->transport == EP_STUB_TRANSPORT_IO_URING ? ep_chan_uring_close(st, (int)op->a) : sys_close((int)op->a);
    /* posix_spawn_file_actions_addclose: closing a descriptor that is not open is not an error */
    return (r < 0 && r != -EBADF) ? (int)r : 0;
}

/* close_range() over [lo, ~0], stepping around the descriptors the stub still needs. */
static int op_closefrom(struct ep_stub *st, const struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int keep[EP_WIRE_FDS_MAX + EP_STUB_KEEP_MAX + 1];
    uint32_t nkeep = 0;
    keep[nkeep++] = st->chan;
    for (uint32_t i = 0; i < st->nextra; i++)
        keep[nkeep++] = st->extra[i];
    if (st->exec_fd >= 0)
        keep[nkeep++] = st->exec_fd;
    for (uint32_t k = 0; k < ff->n; k++)
        if (ff->live[k])
            keep[nkeep++] = ff->fd[k];
    for (uint32_t i = 1; i < nkeep; i++) /* insertion sort: a handful of entries */
        for (uint32_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    uint64_t lo = (uint64_t)op->a;
    for (uint32_t i = 0; i < nkeep; i++) {
        if ((uint64_t)keep[i] < lo)
            continue;
        if ((uint64_t)keep[i] > lo) {
            long r = sys_close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
            if (r < 0)
                return (int)r;
        }
        lo = (uint64_t)keep[i] + 1;
    }
    long r = sys_close_range((unsigned)lo, ~0u, 0);
    return r < 0 ? (int)r : 0;
}

/* A number the program would see as open: not one of the stub's own descriptors, and not a descriptor
 * of the current frame that no record has consumed yet (those are the stub's too). posix_spawn's
 * file actions name descriptors of the child's table: these must answer EBADF like a closed one. */
static int child_visible(const struct ep_stub *st, const struct ep_frame_fds *ff, int64_t n) {
    if (is_owned(st, n) || n == st->exec_pipe)
        return 0;
    for (uint32_t k = 0; k < ff->n; k++)
        if (ff->live[k] && ff->fd[k] == n)
            return 0;
    return 1;
}

/* dup2(M, N) inside the child's table (posix_spawn_file_actions_adddup2). M == N clears FD_CLOEXEC,
 * as glibc does since POSIX 2024 (Austin Group #411). */
static int op_dup(struct ep_stub *st, const struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    if (!child_visible(st, ff, op->b))
        return -EBADF;
    if (op->a == op->b) {
        long fl = sys_fcntl((int)op->b, EP_F_GETFD, 0);
        if (fl < 0)
            return (int)fl;
        long r = sys_fcntl((int)op->b, EP_F_SETFD, fl & ~(long)EP_FD_CLOEXEC);
        return r < 0 ? (int)r : 0;
    }
    if (sys_fcntl((int)op->b, EP_F_GETFD, 0) < 0) /* before make_room: M must exist */
        return -EBADF;
    int err = make_room(st, op->a);
    if (err)
        return err;
    long r = sys_dup3((int)op->b, (int)op->a, 0);
    return r < 0 ? (int)r : 0;
}

/* tcsetpgrp(N, getpgrp()). A background process calling it would get SIGTTOU, but the kernel lets
 * the call through when SIGTTOU is blocked, and every signal is blocked in the stub (glibc's child
 * relies on the same). */
static int op_tcsetpgrp(const struct ep_stub *st, const struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    if (!child_visible(st, ff, op->a))
        return -EBADF;
    long pgrp = sys_getpgid(0);
    if (pgrp < 0)
        return (int)pgrp;
    int p = (int)pgrp;
    long r = sys_ioctl((int)op->a, EP_TIOCSPGRP, &p);
    return r < 0 ? (int)r : 0;
}

/* seteuid(getuid()), then setegid(getgid()): glibc's POSIX_SPAWN_RESETIDS, in its order. */
static int op_resetids(void) {
    long r = sys_setresuid(-1, sys_getuid(), -1);
    if (r >= 0)
        r = sys_setresgid(-1, sys_getgid(), -1);
    return r < 0 ? (int)r : 0;
}

/* ---- filesystem context ------------------------------------------------------------------------ */

static int op_chdir(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    if (op->fd_index < 0)
        return (int)sys_chdir(op->data);
    int dirfd = take(ff, op->fd_index);
    long r;
    if (op->len == 1) { /* "" : the descriptor itself */
        r = sys_fchdir(dirfd);
    } else {
        long d = sys_openat(dirfd, op->data, EP_O_PATH | EP_O_DIRECTORY | EP_O_CLOEXEC, 0);
        r = d < 0 ? d : sys_fchdir((int)d);
        if (d >= 0)
            sys_close((int)d);
    }
    sys_close(dirfd);
    return r < 0 ? (int)r : 0;
}

/* chroot, then "/" of the new root as the working directory: a cwd outside the root would be an
 * escape hatch (docs/semantics.md). A dirfd is honoured by chrooting from inside it. */
static int op_chroot(struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    long r;
    if (op->fd_index < 0) {
        r = sys_chroot(op->data);
    } else {
        int dirfd = take(ff, op->fd_index);
        long saved = sys_openat(EP_AT_FDCWD, ".", EP_O_PATH | EP_O_DIRECTORY | EP_O_CLOEXEC, 0);
        r = saved < 0 ? saved : sys_fchdir(dirfd);
        if (r >= 0)
            r = sys_chroot(op->data);
        if (r < 0 && saved >= 0)
            sys_fchdir((int)saved); /* a failed op leaves the cwd as it was */
        if (saved >= 0)
            sys_close((int)saved);
        sys_close(dirfd);
    }
    if (r < 0)
        return (int)r;
    static const char root[] = "/";
    r = sys_chdir(root);
    return r < 0 ? (int)r : 0;
}

/* ---- credentials, limits, signals, session ----------------------------------------------------- */

static int op_rlimit(const struct ep_wire_op *op) {
    struct ep_rlimit64 lim;
    lim.cur = op->a == -1 ? EP_RLIM_INFINITY : (uint64_t)op->a;
    lim.max = op->b == -1 ? EP_RLIM_INFINITY : (uint64_t)op->b;
    long r = sys_prlimit64(op->c, &lim);
    return r < 0 ? (int)r : 0;
}

static int op_setuid(const struct ep_wire_op *op) {
    if (op->c & EP_SETUID_CLEAR_GROUPS) {
        /* No "groups" op came first: drop the supplementary groups, as Rust, libuv and folly do,
         * so that a uid drop does not keep root's groups. Unprivileged callers have nothing to drop
         * and get EPERM, which is then not an error. */
        long r = sys_setgroups(0, 0);
        if (r < 0 && r != -EPERM)
            return (int)r;
    }
    long r = sys_setresuid(op->a, op->a, op->a);
    return r < 0 ? (int)r : 0;
}

static int set_dispositions(uint64_t set, unsigned long handler) {
    struct ep_ksigaction act = {handler, 0, 0, 0};
    for (int sig = 1; sig <= 64; sig++) {
        if (!(set & (1ull << (sig - 1))))
            continue;
        if (sig == EP_SIGKILL || sig == EP_SIGSTOP)
            return -EINVAL;
        long r = sys_rt_sigaction(sig, &act);
        if (r < 0)
            return (int)r;
    }
    return 0;
}

/* ---- argv, environment, exec target ------------------------------------------------------------- */

static int arena_put(struct ep_stub *st, char tag, const char *s, uint32_t len, const char **out) {
    if (len + 1 > st->arena_size - st->arena_used)
        return -E2BIG;
    unsigned char *p = st->arena + st->arena_used;
    p[0] = (unsigned char)tag;
    for (uint32_t i = 0; i < len; i++)
        p[1 + i] = (unsigned char)s[i];
    st->arena_used += len + 1;
    if (out)
        *out = (const char *)p + 1;
    return 0;
}

int ep_stub_arena_put(struct ep_stub *st, char tag, const char *s, uint32_t len, const char **out) {
    return arena_put(st, tag, s, len, out);
}

static int op_exec_target(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    int fd = op->fd_index >= 0 ? take(ff, op->fd_index) : -1;
    int err = arena_put(st, 'X', op->data, op->len, &st->exec_str);
    if (err) {
        if (fd >= 0)
            sys_close(fd);
        return err;
    }
    if (st->exec_fd >= 0)
        sys_close(st->exec_fd);
    st->exec_fd = fd;
    st->exec_kind = op->c;
    return 0;
}

int ep_stub_apply(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op) {
    long r = 0;
    switch (op->op) {
    case EP_OP_FD_DUP:
        return op_fd_dup(st, ff, op);
    case EP_OP_OPEN:
        return op_open(st, ff, op);
    case EP_OP_CLOSE:
        return op_close(st, op);
    case EP_OP_CLOSEFROM:
        return op_closefrom(st, ff, op);
    case EP_OP_CHDIR:
        return op_chdir(ff, op);
    case EP_OP_CHROOT:
        return op_chroot(ff, op);
    case EP_OP_RLIMIT:
        return op_rlimit(op);
    case EP_OP_SETGROUPS:
        r = sys_setgroups(op->a, (const uint32_t *)op->data);
        break;
    case EP_OP_SETGID:
        r = sys_setresgid(op->a, op->a, op->a);
        break;
    case EP_OP_SETUID:
        return op_setuid(op);
    case EP_OP_SIGMASK:
        st->sigmask = (uint64_t)op->a;
        return 0;
    case EP_OP_SIGDEFAULT:
        return set_dispositions((uint64_t)op->a, EP_SIG_DFL);
    case EP_OP_SIGIGNORE:
        return set_dispositions((uint64_t)op->a, EP_SIG_IGN);
    case EP_OP_UMASK:
        sys_umask(op->a);
        return 0;
    case EP_OP_SETSID:
        r = sys_setsid();
        break;
    case EP_OP_SETPGID:
        r = sys_setpgid(0, op->a);
        break;
    case EP_OP_ARGV:
        return arena_put(st, 'A', op->data, op->len, 0);
    case EP_OP_ENV:
        return arena_put(st, 'E', op->data, op->len, 0);
    case EP_OP_EXEC_TARGET:
        return op_exec_target(st, ff, op);
    /* posix_spawn */
    case EP_OP_SCHED: {
        int prio = (int)op->b;
        r = sys_sched_setscheduler(op->a, &prio);
        break;
    }
    case EP_OP_SCHEDPARAM: {
        int prio = (int)op->a;
        r = sys_sched_setparam(&prio);
        break;
    }
    case EP_OP_TCSETPGRP:
        return op_tcsetpgrp(st, ff, op);
    case EP_OP_DUP:
        return op_dup(st, ff, op);
    case EP_OP_FCHDIR:
        if (!child_visible(st, ff, op->a))
            return -EBADF;
        r = sys_fchdir((int)op->a);
        break;
    case EP_OP_RESETIDS:
        return op_resetids();
    case EP_OP_SEARCH_PATH:
        return arena_put(st, 'P', op->data, op->len, 0);
    default:
        return ep_stub_apply_sandbox(st, ff, op);
    }
    return r < 0 ? (int)r : 0;
}

/* ---- S2: exec ---------------------------------------------------------------------------------- */

static uint32_t str_len(const char *s) {
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int starts_with_path(const char *s) { /* "PATH=" */
    return s[0] == 'P' && s[1] == 'A' && s[2] == 'T' && s[3] == 'H' && s[4] == '=';
}

static int has_slash(const char *s) {
    for (; *s; s++)
        if (*s == '/')
            return 1;
    return 0;
}

/* Try name in each PATH entry, as execvp(3) does (without its /bin/sh fallback for ENOEXEC). */
static long exec_search(const char *name, const char *path, char *const *argv, char *const *envp) {
    if (!*name)
        return -ENOENT;
    if (has_slash(name))
        return sys_execveat(EP_AT_FDCWD, name, argv, envp, 0);
    char buf[4096];
    uint32_t nlen = str_len(name);
    long err = -ENOENT;
    int got_eacces = 0;
    const char *p = path;
    for (;;) {
        const char *end = p;
        while (*end && *end != ':')
            end++;
        uint32_t dlen = (uint32_t)(end - p), off = 0;
        if (dlen + 1 + nlen + 1 <= sizeof buf) {
            if (dlen == 0) {
                buf[off++] = '.'; /* an empty entry is the working directory */
            } else {
                for (uint32_t i = 0; i < dlen; i++)
                    buf[off++] = p[i];
            }
            buf[off++] = '/';
            for (uint32_t i = 0; i <= nlen; i++)
                buf[off++] = name[i];
            err = sys_execveat(EP_AT_FDCWD, buf, argv, envp, 0);
            if (err == -EACCES)
                got_eacces = 1;
            else if (err != -ENOENT && err != -ENOTDIR && err != -ESTALE && err != -ENODEV && err != -ETIMEDOUT &&
                     err != -ENAMETOOLONG && err != -ELOOP)
                return err;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    return got_eacces ? -EACCES : err;
}

int ep_stub_exec(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op, ep_verdict_fn send_verdict) {
    static const char default_path[] = "/bin:/usr/bin";
    static const char empty[] = "";
    /* The caller learns that the exec happened from the exec pipe, whose write end came with this
     * record and is held by this process alone: CLOEXEC, it closes in execve. (The channel cannot
     * say it: a process the caller forked may hold a copy of the stub's end.) On failure it stays
     * open until the FAIL verdict is sent. */
    st->exec_pipe = take(ff, op->fd_index);
    if (!st->exec_kind)
        return -EINVAL;

    /* Count the tagged strings, then lay out argv[] and envp[] after them. */
    uint64_t argc = 0, envc = 0;
    for (uint64_t off = 0; off < st->arena_used;) {
        const char *s = (const char *)st->arena + off + 1;
        if (st->arena[off] == 'A')
            argc++;
        else if (st->arena[off] == 'E')
            envc++;
        off += 1 + str_len(s) + 1;
    }
    int default_argv0 = argc == 0; /* as posix_spawn callers expect: argv[0] is the program */
    if (default_argv0)
        argc = 1;
    uint64_t base = (st->arena_used + 7u) & ~(uint64_t)7u;
    uint64_t need = (argc + 1 + envc + 1) * sizeof(char *);
    if (base > st->arena_size || need > st->arena_size - base)
        return -E2BIG;
    char **argv = (char **)(st->arena + base);
    char **envp = argv + argc + 1;
    const char *path = default_path, *search = 0;
    uint64_t ai = 0, ei = 0;
    if (default_argv0)
        argv[ai++] = (char *)op->data;
    for (uint64_t off = 0; off < st->arena_used;) {
        char *s = (char *)st->arena + off + 1;
        if (st->arena[off] == 'A')
            argv[ai++] = s;
        else if (st->arena[off] == 'E') {
            envp[ei++] = s;
            if (path == default_path && starts_with_path(s))
                path = s + 5; /* the first PATH= wins, as with getenv(3) */
        } else if (st->arena[off] == 'P')
            search = s; /* execpath: the last one wins, over the environment's PATH */
        off += 1 + str_len(s) + 1;
    }
    argv[ai] = 0;
    envp[ei] = 0;
    if (search)
        path = search;

    uint64_t all = ~(uint64_t)0;
    sys_rt_sigprocmask(EP_SIG_SETMASK, &st->sigmask, 0);
    send_verdict(st->chan, EP_VERDICT_EXEC_BEGIN, op->index, 0);

    long err;
    switch (st->exec_kind) {
    case EP_EXEC_PATH:
        err = sys_execveat(st->exec_fd >= 0 ? st->exec_fd : EP_AT_FDCWD, st->exec_str, argv, envp, 0);
        break;
    case EP_EXEC_FD:
        err = sys_execveat(st->exec_fd, empty, argv, envp, EP_AT_EMPTY_PATH);
        break;
    default:
        err = exec_search(st->exec_str, path, argv, envp);
        break;
    }
    sys_rt_sigprocmask(EP_SIG_SETMASK, &all, 0);
    return (int)err;
}
