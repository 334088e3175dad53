/* SPDX-License-Identifier: MIT */
/*
 * sys.h - the only way the stub talks to the kernel: raw system calls.
 *
 * ep_syscall6() is the primitive; the wrappers are named sys_<call> (never ep_*, the public ABI).
 * Every function returns the kernel's result: >= 0 on success, -errno on failure. Nothing here
 * touches libc, errno or thread-local storage, so it is safe in a CLONE_VM child that shares the
 * caller's memory and runs while the caller's other threads hold libc's locks.
 */
#ifndef EMPTYPROC_STUB_SYS_H
#define EMPTYPROC_STUB_SYS_H

#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>
#include <linux/errno.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "the stub's raw system calls are written for x86_64 and aarch64 only"
#endif

#if defined(__x86_64__)
/* syscall: number in rax, args in rdi rsi rdx r10 r8 r9; rcx and r11 are clobbered. */
static inline long ep_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
/* svc 0: number in x8, args in x0..x5, result in x0. */
static inline long ep_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
}
#endif

#define EP_SC0(n) ep_syscall6((n), 0, 0, 0, 0, 0, 0)
#define EP_SC1(n, a) ep_syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define EP_SC2(n, a, b) ep_syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define EP_SC3(n, a, b, c) ep_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define EP_SC4(n, a, b, c, d) ep_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define EP_SC5(n, a, b, c, d, e) ep_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define EP_SC6(n, a, b, c, d, e, f) ep_syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* Constants the stub needs, spelled out so that no libc header is pulled in. */
#define EP_AT_FDCWD (-100)
#define EP_AT_EMPTY_PATH 0x1000
#define EP_O_RDONLY 0
#define EP_O_CLOEXEC 02000000
#define EP_O_PATH 010000000
#define EP_O_DIRECTORY 0200000
#define EP_F_DUPFD_CLOEXEC 1030
#define EP_F_GETFD 1
#define EP_F_SETFD 2
#define EP_FD_CLOEXEC 1
#define EP_MSG_CMSG_CLOEXEC 0x40000000
#define EP_MSG_NOSIGNAL 0x4000
#define EP_MSG_TRUNC 0x20
#define EP_MSG_CTRUNC 0x08
#define EP_SOL_SOCKET 1
#define EP_SCM_RIGHTS 1
#define EP_SIGKILL 9
#define EP_SIGSTOP 19
#define EP_SIG_BLOCK 0
#define EP_SIG_SETMASK 2
#define EP_SIG_DFL 0
#define EP_SIG_IGN 1
#define EP_CLOSE_RANGE_UNSHARE 2
#define EP_CLONE_FILES 0x400ul
#define EP_CLONE_FS 0x200ul
#define EP_RLIM_INFINITY (~0UL)

struct ep_iovec {
    void *base;
    size_t len;
};

struct ep_msghdr {
    void *name;
    unsigned int namelen;
    struct ep_iovec *iov;
    size_t iovlen;
    void *control;
    size_t controllen;
    int flags;
};

struct ep_cmsghdr {
    size_t len;
    int level;
    int type;
};

struct ep_rlimit64 {
    uint64_t cur;
    uint64_t max;
};

/* The kernel's struct sigaction for rt_sigaction on x86_64/aarch64 (no sa_restorer needed for
 * SIG_DFL/SIG_IGN). */
struct ep_ksigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    uint64_t mask;
};

static inline long sys_close(int fd) {
    return EP_SC1(__NR_close, fd);
}
static inline long sys_unshare(unsigned long flags) {
    return EP_SC1(__NR_unshare, flags);
}
static inline long sys_close_range(unsigned lo, unsigned hi, unsigned flags) {
    return EP_SC3(__NR_close_range, lo, hi, flags);
}
static inline long sys_dup3(int from, int to, int flags) {
    return EP_SC3(__NR_dup3, from, to, flags);
}
static inline long sys_fcntl(int fd, int cmd, long arg) {
    return EP_SC3(__NR_fcntl, fd, cmd, arg);
}
static inline long sys_openat(int dirfd, const char *path, long flags, long mode) {
    return EP_SC4(__NR_openat, dirfd, path, flags, mode);
}
static inline long sys_write(int fd, const void *buf, size_t len) {
    return EP_SC3(__NR_write, fd, buf, len);
}
static inline long sys_io_uring_enter(int ring, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return EP_SC6(__NR_io_uring_enter, ring, to_submit, min_complete, flags, 0, 0);
}
static inline long sys_futex_wake(volatile uint32_t *word, int n) { /* FUTEX_WAKE, shared */
    return EP_SC3(__NR_futex, word, 1, n);
}
static inline long sys_recvmsg(int fd, struct ep_msghdr *m, int flags) {
    return EP_SC3(__NR_recvmsg, fd, m, flags);
}
static inline long sys_sendmsg(int fd, const struct ep_msghdr *m, int flags) {
    return EP_SC3(__NR_sendmsg, fd, m, flags);
}
static inline long sys_chdir(const char *path) {
    return EP_SC1(__NR_chdir, path);
}
static inline long sys_fchdir(int fd) {
    return EP_SC1(__NR_fchdir, fd);
}
static inline long sys_chroot(const char *path) {
    return EP_SC1(__NR_chroot, path);
}
static inline long sys_prlimit64(int resource, const struct ep_rlimit64 *lim) {
    return EP_SC4(__NR_prlimit64, 0, resource, lim, 0);
}
static inline long sys_setgroups(long n, const uint32_t *gids) {
    return EP_SC2(__NR_setgroups, n, gids);
}
static inline long sys_setresgid(long r, long e, long s) {
    return EP_SC3(__NR_setresgid, r, e, s);
}
static inline long sys_setresuid(long r, long e, long s) {
    return EP_SC3(__NR_setresuid, r, e, s);
}
static inline long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old) {
    return EP_SC4(__NR_rt_sigprocmask, how, set, old, 8);
}
static inline long sys_rt_sigaction(int sig, const struct ep_ksigaction *act) {
    return EP_SC4(__NR_rt_sigaction, sig, act, 0, 8);
}
static inline long sys_rt_sigaction_get(int sig, struct ep_ksigaction *old) {
    return EP_SC4(__NR_rt_sigaction, sig, 0, old, 8);
}
static inline long sys_umask(long mode) {
    return EP_SC1(__NR_umask, mode);
}
static inline long sys_setsid(void) {
    return EP_SC0(__NR_setsid);
}
static inline long sys_setpgid(long pid, long pgid) {
    return EP_SC2(__NR_setpgid, pid, pgid);
}
static inline long sys_getpid(void) {
    return EP_SC0(__NR_getpid);
}
static inline long sys_kill(long pid, int sig) {
    return EP_SC2(__NR_kill, pid, sig);
}
static inline long sys_execveat(int dirfd, const char *path, char *const *argv, char *const *envp, int flags) {
    return EP_SC5(__NR_execveat, dirfd, path, argv, envp, flags);
}
/* posix_spawn ops */
#define EP_TIOCSPGRP 0x5410
static inline long sys_sched_setscheduler(long policy, const int *prio) {
    return EP_SC3(__NR_sched_setscheduler, 0, policy, prio);
}
static inline long sys_sched_setparam(const int *prio) {
    return EP_SC2(__NR_sched_setparam, 0, prio);
}
static inline long sys_getpgid(long pid) {
    return EP_SC1(__NR_getpgid, pid);
}
static inline long sys_ioctl(int fd, unsigned long req, void *arg) {
    return EP_SC3(__NR_ioctl, fd, req, arg);
}
static inline long sys_getuid(void) {
    return EP_SC0(__NR_getuid);
}
static inline long sys_getgid(void) {
    return EP_SC0(__NR_getgid);
}
/* ---- sandbox ops (stub/ops_sandbox.c) ---- */
static inline long sys_getppid(void) {
    return EP_SC0(__NR_getppid);
}
static inline long sys_read(int fd, void *buf, size_t n) {
    return EP_SC3(__NR_read, fd, buf, n);
}
static inline long sys_pipe2(int *fds, int flags) {
    return EP_SC2(__NR_pipe2, fds, flags);
}
static inline long sys_wait4(long pid, int *status, int options) {
    return EP_SC4(__NR_wait4, pid, status, options, 0);
}
static inline long sys_setns(int fd, long nstype) {
    return EP_SC2(__NR_setns, fd, nstype);
}
static inline long sys_sethostname(const char *name, size_t len) {
    return EP_SC2(__NR_sethostname, name, len);
}
static inline long sys_mount(const char *src, const char *target, const char *type, unsigned long flags,
                             const void *data) {
    return EP_SC5(__NR_mount, src, target, type, flags, data);
}
static inline long sys_statfs(const char *path, void *buf) {
    return EP_SC2(__NR_statfs, path, buf);
}
static inline long sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
    return EP_SC5(__NR_prctl, op, a, b, c, d);
}
static inline long sys_capget(void *hdr, void *data) {
    return EP_SC2(__NR_capget, hdr, data);
}
static inline long sys_capset(void *hdr, const void *data) {
    return EP_SC2(__NR_capset, hdr, data);
}
static inline long sys_seccomp(unsigned op, unsigned flags, const void *args) {
    return EP_SC3(__NR_seccomp, op, flags, args);
}
static inline long sys_landlock_restrict_self(int fd, unsigned flags) {
    return EP_SC2(__NR_landlock_restrict_self, fd, flags);
}
static inline long sys_setpriority(int which, int who, int prio) {
    return EP_SC3(__NR_setpriority, which, who, prio);
}
static inline long sys_sched_setaffinity(int pid, size_t len, const void *mask) {
    return EP_SC3(__NR_sched_setaffinity, pid, len, mask);
}
static inline long sys_ioprio_set(int which, int who, int prio) {
    return EP_SC3(__NR_ioprio_set, which, who, prio);
}
static inline long sys_personality(unsigned long persona) {
    return EP_SC1(__NR_personality, persona);
}
struct ep_timespec {
    long sec;
    long nsec;
};
static inline long sys_nanosleep(const struct ep_timespec *t) {
    return EP_SC2(__NR_nanosleep, t, 0);
}

/* mmap(2): the address, or -errno (a value in [-4095, -1]). */
#define EP_PROT_READ 0x1
#define EP_PROT_WRITE 0x2
#define EP_MAP_SHARED 0x01
#define EP_SEEK_END 2
static inline long sys_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off) {
    return EP_SC6(__NR_mmap, addr, len, prot, flags, fd, off);
}
static inline int sys_mmap_failed(long r) {
    return r < 0 && r >= -4095;
}
static inline long sys_lseek(int fd, long off, int whence) {
    return EP_SC3(__NR_lseek, fd, off, whence);
}
static inline long sys_io_uring_setup(unsigned entries, void *params) {
    return EP_SC2(__NR_io_uring_setup, entries, params);
}
static inline long sys_io_uring_register(int ring, unsigned op, const void *arg, unsigned n) {
    return EP_SC4(__NR_io_uring_register, ring, op, arg, n);
}

static inline long sys_clone3(void *args, size_t size) {
    return EP_SC2(__NR_clone3, args, size);
}
/* clone(2) without a new stack, fork-like: the child returns here on a copy of the caller's stack.
 * tls and child_tid are 0, so x86_64's order (flags, stack, parent_tid, child_tid, tls) and
 * aarch64's (flags, stack, parent_tid, tls, child_tid) take the same arguments. */
static inline long sys_clone_fork(unsigned long flags, int *parent_tid) {
    return EP_SC5(__NR_clone, flags, 0, parent_tid, 0, 0);
}
static inline __attribute__((noreturn)) void sys_exit_group(int status) {
    for (;;)
        EP_SC1(__NR_exit_group, status);
}

#endif /* EMPTYPROC_STUB_SYS_H */
