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
/* The stub was cloned with CLONE_FS (a pooled stub: docs/strategies.md): it shares the caller's cwd,
 * root and umask until its first frame arrives, then unshares them, so that they are the caller's
 * at hand-out time rather than at pool-fill time. */
#define EP_STUB_LATE_FS 0x100u

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
     * then reuse the descriptor numbers keep[] had in its own table). In the stub's region. With
     * EP_STUB_LATE_FS: set to 2 (and futex-woken) once cwd, root and umask are unshared. */
    volatile uint32_t *s0_done;
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
