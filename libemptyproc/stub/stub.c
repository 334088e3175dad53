/* SPDX-License-Identifier: MIT */
/*
 * stub.c - the paused stub: receive the command stream, apply it, exec.
 *
 * This file (with ops.c, decode.c and sys.h) is everything that runs between clone and exec. It runs
 * in a CLONE_VM child: it shares the caller's memory while the caller's threads keep running, so
 *
 *   MAY    use its own stack and the region struct ep_stub_args points to; read-only code and data
 *          of this library; raw system calls from sys.h.
 *   MAY NOT call libc (not even memcpy: the build has no undefined symbols in these objects, a test
 *          checks it), touch errno or TLS, allocate, take locks, throw, read or write any memory of
 *          the caller (heap, globals, the caller's stack), or return from ep_stub_main().
 *
 * Life of the stub (the names match docs/protocol.md):
 *   S0 prologue   keep only the transport's descriptors (unsharing the fd table; EP_STUB_KEEP_*
 *                 flags leave the caller's fds or ignored signals be), set every disposition to
 *                 default. All signals stay blocked until the exec. (The stub is named "ep-stub"
 *                 from birth: the caller wears that name for the instant of the clone.)
 *   S1 stream     receive a frame, check it whole, apply its records in order. Batched frames
 *                 answer only a failure, then the stub kills itself; sync frames answer every record.
 *   S2 exec       set the configured signal mask, send EXEC_BEGIN, execve. The EXEC record brought
 *                 the write end of the caller's exec pipe; CLOEXEC, held by the stub alone, it
 *                 closes in execve: the caller's one wake-up. A failure sends FAIL first.
 *   S3 end        EOF before an exec, a frame that does not decode, or a failure in batched mode:
 *                 kill(self, SIGKILL). The caller reaps.
 */
#include "stub.h"

#include "../proto/wire.h"
#include "chan.h"
#include "ops.h"
#include "sys.h"

static __attribute__((noreturn)) void die(void) {
    sys_kill(sys_getpid(), EP_SIGKILL);
    sys_exit_group(137); /* not reached: SIGKILL cannot be blocked */
}

/* How often a verdict is sent again after ENOBUFS/ENOMEM before the stub gives up (and dies). */
#define EP_VERDICT_SEND_TRIES 16

static void send_verdict(int chan, uint16_t kind, uint32_t index, int32_t err) {
    struct ep_wire_verdict v;
    v.magic = EP_WIRE_MAGIC;
    v.version = EP_WIRE_VERSION;
    v.kind = kind;
    v.index = index;
    v.err = err;
    struct ep_iovec iov = {&v, sizeof v};
    struct ep_msghdr m = {0, 0, &iov, 1, 0, 0, 0};
    /* ENOBUFS (or ENOMEM): the kernel could not allocate the datagram. That passes: try again a
     * few times, 1 ms apart. */
    static const struct ep_timespec ms = {0, 1000000};
    long r;
    for (unsigned tries = 0;; tries++) {
        r = sys_sendmsg(chan, &m, EP_MSG_NOSIGNAL);
        if (r == -EINTR)
            continue;
        if ((r == -ENOBUFS || r == -ENOMEM) && tries < EP_VERDICT_SEND_TRIES) {
            sys_nanosleep(&ms);
            continue;
        }
        break;
    }
    /* A caller that is gone cannot be told; the next recvmsg sees EOF and the stub dies. A caller
     * that is there but was not told must not be left waiting for the verdict (in sync mode it
     * would wait forever: the stub would go on to wait for its next frame), nor see the exec pipe
     * close after a lost EXEC_BEGIN while the program runs: the stub ends, and the caller learns it
     * from the pidfd (ECHILD). A FAIL lost after EXEC_BEGIN still reads as an exec that began, as
     * a stub killed there does (docs/reliability.md §7.2). */
    if (r < 0 && r != -EPIPE && r != -ECONNRESET)
        die();
}

/* S0, descriptors. The fd table is shared with the caller (CLONE_FILES) or a copy of it. */
static void prologue_fds(const struct ep_stub_args *args) {
    if (args->flags & EP_STUB_KEEP_CALLER_FDS) {
        /* posix_spawn-style: a private copy of the whole table; execve drops the CLOEXEC ones. */
        if (sys_unshare(EP_CLONE_FILES) < 0)
            die();
        if (args->s0_done)
            *args->s0_done = 1;
        return;
    }
    int keep[EP_STUB_KEEP_MAX];
    uint32_t n = args->nkeep < EP_STUB_KEEP_MAX ? args->nkeep : EP_STUB_KEEP_MAX;
    if (n == 0)
        die();                         /* no channel: nothing could ever configure this stub */
    for (uint32_t i = 0; i < n; i++) { /* insertion sort: a handful of entries */
        uint32_t j = i;
        for (; j > 0 && keep[j - 1] > args->keep[i]; j--)
            keep[j] = keep[j - 1];
        keep[j] = args->keep[i];
    }
    /* Unsharing while closing everything above the highest kept descriptor copies only the entries
     * below it; then the gaps below are closed too. None of the caller's descriptors, CLOEXEC or
     * not, survives into the stub. */
    if (sys_close_range((unsigned)keep[n - 1] + 1, ~0u, EP_CLOSE_RANGE_UNSHARE) < 0)
        die();
    unsigned lo = 0;
    for (uint32_t i = 0; i < n; i++) {
        if ((unsigned)keep[i] > lo && sys_close_range(lo, (unsigned)keep[i] - 1, 0) < 0)
            die();
        lo = (unsigned)keep[i] + 1;
    }
    if (args->s0_done)
        *args->s0_done = 1; /* the caller may reuse the numbers keep[] had in its table */
}

/* S0. Called first, on the stub's own stack. */
static void prologue(const struct ep_stub_args *args) {
    prologue_fds(args);
    struct ep_ksigaction dfl = {EP_SIG_DFL, 0, 0, 0};
    if (args->flags & EP_STUB_KEEP_SIGIGN) {
        if (!(args->flags & EP_STUB_SIGHAND_INHERITED))
            return; /* CLONE_CLEAR_SIGHAND reset the handlers; ignored signals stay ignored */
        /* The clone(2) fallback copied the caller's handlers: each caught signal back to its
         * default, the ignored ones left alone. All signals are blocked, so none of those handlers
         * ran before this. */
        for (int sig = 1; sig <= 64; sig++) {
            struct ep_ksigaction old;
            if (sig != EP_SIGKILL && sig != EP_SIGSTOP && sys_rt_sigaction_get(sig, &old) == 0 &&
                old.handler != EP_SIG_DFL && old.handler != EP_SIG_IGN)
                sys_rt_sigaction(sig, &dfl);
        }
        return;
    }

    /* The ignored ones too: the program starts with every disposition at its default. */
    for (int sig = 1; sig <= 64; sig++)
        if (sig != EP_SIGKILL && sig != EP_SIGSTOP)
            sys_rt_sigaction(sig, &dfl);
}

__attribute__((noreturn)) void ep_stub_main(void *argp) {
    const struct ep_stub_args *args = (const struct ep_stub_args *)argp;
    struct ep_stub st;
    prologue(args);
    ep_stub_init(&st, args);
    if (st.transport == EP_STUB_TRANSPORT_IO_URING && ep_chan_uring_init(&st, args) < 0)
        die();

    int fds[EP_WIRE_FDS_MAX];
    for (;;) { /* S1 */
        uint32_t nfds;
        unsigned char *frame;
        long n = st.transport == EP_STUB_TRANSPORT_IO_URING ? ep_chan_uring_recv(&st, &frame, fds, &nfds)
                                                            : ep_chan_socket_recv(&st, &frame, fds, &nfds);
        if (n == 0)
            die(); /* S3: the stream ended without an exec (or the caller died) */
        if (n < 0) {
            send_verdict(st.chan, EP_VERDICT_BAD_FRAME, 0xffffffffu, (int32_t)n);
            die();
        }
        struct ep_wire_cursor cur;
        uint32_t bad;
        int err = ep_wire_check_frame(frame, (uint32_t)n, nfds, &cur, &bad);
        if (err) {
            /* The frame's descriptors close in the stub's death, after the verdict is queued: one
             * may be the exec pipe, whose EOF must not come first. */
            send_verdict(st.chan, EP_VERDICT_BAD_FRAME, bad, err);
            die();
        }
        int sync = (((const struct ep_wire_frame_hdr *)frame)->flags & EP_FRAME_SYNC) != 0;
        struct ep_frame_fds ff;
        err = ep_stub_take_fds(&st, &ff, &cur, fds, nfds);
        if (err) {
            /* FAIL first, then close: one of these may be the exec pipe, whose EOF the caller
             * takes as the end of the exec; the verdict must be queued by then. */
            send_verdict(st.chan, EP_VERDICT_FAIL, ff.failed_index, err);
            ep_stub_drop_fds(&ff);
            if (!sync)
                die();
            continue;
        }

        struct ep_wire_op op;
        while (ep_wire_next(&cur, &op)) {
            if (op.op == EP_OP_EXEC) {
                /* S2: everything before it is applied; the verdict is EXEC_BEGIN, then EOF. */
                err = ep_stub_exec(&st, &ff, &op, send_verdict);
            } else {
                err = ep_stub_apply(&st, &ff, &op);
            }
            if (err) {
                send_verdict(st.chan, EP_VERDICT_FAIL, op.index, err);
                ep_stub_drop_fds(&ff);   /* after the FAIL: the exec pipe may be among them */
                if (st.exec_pipe >= 0) { /* after the FAIL: its EOF must not look like an exec */
                    sys_close(st.exec_pipe);
                    st.exec_pipe = -1;
                }
                if (!sync)
                    die(); /* S3: all or nothing */
                break;
            }
            if (sync)
                send_verdict(st.chan, EP_VERDICT_OK, op.index, 0);
        }
    }
}
