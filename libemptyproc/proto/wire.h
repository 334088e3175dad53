/* SPDX-License-Identifier: MIT */
/*
 * wire.h - the command stream between the caller and the stub (docs/protocol.md).
 *
 * Freestanding C: included by the stub (no libc), by the caller's encoder (C++) and by the tests.
 * Only fixed-width integers; every multi-byte field is in the host's byte order (both ends are the
 * same machine). Records are 8-byte aligned inside a frame.
 *
 *   frame   = ep_wire_frame_hdr, then nrec x (ep_wire_rec, payload padded to 8 bytes)
 *             + SCM_RIGHTS carrying nfds descriptors, referenced by index from the records
 *   verdict = ep_wire_verdict (stub -> caller)
 */
#ifndef EMPTYPROC_PROTO_WIRE_H
#define EMPTYPROC_PROTO_WIRE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EP_WIRE_MAGIC 0x70726f65u /* "eorp": a frame or verdict of this protocol */
#define EP_WIRE_VERSION 1u

#define EP_WIRE_FRAME_MAX (192u * 1024u) /* largest frame; fits the default SO_SNDBUF */
#define EP_WIRE_FDS_MAX 250u             /* descriptors per frame (kernel SCM_MAX_FD is 253) */
#define EP_WIRE_RECS_MAX 4096u           /* records per frame */
#define EP_WIRE_STR_MAX 131072u          /* longest string payload, NUL included (MAX_ARG_STRLEN) */
#define EP_WIRE_GROUPS_MAX 65536u        /* NGROUPS_MAX */
#define EP_WIRE_NO_FD (-1)               /* fd_index of a record that carries no descriptor */

/* Frame flags. */
#define EP_FRAME_SYNC 1u /* the stub answers every record with a verdict and survives failures */

struct ep_wire_frame_hdr {
    uint32_t magic;   /* EP_WIRE_MAGIC */
    uint16_t version; /* EP_WIRE_VERSION */
    uint16_t flags;   /* EP_FRAME_* */
    uint32_t len;     /* bytes of the whole frame, header included */
    uint16_t nrec;    /* records that follow */
    uint16_t nfds;    /* descriptors in SCM_RIGHTS */
};

/* One operation. What a, b, c, fd_index and the payload mean depends on op (table below). */
struct ep_wire_rec {
    uint16_t op;    /* enum ep_wire_op_code */
    uint16_t rsvd;  /* 0 */
    uint32_t index; /* position in the caller's stream: verdicts name it */
    int64_t a;
    int64_t b;
    int32_t c;
    int32_t fd_index; /* into the frame's descriptors, or EP_WIRE_NO_FD */
    uint32_t len;     /* payload bytes that follow (before padding) */
    uint32_t rsvd2;   /* 0 */
};

/*
 * Operation codes. Arguments:                                         payload
 *   FD_DUP      a = child fd N, fd = caller's fd                       -
 *   OPEN        a = child fd N, b = open flags, c = mode, fd = dirfd?  path (string)
 *   CLOSE       a = fd N                                               -
 *   CLOSEFROM   a = lowest fd N                                        -
 *   CHDIR       fd = dirfd?, path "" with fd = fchdir(fd)              path (string)
 *   CHROOT      fd = dirfd?                                            path (string)
 *   RLIMIT      c = resource, a = soft, b = hard (RLIM_INFINITY = -1)  -
 *   SETGROUPS   a = count                                              count x uint32 gid
 *   SETGID      a = gid                                                -
 *   SETUID      a = uid, c = EP_SETUID_CLEAR_GROUPS?                    -
 *   SIGMASK     a = mask bits (bit n-1 = signal n)                     -
 *   SIGDEFAULT  a = signal set                                         -
 *   SIGIGNORE   a = signal set                                         -
 *   UMASK       a = mode (0..0777)                                     -
 *   SETSID      -                                                      -
 *   SETPGID     a = pgid (0 = own pid)                                 -
 *   ARGV        -                                                      argument (string)
 *   ENV         -                                                      NAME=value (string)
 *   EXEC_TARGET c = EP_EXEC_*, fd = dirfd or the executable            path or name (string)
 *   EXEC        fd = the exec pipe's write end; the frame's last record default argv[0] (string)
 * posix_spawn ops (explicit codes 32..38; "child fd" = a number in the stub's own table):
 *   SCHED       a = policy (SCHED_*), b = priority                     -
 *   SCHEDPARAM  a = priority                                           -
 *   TCSETPGRP   a = child fd of a terminal                             -
 *   DUP         a = child fd N, b = child fd M (dup2(M, N))            -
 *   FCHDIR      a = child fd                                           -
 *   RESETIDS    -                                                      -
 *   SEARCH_PATH -                                                      PATH for EXEC_TARGET SEARCH ("" ok)
 * Sandbox ops (issue 7; explicit numbers 48-111, docs/keys.md):
 *   UNSHARE     a = CLONE_NEW* flags (never CLONE_NEWPID: that is made at birth)  -
 *   ID_MAP      c = 0 uid_map / 1 gid_map; remembered for UNSHARE of a userns  "IN OUT COUNT\n"... (string)
 *   SETNS       fd = a namespace descriptor, a = its CLONE_NEW* type           -
 *   SETHOSTNAME -                                                      name (string)
 *   CGROUP      fd = cgroup directory?; "" with fd = the fd itself      path (string)
 *   NO_NEW_PRIVS -                                                     -
 *   SECCOMP     -                                                      struct sock_filter[] (binary)
 *   LANDLOCK    fd = a Landlock ruleset                                -
 *   CAP_DROP    a = capability mask (bounding + inheritable)           -
 *   CAP_AMBIENT a = capability mask raised into inheritable + ambient  -
 *   KEEP_CAPS   -                                                      -
 *   PDEATHSIG   a = signal 1..64                                       -
 *   CTTY        a = child fd N (TIOCSCTTY)                             -
 *   NICE        a = -20..19                                            -
 *   CPUS        -                                                      cpu mask, 8-byte words (binary)
 *   OOM_SCORE_ADJ a = -1000..1000                                      the same in decimal (string)
 *   IOPRIO      a = ioprio value (class << 13 | data)                  -
 *   PERSONALITY a = persona (0..0xffffffff)                            -
 *   REMOUNT_RO  fd = dirfd?                                            mount point (string)
 * "fd = x?" means fd_index may be EP_WIRE_NO_FD (x is then AT_FDCWD). EXEC's string is argv[0] when
 * no ARGV record came: the stub decides at exec time, so a retried exec (sync mode) stays right.
 */
enum ep_wire_op_code {
    EP_OP_FD_DUP = 1,
    EP_OP_OPEN,
    EP_OP_CLOSE,
    EP_OP_CLOSEFROM,
    EP_OP_CHDIR,
    EP_OP_CHROOT,
    EP_OP_RLIMIT,
    EP_OP_SETGROUPS,
    EP_OP_SETGID,
    EP_OP_SETUID,
    EP_OP_SIGMASK,
    EP_OP_SIGDEFAULT,
    EP_OP_SIGIGNORE,
    EP_OP_UMASK,
    EP_OP_SETSID,
    EP_OP_SETPGID,
    EP_OP_ARGV,
    EP_OP_ENV,
    EP_OP_EXEC_TARGET,
    EP_OP_EXEC,
    /* posix_spawn (docs/posix_spawn.md): explicit codes 32..47 */
    EP_OP_SCHED = 32,
    EP_OP_SCHEDPARAM = 33,
    EP_OP_TCSETPGRP = 34,
    EP_OP_DUP = 35,
    EP_OP_FCHDIR = 36,
    EP_OP_RESETIDS = 37,
    EP_OP_SEARCH_PATH = 38,
    /* sandbox and container ops (issue 7): 48-111 */
    EP_OP_UNSHARE = 48,
    EP_OP_ID_MAP = 49,
    EP_OP_SETNS = 50,
    EP_OP_SETHOSTNAME = 51,
    EP_OP_CGROUP = 52,
    EP_OP_NO_NEW_PRIVS = 53,
    EP_OP_SECCOMP = 54,
    EP_OP_LANDLOCK = 55,
    EP_OP_CAP_DROP = 56,
    EP_OP_CAP_AMBIENT = 57,
    EP_OP_KEEP_CAPS = 58,
    EP_OP_PDEATHSIG = 59,
    EP_OP_CTTY = 60,
    EP_OP_NICE = 61,
    EP_OP_CPUS = 62,
    EP_OP_OOM_SCORE_ADJ = 63,
    EP_OP_IOPRIO = 64,
    EP_OP_PERSONALITY = 65,
    EP_OP_REMOUNT_RO = 66,
    EP_OP__COUNT = 112
};

#define EP_ID_MAP_UID 0
#define EP_ID_MAP_GID 1
#define EP_SECCOMP_INSNS_MAX 4096u            /* BPF_MAXINSNS */
#define EP_CPUS_BYTES_MAX 1024u               /* 8192 CPUs */
#define EP_CAP_MASK_ALL 0x7fffffffffffffffULL /* capabilities 0..62 (the caller checks cap_last_cap) */

#define EP_SETUID_CLEAR_GROUPS 1 /* setgroups(0) first: no "groups" op came before "uid" */

enum ep_exec_kind {
    EP_EXEC_PATH = 1,   /* execveat(dirfd or AT_FDCWD, path, ...) */
    EP_EXEC_FD = 2,     /* execveat(fd, "", ..., AT_EMPTY_PATH) */
    EP_EXEC_SEARCH = 3, /* name searched in the PATH of the configured environment */
};

/* Stub -> caller. */
enum ep_verdict_kind {
    EP_VERDICT_OK = 1,         /* record `index` applied (sync mode only) */
    EP_VERDICT_FAIL = 2,       /* record `index` failed with -err */
    EP_VERDICT_EXEC_BEGIN = 3, /* the stub is about to execve: EOF after this means it did */
    EP_VERDICT_BAD_FRAME = 4,  /* a frame failed to decode (err = -EPROTO/-EINVAL/...) */
};

struct ep_wire_verdict {
    uint32_t magic;   /* EP_WIRE_MAGIC */
    uint16_t version; /* EP_WIRE_VERSION */
    uint16_t kind;    /* enum ep_verdict_kind */
    uint32_t index;   /* the record it is about */
    int32_t err;      /* 0 or a negative errno */
};

/* A record after decoding: every field checked against the table above. */
struct ep_wire_op {
    uint32_t op;
    uint32_t index;
    int64_t a;
    int64_t b;
    int32_t c;
    int32_t fd_index;
    const char *data; /* payload, NUL-terminated for string ops; 0 when none */
    uint32_t len;     /* payload bytes (strings: NUL included) */
};

/* Iterates over a frame already checked by ep_wire_check_frame(). */
struct ep_wire_cursor {
    const unsigned char *next;
    const unsigned char *end;
    uint32_t left;
};

/*
 * ep_wire_check_frame - validate a whole received frame before anything of it is applied.
 *
 * buf/len is the datagram as received, nfds the number of descriptors that came with it. Checks the
 * header, every record's bounds, op code, arguments and payload, and that every descriptor is used
 * by exactly one record. Reads nothing outside buf[0..len).
 * RETURN VALUE  0 and *cur set up for ep_wire_next(), or a negative errno:
 *   -EPROTO (bad magic, version, lengths, layout), -EINVAL (a bad argument), -E2BIG (limits).
 * On failure *bad_index is the index of the offending record, or UINT32_MAX if none is to blame.
 */
int ep_wire_check_frame(const void *buf, uint32_t len, uint32_t nfds, struct ep_wire_cursor *cur, uint32_t *bad_index);

/* ep_wire_next - the next record of a checked frame. Returns 1 and fills *op, or 0 at the end. */
int ep_wire_next(struct ep_wire_cursor *cur, struct ep_wire_op *op);

/* ep_wire_check_verdict - 0 if v/len is a well-formed verdict, else -EPROTO. */
int ep_wire_check_verdict(const void *buf, uint32_t len);

/* Size of a record with a payload of len bytes, padding included. */
static inline uint32_t ep_wire_rec_size(uint32_t len) {
    return (uint32_t)sizeof(struct ep_wire_rec) + ((len + 7u) & ~7u);
}

#ifdef __cplusplus
}
#endif

#endif /* EMPTYPROC_PROTO_WIRE_H */
