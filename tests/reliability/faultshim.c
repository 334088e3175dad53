// SPDX-License-Identifier: MIT
// faultshim.c - an LD_PRELOAD shim that makes some of the libc calls libemptyproc.so makes fail the
// way the kernel could make them fail, for tests/reliability/faults_test.cpp.
//
//   LD_PRELOAD=libep-faultshim.so EP_FAULTS="eintr=1/3,eagain=1/4,nobufs=1/40,short=1/4,seed=7" prog
//
// Only calls made FROM libemptyproc.so are touched: the return address must lie in that library's
// mapping (found with dl_iterate_phdr). The test program, gtest, libstdc++ and the probe keep the
// real calls. libemptyproc is linked with -z now, but that only binds its PLT slots at load time:
// they are bound to the first definition in the lookup order, and an LD_PRELOADed object comes
// first, so every libc call it makes through the PLT lands here. Calls that bypass the PLT are out
// of reach: liburing's io_uring_enter (an inline syscall in liburing 2.3), the stub's raw syscalls
// (it runs no libc at all), syscall(2) itself (clone3, pidfd_send_signal, futex) is not wrapped.
//
// A fault is injected only where the kernel could produce it for that call, that descriptor and
// those flags at that moment, as seen from the caller (each check below says why). Then the call
// fails before it does anything, so a retry is always correct. Per call, a deterministic
// pseudo-random draw (splitmix64 of seed and a global call number) decides.
//
//   eintr   poll/ppoll with a timeout, blocking recv/recvmsg, blocking sendmsg, waitid/waitpid
//           without WNOHANG: only when the real call would have to sleep (nothing ready, nothing
//           queued, no room, no waitable child); that sleep is where a signal whose handler lacks
//           SA_RESTART gives EINTR.
//   eagain  sendmsg/send with MSG_DONTWAIT or on an O_NONBLOCK socket: the send buffer or the peer's
//           receive queue (net.unix.max_dgram_qlen) may be full; the caller cannot see the peer's
//           progress, so it is always possible. NOT for a nonblocking recv: AF_UNIX never answers
//           EAGAIN while a datagram is queued, and the library relies on that (after the exec
//           pipe's hang-up, the EXEC_BEGIN verdict is already queued); when nothing is queued the
//           real call says EAGAIN by itself.
//   nobufs  sendmsg/send on AF_UNIX: ENOBUFS, the kernel could not allocate the skb
//           (alloc_skb_with_frags). Not retried by the library: the spawn must fail cleanly.
//   short   read/write/recv on a pipe, FIFO or SOCK_STREAM socket: fewer bytes than asked (for a
//           read only of what is there). Never on SOCK_SEQPACKET or SOCK_DGRAM: a datagram goes
//           whole or not at all, and arrives whole or truncated with MSG_TRUNC, and never on a
//           regular file (the library's one write(), the stub image into a memfd, is one). Today
//           the caller's side of every transport uses only SEQPACKET sockets and a pipe it only
//           polls, so this kind finds no eligible call; `short_eligible` counts them.
//
// The counts are read by the test through ep_faultshim_counts() (dlsym; its absence means the shim
// is not loaded). ep_faultshim_enable(0) stops injection (the calls are still counted).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

enum {
    C_CALLS, // calls from libemptyproc.so seen by the shim
    C_EINTR, // faults injected, per kind
    C_EAGAIN,
    C_NOBUFS,
    C_SHORT,
    C_SHORT_ELIGIBLE, // calls where a short count would have been legal
    C_REAL_EAGAIN,    // EAGAIN the kernel itself gave to the library's sendmsg (a full buffer)
    C_SENDMSG,        // calls from the library, per function
    C_RECV,
    C_RECVMSG,
    C_POLL,
    C_WAITID,
    C_WAITPID,
    C_WRITE,
    C_READ,
    C__COUNT
};

static unsigned long long counts[C__COUNT];
static int enabled = 1;
static uint64_t seed;
static uint64_t calln;
static struct rate { uint32_t num, den; } r_eintr, r_eagain, r_nobufs, r_short;

static uintptr_t lib_lo, lib_hi; // libemptyproc.so's mapping

static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static int (*real_waitid)(idtype_t, id_t, siginfo_t *, int);
static pid_t (*real_waitpid)(pid_t, int *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);

static void count(int c) {
    __atomic_add_fetch(&counts[c], 1, __ATOMIC_RELAXED);
}

static int find_lib(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libemptyproc.so"))
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    lib_lo = lo;
    lib_hi = hi;
    return 1;
}

static void parse_rate(const char *s, struct rate *r) {
    char *end;
    r->num = (uint32_t)strtoul(s, &end, 10);
    r->den = *end == '/' ? (uint32_t)strtoul(end + 1, NULL, 10) : 1;
    if (r->den == 0)
        r->num = 0, r->den = 1;
}

__attribute__((constructor)) static void init(void) {
    real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
    real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
    real_recv = dlsym(RTLD_NEXT, "recv");
    real_send = dlsym(RTLD_NEXT, "send");
    real_poll = dlsym(RTLD_NEXT, "poll");
    real_ppoll = dlsym(RTLD_NEXT, "ppoll");
    real_waitid = dlsym(RTLD_NEXT, "waitid");
    real_waitpid = dlsym(RTLD_NEXT, "waitpid");
    real_read = dlsym(RTLD_NEXT, "read");
    real_write = dlsym(RTLD_NEXT, "write");
    dl_iterate_phdr(find_lib, NULL);
    const char *env = getenv("EP_FAULTS");
    if (!env)
        return;
    // "kind=num/den,...,seed=N"
    char buf[512];
    strncpy(buf, env, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(tok, "eintr"))
            parse_rate(v, &r_eintr);
        else if (!strcmp(tok, "eagain"))
            parse_rate(v, &r_eagain);
        else if (!strcmp(tok, "nobufs"))
            parse_rate(v, &r_nobufs);
        else if (!strcmp(tok, "short"))
            parse_rate(v, &r_short);
        else if (!strcmp(tok, "seed"))
            seed = strtoull(v, NULL, 10);
    }
}

// Whether the call that entered the shim came from libemptyproc.so.
#define FROM_LIB() in_lib((uintptr_t)__builtin_return_address(0))
static int in_lib(uintptr_t ra) {
    if (ra >= lib_lo && ra < lib_hi) {
        count(C_CALLS);
        return 1;
    }
    return 0;
}

static uint64_t draw(void) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (__atomic_add_fetch(&calln, 1, __ATOMIC_RELAXED));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int roll(const struct rate *r) {
    if (!__atomic_load_n(&enabled, __ATOMIC_RELAXED) || r->num == 0)
        return 0;
    return draw() % r->den < r->num;
}

static int fail_with(int kind, int err) {
    count(kind);
    errno = err;
    return -1;
}

static int nonblocking(int fd, int flags) {
    if (flags & MSG_DONTWAIT)
        return 1;
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

// Whether fd is ready for `events` right now (a zero-timeout poll; errors count as ready: the real
// call reports them without sleeping).
static int ready(int fd, short events) {
    struct pollfd p = {fd, events, 0};
    int r = real_poll(&p, 1, 0);
    return r != 0;
}

static int sock_type(int fd) {
    int t = 0;
    socklen_t len = sizeof t;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) < 0)
        return -1;
    return t;
}

static int is_unix_socket(int fd) {
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 && a.ss_family == AF_UNIX;
}

// A byte stream, where a short count is legal: a pipe, a FIFO or a SOCK_STREAM socket.
static int is_stream(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    if (S_ISFIFO(st.st_mode))
        return 1;
    return S_ISSOCK(st.st_mode) && sock_type(fd) == SOCK_STREAM;
}

// A shorter count for a stream transfer of n bytes (n >= 2), or n if none is drawn.
static size_t maybe_short(int fd, size_t n) {
    if (n < 2 || !is_stream(fd))
        return n;
    count(C_SHORT_ELIGIBLE);
    if (!roll(&r_short))
        return n;
    count(C_SHORT);
    return 1 + (size_t)(draw() % (n - 1));
}

// The send-side faults common to sendmsg and send. 0: none; else the call fails with -1.
static int send_fault(int fd, int flags) {
    if (nonblocking(fd, flags)) {
        // A full send buffer or peer queue: possible at any moment from where the caller stands.
        if (roll(&r_eagain))
            return fail_with(C_EAGAIN, EAGAIN);
    } else if (!ready(fd, POLLOUT)) {
        // A blocking send sleeps only when there is no room; a signal then interrupts it.
        if (roll(&r_eintr))
            return fail_with(C_EINTR, EINTR);
    }
    // The skb (or the SCM_RIGHTS copy) could not be allocated.
    if (is_unix_socket(fd) && roll(&r_nobufs))
        return fail_with(C_NOBUFS, ENOBUFS);
    return 0;
}

// The receive-side EINTR: a blocking receive that would sleep (nothing queued).
static int recv_fault(int fd, int flags) {
    if (!nonblocking(fd, flags) && !ready(fd, POLLIN) && roll(&r_eintr))
        return fail_with(C_EINTR, EINTR);
    return 0;
}

static void note_real_eagain(ssize_t n) {
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        count(C_REAL_EAGAIN);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (!FROM_LIB())
        return real_sendmsg(fd, msg, flags);
    count(C_SENDMSG);
    if (send_fault(fd, flags))
        return -1;
    // No short count: the library sends only on SEQPACKET sockets, where sendmsg is atomic.
    ssize_t n = real_sendmsg(fd, msg, flags);
    int saved = errno;
    note_real_eagain(n);
    errno = saved;
    return n;
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags) {
    if (!FROM_LIB())
        return real_send(fd, buf, len, flags);
    if (send_fault(fd, flags))
        return -1;
    return real_send(fd, buf, maybe_short(fd, len), flags);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
    if (!FROM_LIB())
        return real_recvmsg(fd, msg, flags);
    count(C_RECVMSG);
    if (recv_fault(fd, flags))
        return -1;
    // No short count: on SEQPACKET a datagram arrives whole (or truncated, with MSG_TRUNC).
    return real_recvmsg(fd, msg, flags);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
    if (!FROM_LIB())
        return real_recv(fd, buf, len, flags);
    count(C_RECV);
    if (recv_fault(fd, flags))
        return -1;
    return real_recv(fd, buf, maybe_short(fd, len), flags);
}

// poll sleeps only with a nonzero timeout and nothing ready; a signal then gives EINTR.
static int poll_fault(struct pollfd *fds, nfds_t n, int sleeps) {
    if (!sleeps)
        return 0;
    struct pollfd copy[16];
    if (n > 16)
        return 0;
    memcpy(copy, fds, n * sizeof *fds);
    if (real_poll(copy, n, 0) != 0)
        return 0;
    if (roll(&r_eintr))
        return fail_with(C_EINTR, EINTR);
    return 0;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
    if (!FROM_LIB())
        return real_poll(fds, n, timeout);
    count(C_POLL);
    if (poll_fault(fds, n, timeout != 0))
        return -1;
    return real_poll(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
    if (!FROM_LIB())
        return real_ppoll(fds, n, ts, mask);
    count(C_POLL);
    if (poll_fault(fds, n, !ts || ts->tv_sec || ts->tv_nsec))
        return -1;
    return real_ppoll(fds, n, ts, mask);
}

// A blocking wait sleeps only while no child it waits for is waitable.
static int wait_fault(idtype_t type, id_t id, int options) {
    if (options & WNOHANG)
        return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int peek = (options & (WEXITED | WSTOPPED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD)) | WNOHANG | WNOWAIT;
    if (real_waitid(type, id, &si, peek) != 0 || si.si_pid != 0)
        return 0; // an error or a waitable child: the real call returns at once
    if (roll(&r_eintr))
        return fail_with(C_EINTR, EINTR);
    return 0;
}

EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options) {
    if (!FROM_LIB())
        return real_waitid(type, id, info, options);
    count(C_WAITID);
    if (wait_fault(type, id, options))
        return -1;
    return real_waitid(type, id, info, options);
}

EXPORT pid_t waitpid(pid_t pid, int *status, int options) {
    if (!FROM_LIB())
        return real_waitpid(pid, status, options);
    count(C_WAITPID);
    if (pid > 0 && wait_fault(P_PID, (id_t)pid, options | WEXITED))
        return -1;
    return real_waitpid(pid, status, options);
}

EXPORT ssize_t read(int fd, void *buf, size_t len) {
    if (!FROM_LIB())
        return real_read(fd, buf, len);
    count(C_READ);
    if (!nonblocking(fd, 0) && is_stream(fd) && !ready(fd, POLLIN) && roll(&r_eintr))
        return fail_with(C_EINTR, EINTR);
    size_t n = len;
    if (ready(fd, POLLIN)) // short only of what is there: never turn a read that would block into one
        n = maybe_short(fd, len);
    return real_read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len) {
    if (!FROM_LIB())
        return real_write(fd, buf, len);
    count(C_WRITE);
    // A regular file (the memfd of the stub image) is written whole: no fault is legal there
    // except on ENOSPC or a fatal signal. A pipe write of at most PIPE_BUF bytes is atomic.
    struct stat st;
    if (len <= PIPE_BUF && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
        return real_write(fd, buf, len);
    return real_write(fd, buf, maybe_short(fd, len));
}

// The counts, in the order of the enum above; returns how many there are.
EXPORT int ep_faultshim_counts(unsigned long long *out, int n) {
    for (int i = 0; i < n && i < C__COUNT; i++)
        out[i] = __atomic_load_n(&counts[i], __ATOMIC_RELAXED);
    return C__COUNT;
}

// 0: stop injecting (calls are still counted); 1: inject again.
EXPORT void ep_faultshim_enable(int on) {
    __atomic_store_n(&enabled, on, __ATOMIC_RELAXED);
}

// Whether libemptyproc.so was found in this process (0: nothing can be injected).
EXPORT int ep_faultshim_found_library(void) {
    return lib_hi > lib_lo;
}
