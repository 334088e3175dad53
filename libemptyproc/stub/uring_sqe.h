/* SPDX-License-Identifier: MIT */
/*
 * uring_sqe.h - every io_uring submission entry libemptyproc fills, in one place (docs/io_uring.md).
 *
 * Freestanding (no libc, no <linux/io_uring.h>: Debian's uapi header is 6.1 and lacks the newer
 * opcodes, and liburing 2.3 lacks their helpers), so that the stub and the caller share it: the stub
 * on its own ring, the caller on liburing's SQEs (struct io_uring_sqe has this layout; the unit test
 * tests/unit/uring_sqe_test.cpp checks every offset and constant against the kernel's header and
 * every helper's fields against the kernel's prep rules).
 */
#ifndef EMPTYPROC_STUB_URING_SQE_H
#define EMPTYPROC_STUB_URING_SQE_H

#include <stdint.h>

/* Opcodes (enum io_uring_op, include/uapi/linux/io_uring.h) and the kernel that added each. */
#define EP_IORING_OP_POLL_ADD 6          /* 5.1 */
#define EP_IORING_OP_ASYNC_CANCEL 14     /* 5.5 */
#define EP_IORING_OP_OPENAT 18           /* 5.6 */
#define EP_IORING_OP_CLOSE 19            /* 5.6 */
#define EP_IORING_OP_FILES_UPDATE 20     /* 5.6 */
#define EP_IORING_OP_MSG_RING 40         /* 5.18; IORING_MSG_SEND_FD 6.0 */
#define EP_IORING_OP_FUTEX_WAIT 51       /* 6.7 */
#define EP_IORING_OP_FIXED_FD_INSTALL 54 /* 6.8 */

#define EP_IOSQE_FIXED_FILE (1u << 0)
#define EP_IOSQE_IO_LINK (1u << 2)
#define EP_IOSQE_IO_HARDLINK (1u << 3)
#define EP_IOSQE_ASYNC (1u << 4)
#define EP_IOSQE_CQE_SKIP_SUCCESS (1u << 6)

#define EP_IORING_MSG_DATA 0u
#define EP_IORING_MSG_SEND_FD 1u
#define EP_IORING_MSG_RING_CQE_SKIP (1u << 0)
#define EP_IORING_ENTER_GETEVENTS (1u << 0)
#define EP_IORING_OFF_SQ_RING 0ull
#define EP_IORING_OFF_SQES 0x10000000ull
#define EP_FUTEX2_SIZE_U32 0x02u
#define EP_FUTEX_BITSET_MATCH_ANY 0xffffffffu
#define EP_POLLERR 0x008u
#define EP_POLLHUP 0x010u
#define EP_POLLIN 0x001u
#define EP_POLLRDHUP 0x2000u

#define EP_IORING_FEAT_SINGLE_MMAP (1u << 0)
#define EP_IORING_REGISTER_FILES2 13u
#define EP_IORING_RSRC_REGISTER_SPARSE (1u << 0)

/* struct io_uring_params (io_uring_setup(2)), 120 bytes: what the ring's mappings look like. */
struct ep_io_uring_params {
    uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
    struct {
        uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
        uint64_t user_addr;
    } sq_off;
    struct {
        uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
        uint64_t user_addr;
    } cq_off;
};

/* struct io_uring_rsrc_register (IORING_REGISTER_FILES2), 32 bytes. */
struct ep_io_uring_rsrc_register {
    uint32_t nr, flags;
    uint64_t resv2, data, tags;
};

/* struct io_uring_sqe, 64 bytes, with the unions flattened to the members used here. */
struct ep_sqe {
    uint8_t opcode;
    uint8_t flags; /* EP_IOSQE_* */
    uint16_t ioprio;
    int32_t fd;
    uint64_t off; /* also addr2 */
    uint64_t addr;
    uint32_t len;
    uint32_t op_flags; /* rw_flags, open_flags, poll32_events, msg_ring_flags, install_fd_flags, ... */
    uint64_t user_data;
    uint16_t buf_index;
    uint16_t personality;
    uint32_t file_index; /* also splice_fd_in */
    uint64_t addr3;
    uint64_t pad2;
};

/* struct io_uring_cqe (16 bytes; no CQE32 rings here). */
struct ep_cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};

static inline void ep_sqe_clear(struct ep_sqe *s, uint8_t opcode, uint64_t user_data) {
    uint64_t *w = (uint64_t *)s;
    for (int i = 0; i < 8; i++)
        w[i] = 0;
    s->opcode = opcode;
    s->user_data = user_data;
}

/* MSG_RING data: a CQE in the ring `ring_fd` with res = res, user_data = target_data. */
static inline void ep_sqe_msg_data(struct ep_sqe *s, int ring_fd, uint32_t res, uint64_t target_data,
                                   uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_MSG_RING, user_data);
    s->fd = ring_fd;
    s->addr = EP_IORING_MSG_DATA;
    s->len = res;
    s->off = target_data;
}

/* MSG_RING SEND_FD: this ring's fixed file `src_slot` into slot `dst_slot` of ring `ring_fd`,
 * without a CQE there. */
static inline void ep_sqe_msg_send_fd(struct ep_sqe *s, int ring_fd, uint32_t src_slot, uint32_t dst_slot,
                                      uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_MSG_RING, user_data);
    s->fd = ring_fd;
    s->addr = EP_IORING_MSG_SEND_FD;
    s->addr3 = src_slot;
    s->file_index = dst_slot + 1; /* 0 would mean "no slot"; IORING_FILE_INDEX_ALLOC is ~0 */
    s->op_flags = EP_IORING_MSG_RING_CQE_SKIP;
}

/* FILES_UPDATE: slots [first, first+n) of this ring's fixed table become fds[0..n) (-1 empties). */
static inline void ep_sqe_files_update(struct ep_sqe *s, const int32_t *fds, uint32_t n, uint32_t first,
                                       uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_FILES_UPDATE, user_data);
    s->fd = -1;
    s->addr = (uint64_t)(uintptr_t)fds;
    s->len = n;
    s->off = first;
}

/* FIXED_FD_INSTALL: fixed file `slot` becomes a normal descriptor of the submitter (res), CLOEXEC. */
static inline void ep_sqe_fixed_fd_install(struct ep_sqe *s, uint32_t slot, uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_FIXED_FD_INSTALL, user_data);
    s->fd = (int32_t)slot;
    s->flags = EP_IOSQE_FIXED_FILE;
    s->op_flags = 0; /* IORING_FIXED_FD_NO_CLOEXEC (1) would drop O_CLOEXEC */
}

/* POLL_ADD, one shot, for `events` (POLLERR and POLLHUP are reported whatever is asked). */
static inline void ep_sqe_poll_add(struct ep_sqe *s, int fd, uint32_t events, uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_POLL_ADD, user_data);
    s->fd = fd;
    s->op_flags = events; /* poll32_events, little-endian layout */
}

/* OPENAT: openat(dirfd, path, flags, mode), result = the new descriptor. */
static inline void ep_sqe_openat(struct ep_sqe *s, int dirfd, const char *path, uint32_t flags, uint32_t mode,
                                 uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_OPENAT, user_data);
    s->fd = dirfd;
    s->addr = (uint64_t)(uintptr_t)path;
    s->op_flags = flags;
    s->len = mode;
}

/* CLOSE of a normal descriptor. */
static inline void ep_sqe_close(struct ep_sqe *s, int fd, uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_CLOSE, user_data);
    s->fd = fd;
}

/* FUTEX_WAIT on a shared (not process-private) 32-bit word while it equals `val`. */
static inline void ep_sqe_futex_wait(struct ep_sqe *s, const uint32_t *word, uint32_t val, uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_FUTEX_WAIT, user_data);
    s->fd = (int32_t)EP_FUTEX2_SIZE_U32; /* futex2 flags */
    s->addr = (uint64_t)(uintptr_t)word;
    s->off = val; /* addr2 */
    s->addr3 = EP_FUTEX_BITSET_MATCH_ANY;
}

/* ASYNC_CANCEL of the request whose user_data is `target`. */
static inline void ep_sqe_cancel(struct ep_sqe *s, uint64_t target, uint64_t user_data) {
    ep_sqe_clear(s, EP_IORING_OP_ASYNC_CANCEL, user_data);
    s->fd = -1;
    s->addr = target;
}

#endif /* EMPTYPROC_STUB_URING_SQE_H */
