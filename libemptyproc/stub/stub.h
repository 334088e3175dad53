/* SPDX-License-Identifier: MIT */
/*
 * stub.h - the contract between the caller's side and the stub (the code between clone and exec).
 *
 * The caller prepares everything the stub needs in a region of memory that only the stub uses
 * (docs/design.md, "The stub's memory"), copies a struct ep_stub_args into it and clones onto it.
 * From then on the stub reads nothing of the caller's memory: it gets bytes and descriptors over its
 * channel and answers with fixed-size verdicts.
 */
#ifndef EMPTYPROC_STUB_STUB_H
#define EMPTYPROC_STUB_STUB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Descriptors a stub keeps from the table it starts with: its channel first, then whatever else
 * its transport needs (a ring, a hang-up descriptor). Everything else is closed in S0. */
#define EP_STUB_KEEP_MAX 4

/* ep_stub_args.flags: what S0 leaves alone (posix_spawn-style inheritance). */
#define EP_STUB_KEEP_CALLER_FDS 0x1u /* keep the caller's non-CLOEXEC descriptors */
#define EP_STUB_KEEP_SIGIGN 0x2u     /* keep the caller's ignored signals ignored */
/* Set by the caller when the stub was made by the clone(2) fallback (clone3 gave ENOSYS), which
 * has no CLONE_CLEAR_SIGHAND: the stub starts with copies of the caller's handlers, and S0 must
 * set the caught signals to their default even when EP_STUB_KEEP_SIGIGN keeps the ignored ones. */
#define EP_STUB_SIGHAND_INHERITED 0x4u

/* ep_stub_args.transport values (EP_TRANSPORT_* of emptyproc.h, which the stub does not include). */
#define EP_STUB_TRANSPORT_SOCKETPAIR 0u
#define EP_STUB_TRANSPORT_IO_URING 1u

struct ep_sqe;
struct ep_cqe;

/* EP_TRANSPORT_IO_URING (docs/io_uring.md): the stub's ring C (keep[1]; keep[0] is the channel
 * socket) and the frame arena (a shared memfd mapping). A stub that shares the caller's memory
 * (CLONE_VM) or inherited it (fork: the mappings are MAP_SHARED) gets the caller's addresses here;
 * they belong to the caller's channel, which unmaps them only after the stub exec'd or was reaped.
 * sq_head == 0: a pristine stub (exec_stub, safeexec, zygote), which shares nothing with the caller,
 * maps ring C and the arena itself (keep[2] is the arena's memfd, struct ep_uring_geometry says the
 * rest) and fills this in its own address space, which its exec drops. */
struct ep_stub_uring {
    uint32_t *sq_head, *sq_tail, *sq_array;
    struct ep_sqe *sqes;
    uint32_t *cq_head, *cq_tail;
    struct ep_cqe *cqes;
    uint32_t sq_mask, sq_entries, cq_mask;
    uint32_t slots; /* size of C's fixed-file table */
    unsigned char *arena;
    uint64_t arena_size;
};

/* Where a pristine stub finds what it maps: plain numbers the caller writes into the arena's header
 * before the stub starts. Offsets are into the one mapping of C's SQ and CQ rings at
 * IORING_OFF_SQ_RING (IORING_FEAT_SINGLE_MMAP, Linux 5.4), as io_uring_params.sq_off/cq_off gave
 * them; the SQEs are a second mapping at IORING_OFF_SQES. */
struct ep_uring_geometry {
    uint32_t magic;     /* EP_URING_GEOMETRY_MAGIC */
    uint32_t ring_size; /* bytes of the rings' mapping */
    uint32_t sqes_size; /* bytes of the SQEs' mapping */
    uint32_t sq_head, sq_tail, sq_mask, sq_entries, sq_array;
    uint32_t cq_head, cq_tail, cq_mask, cq_cqes;
    uint32_t slots;      /* size of C's fixed-file table */
    uint32_t arena_size; /* bytes of the arena (the memfd's size) */
};
#define EP_URING_GEOMETRY_MAGIC 0x67656f6du /* "geom" */

/* Ring C as the caller (or, for the zygote's stubs, the zygote) makes it: SQ entries (the CQ has
 * twice as many) and fixed-file slots, two full frames' worth. */
#define EP_URING_STUB_ENTRIES 64u
#define EP_URING_STUB_SLOTS 512u

/* The arena starts with this header; frames follow from EP_URING_ARENA_FRAMES on, 8-aligned. */
struct ep_uring_arena_hdr {
    uint32_t done;                     /* written by the stub: sequence number (1, 2, ...) of the last frame finished */
    uint32_t waiting;                  /* written by the caller: nonzero while it sleeps on `done` (FUTEX_WAIT) */
    struct ep_uring_geometry geometry; /* written by the caller; read by a pristine stub only */
};
#define EP_URING_ARENA_FRAMES 64u
/* Commits the stub queues while it waits for its own requests; the caller keeps fewer in flight. */
#define EP_URING_PENDING_MAX 32u

/* A commit: the MSG_RING data CQE that hands the stub one frame. res = the frame's length. */
#define EP_URING_TAG(ud) ((uint32_t)((ud) >> 56))
#define EP_URING_TAG_COMMIT 0xc1u
#define EP_URING_COMMIT(off, slot_base) (((uint64_t)EP_URING_TAG_COMMIT << 56) | ((uint64_t)(slot_base) << 32) | (off))
#define EP_URING_COMMIT_OFF(ud) ((uint32_t)(ud))
#define EP_URING_COMMIT_SLOTS(ud) ((uint32_t)((ud) >> 32) & 0xffffffu)

/* Trivially copyable, no pointers into the caller's heap: only into the stub's own region. */
struct ep_stub_args {
    uint32_t transport;             /* EP_TRANSPORT_*: how the stub reads its stream */
    uint32_t flags;                 /* EP_STUB_KEEP_* */
    uint32_t nkeep;                 /* entries in keep[], >= 1 */
    int32_t keep[EP_STUB_KEEP_MAX]; /* keep[0] is the channel; numbers in the table the stub starts with */
    uint32_t recv_size;             /* bytes at recv_buf, >= EP_WIRE_FRAME_MAX */
    unsigned char *recv_buf;
    unsigned char *arena; /* argv, env and exec target strings, then the pointer arrays */
    uint64_t arena_size;
    /* If not null: set to 1 once S0 has made the stub's descriptor table private (the caller may
     * then reuse the descriptor numbers keep[] had in its own table). In the stub's region. */
    volatile uint32_t *s0_done;
    struct ep_stub_uring uring; /* EP_STUB_TRANSPORT_IO_URING only */
    /* A pristine stub (uring.sq_head == 0) whose ring C its zygote made: C's geometry, in the
     * stub's own memory. Null: the arena's header has it (the caller made C). */
    const struct ep_uring_geometry *uring_geometry;
};

/* The stub's entry point: runs on the stub's own stack, never returns (it execs or dies). */
__attribute__((noreturn)) void ep_stub_main(void *args);

/*
 * ep_clone3_run - clone3(2) onto a new stack and run fn(arg) there.
 *
 * glibc has no clone3 wrapper that takes a function; this one is a few lines of assembly. The child
 * starts on args->stack with nothing of the parent's stack frame, calls fn(arg) and, should fn ever
 * return, exits. Returns the child's pid in the parent, or -errno.
 */
long ep_clone3_run(void *clone_args, size_t size, void (*fn)(void *), void *arg);

/*
 * ep_clone_run - the same with the legacy clone(2), for where clone3 gives ENOSYS (valgrind, kernels
 * before 5.3, seccomp profiles that refuse clone3 with ENOSYS). flags holds the clone flags and the
 * exit signal in its low byte; stack_top is the stack's high end; with CLONE_PIDFD the pidfd is
 * written to *parent_tid. Callers never pass CLONE_SETTLS, CLONE_PARENT_SETTID or CLONE_CHILD_*TID:
 * the registers of tls and child_tid carry arg and zero.
 */
long ep_clone_run(unsigned long flags, void *stack_top, int *parent_tid, void (*fn)(void *), void *arg);

/*
 * The first step of the pristine strategies (exec_stub, safeexec, zygote): a CLONE_VM|CLONE_VFORK|
 * CLONE_FILES child runs ep_launch_child() on its own stack and execs the helper program ep-stub
 * with only keep[] open (their CLOEXEC cleared, at the same numbers). Everything it reads is in the
 * struct, which the caller places in the child's own region; the caller sleeps until the exec.
 */
struct ep_launch_args {
    int exec_fd;    /* the helper's descriptor (execveat AT_EMPTY_PATH), or -1 to use path */
    uint32_t nkeep; /* descriptors the helper keeps, >= 1 */
    int32_t keep[EP_STUB_KEEP_MAX + 1];
    const char *path;     /* the helper's path when exec_fd is -1 */
    char *const *argv;    /* the helper's argv; its environment is empty */
    volatile int32_t err; /* out: -errno of the exec that failed, 0 if the helper runs */
};
__attribute__((noreturn)) void ep_launch_child(void *launch_args);

#ifdef __cplusplus
}
#endif

#endif /* EMPTYPROC_STUB_STUB_H */
