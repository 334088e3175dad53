/* SPDX-License-Identifier: MIT */
/*
 * zygote.h - the messages between the caller and the zygote (strategy zygote, docs/strategies.md).
 *
 * One AF_UNIX SOCK_SEQPACKET connection per zygote. The caller sends a request with the new stub's
 * descriptors (its keep[], by SCM_RIGHTS); the zygote forks the stub with CLONE_PARENT (so that the
 * stub is the caller's child) and CLONE_PIDFD, and answers with the stub's pid and its pidfd (by
 * SCM_RIGHTS). The zygote ends at the connection's EOF or when its parent dies.
 */
#ifndef EMPTYPROC_STUB_ZYGOTE_H
#define EMPTYPROC_STUB_ZYGOTE_H

#include <stdint.h>

#define EP_ZYGOTE_MAGIC 0x7a79676fu /* "zygo" */

struct ep_zygote_request {
    uint32_t magic;
    uint32_t transport; /* EP_TRANSPORT_* of the new stub */
    uint32_t nkeep;     /* descriptors that came with it, in keep[] order */
    uint32_t flags;     /* EP_ZYGOTE_* */
};

/* io_uring: make the stub's ring C here and put it at keep[1] (the request brought keep[0], the
 * channel socket, and the arena's memfd, which becomes keep[2]). An io_uring descriptor cannot
 * travel by SCM_RIGHTS (Linux 6.7 refuses it), so the caller takes its copy of C from the stub with
 * pidfd_getfd(2): it is the stub's parent. */
#define EP_ZYGOTE_MAKE_RING 0x1u

struct ep_zygote_reply {
    uint32_t magic;
    int32_t err; /* 0, or -errno of the clone; the pidfd comes with a 0 */
    int32_t pid;
    int32_t ring_fd; /* EP_ZYGOTE_MAKE_RING: ring C's number in the stub's table; else -1 */
};

#endif /* EMPTYPROC_STUB_ZYGOTE_H */
