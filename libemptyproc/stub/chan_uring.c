/* SPDX-License-Identifier: MIT */
/*
 * chan_uring.c - the io_uring transport's end in the stub (docs/io_uring.md).
 *
 * The stub owns ring C (keep[1]): it submits to it and reaps it with raw io_uring_enter(2), through
 * the caller's mapping of it (ep_stub_args.uring), or, in a pristine stub that shares no memory with
 * the caller, through its own mappings of C and of the arena's memfd (keep[2]). Its commands are the completions the
 * caller posts into C with IORING_OP_MSG_RING: a commit names a frame in the shared arena and the fixed-file slots of C
 * that hold the frame's descriptors (sent with IORING_MSG_SEND_FD), which the stub turns into ordinary descriptors with
 * IORING_OP_FIXED_FD_INSTALL. A poll on the channel socket (keep[0], whose peer only the caller holds) completes when
 * the caller closes the stream or dies: the end of the stream, without any timer. Same rules as stub.c: raw system
 * calls only, no libc.
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

_Static_assert(sizeof(struct ep_uring_arena_hdr) <= EP_URING_ARENA_FRAMES, "the arena header overlaps the frames");

static int fits(uint32_t off, uint32_t len, uint32_t size) {
    return off <= size && len <= size - off;
}

long ep_chan_uring_make_ring(struct ep_uring_geometry *g) {
    struct ep_io_uring_params p;
    unsigned char *b = (unsigned char *)&p;
    for (unsigned i = 0; i < sizeof p; i++) /* no memset: freestanding */
        b[i] = 0;
    long fd = sys_io_uring_setup(EP_URING_STUB_ENTRIES, &p); /* CLOEXEC, as every ring */
    if (fd < 0)
        return fd;
    struct ep_io_uring_rsrc_register reg = {EP_URING_STUB_SLOTS, EP_IORING_RSRC_REGISTER_SPARSE, 0, 0, 0};
    long r = sys_io_uring_register((int)fd, EP_IORING_REGISTER_FILES2, &reg, sizeof reg);
    if (r >= 0 && !(p.features & EP_IORING_FEAT_SINGLE_MMAP))
        r = -EOPNOTSUPP;
    if (r < 0) {
        sys_close((int)fd);
        return r;
    }
    uint32_t sq_size = p.sq_off.array + p.sq_entries * 4u;
    uint32_t cq_size = p.cq_off.cqes + p.cq_entries * (uint32_t)sizeof(struct ep_cqe);
    g->magic = EP_URING_GEOMETRY_MAGIC;
    g->ring_size = sq_size > cq_size ? sq_size : cq_size;
    g->sqes_size = p.sq_entries * (uint32_t)sizeof(struct ep_sqe);
    g->sq_head = p.sq_off.head;
    g->sq_tail = p.sq_off.tail;
    g->sq_mask = p.sq_off.ring_mask;
    g->sq_entries = p.sq_off.ring_entries;
    g->sq_array = p.sq_off.array;
    g->cq_head = p.cq_off.head;
    g->cq_tail = p.cq_off.tail;
    g->cq_mask = p.cq_off.ring_mask;
    g->cq_cqes = p.cq_off.cqes;
    g->slots = EP_URING_STUB_SLOTS;
    g->arena_size = 0; /* the caller's: the stub takes its memfd's size */
    return fd;
}

/* A pristine stub (exec_stub, safeexec, zygote) shares no memory with the caller: it maps the arena
 * from its memfd (keep[2]) and ring C (keep[1]) into its own address space, as the geometry says
 * (the arena's header, written by the caller, or g from the zygote that made C), then closes the
 * memfd (the mapping keeps the memory). Its exec drops the mappings; C and the socket are CLOEXEC. */
static int map_own(struct ep_stub *st, struct ep_stub_uring *r, const struct ep_uring_geometry *g) {
    if (st->nextra < 2)
        return -EINVAL;
    int memfd = st->extra[1];
    long size = sys_lseek(memfd, 0, EP_SEEK_END);
    if (size <= (long)EP_URING_ARENA_FRAMES || size > 0x40000000L)
        return -EINVAL;
    long arena = sys_mmap(0, (size_t)size, EP_PROT_READ | EP_PROT_WRITE, EP_MAP_SHARED, memfd, 0);
    if (sys_mmap_failed(arena))
        return (int)arena;
    if (!g) {
        g = &((const struct ep_uring_arena_hdr *)arena)->geometry;
        if (g->arena_size != (uint64_t)size)
            return -EPROTO;
    }
    if (g->magic != EP_URING_GEOMETRY_MAGIC)
        return -EPROTO;
    uint32_t rs = g->ring_size;
    if (!fits(g->sq_head, 4, rs) || !fits(g->sq_tail, 4, rs) || !fits(g->sq_mask, 4, rs) ||
        !fits(g->sq_entries, 4, rs) || !fits(g->cq_head, 4, rs) || !fits(g->cq_tail, 4, rs) ||
        !fits(g->cq_mask, 4, rs) || !fits(g->cq_cqes, 0, rs) || !fits(g->sq_array, 0, rs))
        return -EPROTO;
    long ring = sys_mmap(0, rs, EP_PROT_READ | EP_PROT_WRITE, EP_MAP_SHARED, st->extra[0], EP_IORING_OFF_SQ_RING);
    if (sys_mmap_failed(ring))
        return (int)ring;
    long sqes =
        sys_mmap(0, g->sqes_size, EP_PROT_READ | EP_PROT_WRITE, EP_MAP_SHARED, st->extra[0], EP_IORING_OFF_SQES);
    if (sys_mmap_failed(sqes))
        return (int)sqes;
    unsigned char *rb = (unsigned char *)ring;
    r->sq_head = (uint32_t *)(rb + g->sq_head);
    r->sq_tail = (uint32_t *)(rb + g->sq_tail);
    r->sq_array = (uint32_t *)(rb + g->sq_array);
    r->sqes = (struct ep_sqe *)sqes;
    r->cq_head = (uint32_t *)(rb + g->cq_head);
    r->cq_tail = (uint32_t *)(rb + g->cq_tail);
    r->cqes = (struct ep_cqe *)(rb + g->cq_cqes);
    r->sq_mask = *(const uint32_t *)(rb + g->sq_mask); /* the kernel wrote them into the ring */
    r->sq_entries = *(const uint32_t *)(rb + g->sq_entries);
    r->cq_mask = *(const uint32_t *)(rb + g->cq_mask);
    r->slots = g->slots;
    r->arena = (unsigned char *)arena;
    r->arena_size = (uint64_t)size;
    if (r->sq_entries * sizeof(struct ep_sqe) > g->sqes_size || !fits(g->sq_array, r->sq_entries * 4, rs) ||
        !fits(g->cq_cqes, (r->cq_mask + 1) * (uint32_t)sizeof(struct ep_cqe), rs))
        return -EPROTO;
    /* The memfd is no longer needed: nothing of the stub's refers to it any more. */
    sys_close(memfd);
    st->nextra = 1;
    return 0;
}

int ep_chan_uring_init(struct ep_stub *st, const struct ep_stub_args *args) {
    struct ep_uring_state *u = &st->uring;
    u->r = args->uring;
    if (!u->r.sq_head) {
        int err = map_own(st, &u->r, args->uring_geometry);
        if (err)
            return err;
    }
    if (st->nextra < 1 || !u->r.sq_head || !u->r.cq_head || !u->r.arena || u->r.sq_entries < 2 ||
        u->r.arena_size <= EP_URING_ARENA_FRAMES)
        return -EINVAL;
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
