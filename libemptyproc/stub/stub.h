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

#ifdef __cplusplus
}
#endif

#endif /* EMPTYPROC_STUB_STUB_H */
