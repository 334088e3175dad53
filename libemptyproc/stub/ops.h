/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the stub's state and one handler per wire op. Same rules as stub.c: no libc, raw syscalls.
 */
#ifndef EMPTYPROC_STUB_OPS_H
#define EMPTYPROC_STUB_OPS_H

#include <stdint.h>

#include "../proto/wire.h"
#include "chan.h"
#include "stub.h"

/* Everything the stub remembers between records. Lives on the stub's stack. */
struct ep_stub {
    int chan;                        /* the channel (CLOEXEC); moved away if a record targets its number */
    int extra[EP_STUB_KEEP_MAX - 1]; /* the transport's other descriptors (CLOEXEC), moved alike */
    uint32_t nextra;
    uint32_t transport;   /* EP_TRANSPORT_* */
    int exec_fd;          /* exec target's descriptor or dirfd (CLOEXEC), -1 if none */
    int exec_kind;        /* EP_EXEC_*, 0 while no target is set */
    int exec_pipe;        /* S2 only: the exec pipe's write end, whose EOF tells the caller "exec'd" */
    const char *exec_str; /* path or name, in the arena */
    uint64_t sigmask;     /* applied right before execve */
    unsigned char *recv_buf;
    uint32_t recv_size;
    unsigned char *arena; /* tagged strings: 'A' argv, 'E' env, 'X' exec target */
    uint64_t arena_size;
    uint64_t arena_used;
    const char *id_map[2]; /* uid_map, gid_map text (in the arena) for the next user namespace, or 0 */
    long ppid;             /* the parent at S0: pdeathsig re-checks it */
    struct ep_uring_state uring; /* EP_STUB_TRANSPORT_IO_URING only */
};

/* The descriptors of the frame being applied: where each now is, and whether it was consumed. */
struct ep_frame_fds {
    int fd[EP_WIRE_FDS_MAX];
    unsigned char live[EP_WIRE_FDS_MAX]; /* 1 until a record consumed it */
    uint32_t n;
    uint32_t failed_index; /* record to blame when ep_stub_take_fds() fails */
};

typedef void (*ep_verdict_fn)(int chan, uint16_t kind, uint32_t index, int32_t err);

void ep_stub_init(struct ep_stub *st, const struct ep_stub_args *args);

/* Move the frame's descriptors out of the way of the records that precede their use (Go's and
 * CPython's two-pass fd shuffle, done once per frame). Returns 0 or -errno; on failure the
 * descriptors stay in *ff for ep_stub_drop_fds() after the FAIL verdict is sent. */
int ep_stub_take_fds(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_cursor *cur, const int *fds,
                     uint32_t nfds);

/* Close the frame's descriptors that no record consumed (after a failure). */
void ep_stub_drop_fds(struct ep_frame_fds *ff);

/* Apply one record (any op but EXEC). Returns 0 or -errno. */
int ep_stub_apply(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op);

/* Apply one sandbox op (stub/ops_sandbox.c): namespaces, cgroup, caps, seccomp, ... Returns 0,
 * -errno, or -EINVAL for an op it does not know. */
int ep_stub_apply_sandbox(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op);

/* Store a string in the arena under a tag other than 'A'/'E' (ops.c). */
int ep_stub_arena_put(struct ep_stub *st, char tag, const char *s, uint32_t len, const char **out);

/* S2: exec the target (op is the EXEC record). Returns only on failure, with -errno, signals
 * blocked again and st->exec_pipe still open: close it once the failure is reported. */
int ep_stub_exec(struct ep_stub *st, struct ep_frame_fds *ff, const struct ep_wire_op *op, ep_verdict_fn send_verdict);

#endif /* EMPTYPROC_STUB_OPS_H */
