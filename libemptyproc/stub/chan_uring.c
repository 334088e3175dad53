/* SPDX-License-Identifier: MIT */
/*
 * chan_uring.c - the io_uring transport's end in the stub (docs/io_uring.md).
 *
 * The stub owns ring C (keep[1]): it submits to it and reaps it with raw io_uring_enter(2), through
 * the caller's mapping of it (ep_stub_args.uring). Its commands are the completions the caller posts
 * into C with IORING_OP_MSG_RING: a commit names a frame in the shared arena and the fixed-file slots
 * of C that hold the frame's descriptors (sent with IORING_MSG_SEND_FD), which the stub turns into
 * ordinary descriptors with IORING_OP_FIXED_FD_INSTALL. A poll on the channel socket (keep[0], whose
 * peer only the caller holds) completes when the caller closes the stream or dies: the end of the
 * stream, without any timer. Same rules as stub.c: raw system calls only, no libc.
 */
#include "../proto/wire.h"
#include "chan.h"
#include "ops.h"
#include "sys.h"
#include "uring_sqe.h"

/* Tags (top byte of user_data) of the stub's own requests; the caller's commits are
 * EP_URING_TAG_COMMIT. The low bits of an install's user_data are the descriptor's index (n for the
 * FILES_UPDATE that ends the chain). A completion of another tag than the one waited for is dropped:
 * only one kind is ever in flight. */
#define TAG_INSTALL 0xa1u
#define TAG_OPEN 0xa3u
#define TAG_CLOSE 0xa4u
#define TAG_HUP 0xa5u
#define UD(tag, low) (((uint64_t)(tag) << 56) | (low))

static int ring_fd(const struct ep_stub *st) {
    return st->extra[0]; /* keep[1]; make_room() may have moved it */
}

int ep_chan_uring_init(struct ep_stub *st, const struct ep_stub_args *args) {
    struct ep_uring_state *u = &st->uring;
    u->r = args->uring;
    if (st->nextra < 1 || !u->r.sq_head || !u->r.cq_head || !u->r.arena || u->r.sq_entries < 2 ||
        u->r.arena_size <= EP_URING_ARENA_FRAMES)
        return -EINVAL; /* not mapped for this stub (docs/io_uring.md: strategies that share no memory) */
    u->sq_tail = __atomic_load_n(u->r.sq_tail, __ATOMIC_ACQUIRE);
    u->to_submit = 0;
    u->seq = 0;
    u->in_frame = 0;
    u->hup_armed = 0;
    u->npending = 0;
    u->pending_head = 0;
    return 0;
}

/* The next free SQE, or 0 if the SQ is full of unsubmitted entries (callers never let it fill). */
static struct ep_sqe *sqe_get(struct ep_uring_state *u) {
    uint32_t head = __atomic_load_n(u->r.sq_head, __ATOMIC_ACQUIRE);
    if (u->sq_tail - head >= u->r.sq_entries)
        return 0;
    uint32_t idx = u->sq_tail & u->r.sq_mask;
    u->r.sq_array[idx] = idx;
    u->sq_tail++;
    u->to_submit++;
    return &u->r.sqes[idx];
}

/* Submit what is written and wait until at least `min_complete` CQEs are there. */
static long enter(struct ep_stub *st, uint32_t min_complete) {
    struct ep_uring_state *u = &st->uring;
    __atomic_store_n(u->r.sq_tail, u->sq_tail, __ATOMIC_RELEASE);
    long r = sys_io_uring_enter(ring_fd(st), u->to_submit, min_complete, min_complete ? EP_IORING_ENTER_GETEVENTS : 0);
    if (r > 0)
        u->to_submit -= (uint32_t)r < u->to_submit ? (uint32_t)r : u->to_submit;
    if (r == -EINTR || r == -EAGAIN || r == -EBUSY)
        return 0; /* try again after reaping: the CQ may be backed up */
    return r < 0 ? r : 0;
}

/* Reap completions until `want` of `tag` are seen (each one's res into res[low bits], if res), or,
 * for tag EP_URING_TAG_COMMIT, until a commit is queued. Commits that come meanwhile are queued;
 * the poll's completion ends the stream: -EPIPE. */
static long reap_until(struct ep_stub *st, uint32_t tag, uint32_t want, int32_t *res) {
    struct ep_uring_state *u = &st->uring;
    uint32_t seen = 0;
    for (;;) {
        uint32_t head = *u->r.cq_head;
        uint32_t tail = __atomic_load_n(u->r.cq_tail, __ATOMIC_ACQUIRE);
        int hup = 0;
        for (; head != tail; head++) {
            const struct ep_cqe *c = &u->r.cqes[head & u->r.cq_mask];
            uint32_t t = EP_URING_TAG(c->user_data);
            if (t == EP_URING_TAG_COMMIT) {
                if (u->npending == EP_URING_PENDING_MAX) {
                    __atomic_store_n(u->r.cq_head, head, __ATOMIC_RELEASE);
                    return -EOVERFLOW; /* the caller keeps fewer frames in flight than this */
                }
                uint32_t i = (u->pending_head + u->npending++) % EP_URING_PENDING_MAX;
                u->pending_ud[i] = c->user_data;
                u->pending_len[i] = c->res;
            } else if (t == TAG_HUP) {
                hup = 1;
            } else if (t == tag) {
                if (res)
                    res[(uint32_t)c->user_data & 0xffffu] = c->res;
                seen++;
            }
        }
        __atomic_store_n(u->r.cq_head, head, __ATOMIC_RELEASE);
        if (hup)
            return -EPIPE;
        if (tag == EP_URING_TAG_COMMIT ? u->npending > 0 : seen >= want)
            return 0;
        long r = enter(st, tag == EP_URING_TAG_COMMIT ? 1 : want - seen);
        if (r < 0)
            return r;
    }
}

/* The frame being applied is finished: tell the caller, who may reuse its arena bytes and slots. */
static void finish_frame(struct ep_uring_state *u) {
    struct ep_uring_arena_hdr *h = (struct ep_uring_arena_hdr *)u->r.arena;
    __atomic_store_n(&h->done, u->seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&h->waiting, __ATOMIC_SEQ_CST))
        sys_futex_wake(&h->done, 1);
    u->in_frame = 0;
}

/* The frame's descriptors, from C's slots [base, base+n) into the stub's table (CLOEXEC), and the
 * slots emptied, so that C (which the caller holds until the end) keeps none of them. Submitted in
 * chunks that fit the SQ, each a hard-linked chain (in order, and on to the end even if one fails). */
static long install_fds(struct ep_stub *st, uint32_t base, uint32_t n, int *fds) {
    struct ep_uring_state *u = &st->uring;
    int32_t res[EP_WIRE_FDS_MAX + 1];
    int32_t empty[EP_WIRE_FDS_MAX];
    uint32_t chunk_max = u->r.sq_entries - 1 - u->to_submit; /* room for the last chunk's FILES_UPDATE */
    for (uint32_t k = 0; k < n; k++)
        res[k] = -EBADF;
    for (uint32_t k = 0; k < n;) {
        uint32_t end = n - k > chunk_max ? k + chunk_max : n;
        for (uint32_t i = k; i < end; i++) {
            struct ep_sqe *s = sqe_get(u);
            ep_sqe_fixed_fd_install(s, base + i, UD(TAG_INSTALL, i));
            if (i + 1 < end || end == n) /* the last one links on to the FILES_UPDATE below */
                s->flags |= EP_IOSQE_IO_HARDLINK;
        }
        uint32_t want = end - k;
        if (end == n) { /* its result goes to res[n] */
            for (uint32_t i = 0; i < n; i++)
                empty[i] = -1;
            ep_sqe_files_update(sqe_get(u), empty, n, base, UD(TAG_INSTALL, n));
            want++;
        }
        long r = reap_until(st, TAG_INSTALL, want, res);
        if (r < 0)
            return r;
        k = end;
    }
    long err = res[n] < 0 ? res[n] : 0; /* a slot not emptied would keep its file open in C */
    /* A slot left empty holds a file io_uring's table refuses (O_PATH: fget() does not take it): the
     * caller sends those, in order, in one SCM_RIGHTS datagram {count} on the channel socket. */
    uint32_t missing = 0;
    for (uint32_t k = 0; k < n; k++)
        if (res[k] == -EBADF)
            missing++;
    int byhand[EP_WIRE_FDS_MAX];
    uint32_t got = 0, count = 0;
    if (missing && !err) {
        long r = ep_chan_recv_rights(st->chan, &count, sizeof count, byhand, &got);
        if (r == 0)
            return -EPIPE; /* the caller is gone */
        if (r < 0 || r != (long)sizeof count || count != missing || got != missing)
            err = r < 0 ? r : -EPROTO;
    }
    for (uint32_t k = 0, j = 0; k < n; k++) {
        fds[k] = res[k];
        if (res[k] == -EBADF && j < got)
            fds[k] = res[k] = byhand[j++];
        else if (res[k] < 0 && !err)
            err = res[k];
    }
    if (err)
        for (uint32_t j = 0; j < got; j++)
            if (j >= missing)
                sys_close(byhand[j]);
    if (err)
        for (uint32_t k = 0; k < n; k++)
            if (res[k] >= 0)
                sys_close(res[k]);
    return err;
}

long ep_chan_uring_recv(struct ep_stub *st, unsigned char **frame, int *fds, uint32_t *nfds) {
    struct ep_uring_state *u = &st->uring;
    *nfds = 0;
    *frame = u->r.arena + EP_URING_ARENA_FRAMES;
    if (u->in_frame)
        finish_frame(u);
    if (!u->hup_armed) {
        /* The end of the stream: every copy of the caller's end of the channel socket closed. */
        ep_sqe_poll_add(sqe_get(u), st->chan, EP_POLLRDHUP | EP_POLLHUP | EP_POLLERR, UD(TAG_HUP, 0));
        u->hup_armed = 1;
    }
    long r = reap_until(st, EP_URING_TAG_COMMIT, 0, 0); /* submits the poll with the first wait */
    if (r == -EPIPE)
        return 0;
    if (r < 0)
        return r;
    uint64_t ud = u->pending_ud[u->pending_head];
    int32_t len = u->pending_len[u->pending_head];
    u->pending_head = (u->pending_head + 1) % EP_URING_PENDING_MAX;
    u->npending--;
    u->seq++;
    u->in_frame = 1;

    uint64_t off = EP_URING_COMMIT_OFF(ud), base = EP_URING_COMMIT_SLOTS(ud);
    if (len < (int32_t)sizeof(struct ep_wire_frame_hdr) || (uint32_t)len > EP_WIRE_FRAME_MAX ||
        off < EP_URING_ARENA_FRAMES || (off & 7) || off > u->r.arena_size || (uint64_t)len > u->r.arena_size - off)
        return -EPROTO;
    *frame = u->r.arena + off;
    uint32_t n = ((const struct ep_wire_frame_hdr *)*frame)->nfds;
    if (n > EP_WIRE_FDS_MAX || base > u->r.slots || n > u->r.slots - base)
        return -EPROTO;
    if (n) {
        r = install_fds(st, (uint32_t)base, n, fds);
        if (r < 0)
            return r == -EPIPE ? 0 : r;
    }
    *nfds = n;
    return len;
}

/* One request on C and its result, with the stream's end still watched. */
static long one_request(struct ep_stub *st, uint32_t tag) {
    int32_t res = -EIO;
    long r = reap_until(st, tag, 1, &res);
    if (r == -EPIPE) {
        /* The caller is gone: the stream has ended without an exec (S3). */
        sys_kill(sys_getpid(), EP_SIGKILL);
        sys_exit_group(137);
    }
    return r < 0 ? r : res;
}

long ep_chan_uring_openat(struct ep_stub *st, int dirfd, const char *path, long flags, long mode) {
    struct ep_sqe *s = sqe_get(&st->uring);
    ep_sqe_openat(s, dirfd, path, (uint32_t)flags, (uint32_t)mode, UD(TAG_OPEN, 0));
    /* Inline, io_uring first tries the open with O_NONBLOCK added (and clears it afterwards): a FIFO
     * would open for reading without waiting for a writer, and fail ENXIO for writing without a
     * reader, where openat(2) waits. IOSQE_ASYNC goes straight to an io-wq worker: openat(2)'s
     * semantics, at the price of a worker thread. */
    s->flags |= EP_IOSQE_ASYNC;
    return one_request(st, TAG_OPEN);
}

long ep_chan_uring_close(struct ep_stub *st, int fd) {
    ep_sqe_close(sqe_get(&st->uring), fd, UD(TAG_CLOSE, 0));
    return one_request(st, TAG_CLOSE);
}
