/* SPDX-License-Identifier: MIT */
/*
 * chan.h - the stub's end of its stream: how a frame and its descriptors come in. One file per
 * transport (chan_socket.c, chan_uring.c); verdicts go out the same way for both (stub.c
 * send_verdict(): a 16-byte datagram on the channel socket, st->chan). Same rules as stub.c: raw
 * system calls only.
 */
#ifndef EMPTYPROC_STUB_CHAN_H
#define EMPTYPROC_STUB_CHAN_H

#include <stdint.h>

#include "stub.h"

struct ep_stub;

/* The io_uring transport's state (struct ep_stub.uring; docs/io_uring.md). */
struct ep_uring_state {
    struct ep_stub_uring r; /* the ring and the arena, as the caller mapped them */
    uint32_t sq_tail;       /* SQEs written up to here (published at the next enter) */
    uint32_t to_submit;     /* written, not yet submitted */
    uint32_t seq;           /* frames received */
    uint32_t in_frame;      /* 1 while frame `seq` is applied: it is finished at the next receive */
    uint32_t hup_armed;     /* the poll on the channel socket is submitted */
    uint32_t npending, pending_head;
    uint64_t pending_ud[EP_URING_PENDING_MAX];
    int32_t pending_len[EP_URING_PENDING_MAX];
};

/* Receive one frame: 0 at the end of the stream (EOF; the caller closed it or died), its length
 * with *frame pointing at its bytes, or a negative errno. fds[] gets its descriptors (CLOEXEC) and
 * *nfds their count. */
long ep_chan_socket_recv(struct ep_stub *st, unsigned char **frame, int *fds, uint32_t *nfds);
long ep_chan_uring_recv(struct ep_stub *st, unsigned char **frame, int *fds, uint32_t *nfds);

/* One datagram of at most `size` bytes into buf, its SCM_RIGHTS descriptors (CLOEXEC, at most
 * EP_WIRE_FDS_MAX) into fds[] and *nfds: its length, 0 at EOF, -EMSGSIZE if truncated, or -errno. */
long ep_chan_recv_rights(int sock, void *buf, uint32_t size, int *fds, uint32_t *nfds);

/* io_uring: check and copy args->uring; 0 or -errno. */
int ep_chan_uring_init(struct ep_stub *st, const struct ep_stub_args *args);

/* io_uring, the zygote (EP_ZYGOTE_MAKE_RING): make ring C for a stub it is about to fork (CLOEXEC,
 * EP_URING_STUB_ENTRIES, a sparse table of EP_URING_STUB_SLOTS) and describe it in *g. The ring's
 * descriptor, or -errno. */
long ep_chan_uring_make_ring(struct ep_uring_geometry *g);

/* io_uring: openat(2) and close(2) as ring requests (IORING_OP_OPENAT, IORING_OP_CLOSE). */
long ep_chan_uring_openat(struct ep_stub *st, int dirfd, const char *path, long flags, long mode);
long ep_chan_uring_close(struct ep_stub *st, int fd);

#endif /* EMPTYPROC_STUB_CHAN_H */
