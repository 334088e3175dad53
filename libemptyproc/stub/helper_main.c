/* SPDX-License-Identifier: MIT */
/*
 * helper_main.c - ep-stub, the freestanding static helper program of the pristine strategies
 * (exec_stub, safeexec, zygote; docs/strategies.md). No libc, no loader: this file, the stub
 * (stub.c, ops.c, decode.c) and its raw system calls (sys.h), linked -nostdlib -static.
 *
 *   ep-stub s TRANSPORT FD...     be a stub: keep FD... (the channel first), read the stream, exec
 *   ep-stub z FD PPID             be a zygote: serve requests on FD, fork stubs for them
 *
 * Its memory is its own: the receive buffer and the string arena are static (.bss, zero pages the
 * kernel maps at the exec and faults in on use), the stack is the one the kernel gave it.
 */
#include "../proto/wire.h"
#include "chan.h"
#include "stub.h"
#include "sys.h"
#include "zygote.h"

#define EP_PR_SET_NAME 15
#define EP_PR_SET_PDEATHSIG 1
#define EP_CLONE_PIDFD 0x1000ull
#define EP_CLONE_PARENT 0x8000ull
#define EP_CLONE_CLEAR_SIGHAND 0x100000000ull

static unsigned char recv_buf[(EP_WIRE_FRAME_MAX + 4095u) & ~4095u] __attribute__((aligned(4096)));
static unsigned char arena[4u << 20] __attribute__((aligned(4096)));

/* The kernel enters with the stack pointer at argc, 16-byte aligned, and no return address. */
// clang-format off
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall ep_helper_main\n\thlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tbl ep_helper_main\n\tbrk #0\n");
#endif
// clang-format on

static long parse(const char *s) {
    long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static __attribute__((noreturn)) void die(void) {
    sys_kill(sys_getpid(), EP_SIGKILL);
    sys_exit_group(137);
}

/* g: ring C's geometry if the zygote made C (else the arena's header has it, or the stub is not on io_uring). */
static __attribute__((noreturn)) void run_stub(uint32_t transport, uint32_t nkeep, const int *keep,
                                               const struct ep_uring_geometry *g) {
    struct ep_stub_args args;
    unsigned char *p = (unsigned char *)&args;
    for (unsigned i = 0; i < sizeof args; i++) /* no memset: freestanding */
        p[i] = 0;
    /* The exec cleared their CLOEXEC; the stub's descriptors must not reach its target. */
    for (uint32_t i = 0; i < nkeep; i++)
        if (sys_fcntl(keep[i], EP_F_SETFD, EP_FD_CLOEXEC) < 0)
            die();
    args.transport = transport;
    args.nkeep = nkeep;
    for (uint32_t i = 0; i < EP_STUB_KEEP_MAX; i++)
        args.keep[i] = i < nkeep ? keep[i] : -1;
    args.recv_size = sizeof recv_buf;
    args.recv_buf = recv_buf;
    args.arena = arena;
    args.arena_size = sizeof arena;
    args.s0_done = 0;
    args.uring_geometry = g; /* args.uring stays zero: the stub maps C and the arena itself */
    ep_stub_main(&args);
}

/* ---- zygote ----------------------------------------------------------------------------------- */

static void reply(int ctl, int32_t err, int32_t pid, int pidfd, int32_t ring) {
    struct ep_zygote_reply r = {EP_ZYGOTE_MAGIC, err, pid, ring};
    union {
        struct ep_cmsghdr h;
        unsigned char buf[sizeof(struct ep_cmsghdr) + 8];
    } control;
    struct ep_iovec iov = {&r, sizeof r};
    struct ep_msghdr m = {0, 0, &iov, 1, 0, 0, 0};
    if (pidfd >= 0) {
        control.h.len = sizeof(struct ep_cmsghdr) + sizeof(int);
        control.h.level = EP_SOL_SOCKET;
        control.h.type = EP_SCM_RIGHTS;
        *(int *)(control.buf + sizeof(struct ep_cmsghdr)) = pidfd;
        m.control = &control;
        m.controllen = sizeof(struct ep_cmsghdr) + 8;
    }
    /* As the stub's verdicts (stub.c send_verdict()): the caller sleeps in recvmsg until this
     * reply comes, so a datagram the kernel could not allocate (ENOBUFS, ENOMEM) is sent again. */
    static const struct ep_timespec ms = {0, 1000000};
    long n;
    for (unsigned tries = 0;; tries++) {
        n = sys_sendmsg(ctl, &m, EP_MSG_NOSIGNAL);
        if (n == -EINTR)
            continue;
        if ((n == -ENOBUFS || n == -ENOMEM) && tries < 16) {
            sys_nanosleep(&ms);
            continue;
        }
        break;
    }
    /* Still not sent: end, so that the caller's recvmsg sees EOF ("the zygote did not answer")
     * instead of sleeping forever. (EPIPE: the caller is gone; the next recvmsg ends the loop.) */
    if (n < 0 && n != -EPIPE && n != -ECONNRESET)
        sys_exit_group(0);
}

struct ep_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static __attribute__((noreturn)) void run_zygote(int ctl, long ppid) {
    /* Die with the caller: the parent-death signal, then the check for a caller already gone. */
    sys_prctl(EP_PR_SET_PDEATHSIG, EP_SIGKILL, 0, 0, 0);
    if (sys_getppid() != ppid)
        sys_exit_group(0);
    sys_prctl(EP_PR_SET_NAME, (unsigned long)"ep-zygote", 0, 0, 0);
    for (;;) {
        struct ep_zygote_request req;
        union {
            struct ep_cmsghdr h;
            unsigned char buf[sizeof(struct ep_cmsghdr) + 8 * sizeof(int)];
        } control;
        struct ep_iovec iov = {&req, sizeof req};
        struct ep_msghdr m = {0, 0, &iov, 1, &control, sizeof control, 0};
        long n;
        do
            n = sys_recvmsg(ctl, &m, EP_MSG_CMSG_CLOEXEC);
        while (n == -EINTR);
        if (n <= 0)
            sys_exit_group(0); /* the caller hung up */
        int fds[8];
        uint32_t nfds = 0;
        if (m.controllen >= sizeof(struct ep_cmsghdr) && control.h.level == EP_SOL_SOCKET &&
            control.h.type == EP_SCM_RIGHTS && control.h.len <= sizeof control) {
            const int *in = (const int *)(control.buf + sizeof(struct ep_cmsghdr));
            for (size_t i = 0; i < (control.h.len - sizeof(struct ep_cmsghdr)) / sizeof(int) && nfds < 8; i++)
                fds[nfds++] = in[i];
        }
        int32_t err = 0;
        if (n != sizeof req || req.magic != EP_ZYGOTE_MAGIC || req.nkeep < 1 || req.nkeep > EP_STUB_KEEP_MAX ||
            req.nkeep != nfds || (m.flags & EP_MSG_CTRUNC) || (req.flags & ~EP_ZYGOTE_MAKE_RING) ||
            ((req.flags & EP_ZYGOTE_MAKE_RING) && (req.transport != EP_STUB_TRANSPORT_IO_URING || nfds != 2)))
            err = -EINVAL;
        /* io_uring: ring C is made here (it cannot come by SCM_RIGHTS) and goes in at keep[1]; the
         * caller takes its copy from the stub (pidfd_getfd). */
        struct ep_uring_geometry geometry;
        const struct ep_uring_geometry *g = 0;
        long ring = -1;
        if (!err && (req.flags & EP_ZYGOTE_MAKE_RING)) {
            ring = ep_chan_uring_make_ring(&geometry);
            if (ring < 0) {
                err = (int32_t)ring;
            } else {
                fds[2] = fds[1];
                fds[1] = (int)ring;
                nfds = 3;
                g = &geometry;
            }
        }
        int pidfd = -1;
        long pid = -1;
        if (!err) {
            struct ep_clone_args ca;
            unsigned char *p = (unsigned char *)&ca;
            for (unsigned i = 0; i < sizeof ca; i++)
                p[i] = 0;
            ca.flags = EP_CLONE_PARENT | EP_CLONE_PIDFD | EP_CLONE_CLEAR_SIGHAND;
            ca.pidfd = (uint64_t)(unsigned long)&pidfd;
            ca.exit_signal = 0; /* CLONE_PARENT: the stub gets the zygote's own, SIGCHLD */
            /* The stub inherits the zygote's name: wear its own for the instant of the clone. */
            sys_prctl(EP_PR_SET_NAME, (unsigned long)"ep-stub", 0, 0, 0);
            pid = sys_clone3(&ca, sizeof ca);
            /* clone3 refused with ENOSYS (a seccomp profile, which the exec kept, or an old
             * kernel): the same fork with clone(2), which has no CLONE_CLEAR_SIGHAND. Nothing is
             * lost: this program installs no handler and its exec reset the caller's, the stub's
             * S0 sets dispositions as usual, and every signal stays blocked until then (the
             * zygote was started with all of them blocked and never unblocks). With CLONE_PARENT
             * the exit signal comes from the zygote's own, so the low byte is 0. */
            if (pid == -ENOSYS)
                pid = sys_clone_fork(EP_CLONE_PARENT | EP_CLONE_PIDFD, &pidfd);
            if (pid == 0)
                run_stub(req.transport, nfds, fds, g); /* closes ctl in S0 */
            sys_prctl(EP_PR_SET_NAME, (unsigned long)"ep-zygote", 0, 0, 0);
            if (pid < 0)
                err = (int32_t)pid;
        }
        for (uint32_t i = 0; i < nfds; i++)
            sys_close(fds[i]);
        reply(ctl, err, (int32_t)pid, err ? -1 : pidfd, err ? -1 : (int32_t)ring);
        if (pidfd >= 0)
            sys_close(pidfd);
    }
}

__attribute__((used, noreturn)) void ep_helper_main(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    sys_prctl(EP_PR_SET_NAME, (unsigned long)"ep-stub", 0, 0, 0); /* exec'd from a memfd its name is the fd's */
    if (argc >= 4 && argv[1][0] == 's' && argv[1][1] == 0) {
        long transport = parse(argv[2]);
        int keep[EP_STUB_KEEP_MAX];
        long nkeep = argc - 3;
        if (transport < 0 || nkeep > EP_STUB_KEEP_MAX)
            die();
        for (long i = 0; i < nkeep; i++)
            if ((keep[i] = (int)parse(argv[3 + i])) < 0)
                die();
        run_stub((uint32_t)transport, (uint32_t)nkeep, keep, 0);
    }
    if (argc == 4 && argv[1][0] == 'z' && argv[1][1] == 0) {
        long ctl = parse(argv[2]), ppid = parse(argv[3]);
        if (ctl < 0 || ppid <= 0)
            die();
        run_zygote((int)ctl, ppid);
    }
    die();
}
