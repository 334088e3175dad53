/* SPDX-License-Identifier: MIT */
/*
 * decode.c - check and walk a received frame (docs/protocol.md).
 *
 * Freestanding: linked into the stub (which runs between clone and exec), so it calls nothing, not
 * even memcpy, and treats every byte as hostile. Also compiled into the tests and the fuzz target.
 */
#include "wire.h"

#include <linux/errno.h>

#define EP_LIMIT_FD_NUMBER 0x7fffffffLL
#define EP_NSIG 64

/* PAYLOAD_UNKNOWN (0): the gaps of the table, op numbers no one has taken. */
enum payload_kind { PAYLOAD_UNKNOWN, PAYLOAD_NONE, PAYLOAD_STRING, PAYLOAD_GROUPS, PAYLOAD_BINARY };
enum fd_use { FD_NONE, FD_REQUIRED, FD_OPTIONAL };

struct op_shape {
    unsigned char payload;
    unsigned char fd;
    unsigned char empty_string_ok; /* a "" string is meaningful (only with a descriptor) */
};

/* What each op carries; the arguments are range-checked in check_args(). */
static const struct op_shape shapes[EP_OP__COUNT] = {
    [EP_OP_FD_DUP] = {PAYLOAD_NONE, FD_REQUIRED, 0},
    [EP_OP_OPEN] = {PAYLOAD_STRING, FD_OPTIONAL, 0},
    [EP_OP_CLOSE] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_CLOSEFROM] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_CHDIR] = {PAYLOAD_STRING, FD_OPTIONAL, 1},
    [EP_OP_CHROOT] = {PAYLOAD_STRING, FD_OPTIONAL, 0},
    [EP_OP_RLIMIT] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SETGROUPS] = {PAYLOAD_GROUPS, FD_NONE, 0},
    [EP_OP_SETGID] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SETUID] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SIGMASK] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SIGDEFAULT] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SIGIGNORE] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_UMASK] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SETSID] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SETPGID] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_ARGV] = {PAYLOAD_STRING, FD_NONE, 1},
    [EP_OP_ENV] = {PAYLOAD_STRING, FD_NONE, 0},
    [EP_OP_EXEC_TARGET] = {PAYLOAD_STRING, FD_OPTIONAL, 1},
    [EP_OP_EXEC] = {PAYLOAD_STRING, FD_REQUIRED, 1},
    /* posix_spawn */
    [EP_OP_SCHED] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SCHEDPARAM] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_TCSETPGRP] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_DUP] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_FCHDIR] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_RESETIDS] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SEARCH_PATH] = {PAYLOAD_STRING, FD_NONE, 1},
    /* sandbox */
    [EP_OP_UNSHARE] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_ID_MAP] = {PAYLOAD_STRING, FD_NONE, 0},
    [EP_OP_SETNS] = {PAYLOAD_NONE, FD_REQUIRED, 0},
    [EP_OP_SETHOSTNAME] = {PAYLOAD_STRING, FD_NONE, 0},
    [EP_OP_CGROUP] = {PAYLOAD_STRING, FD_OPTIONAL, 1},
    [EP_OP_NO_NEW_PRIVS] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_SECCOMP] = {PAYLOAD_BINARY, FD_NONE, 0},
    [EP_OP_LANDLOCK] = {PAYLOAD_NONE, FD_REQUIRED, 0},
    [EP_OP_CAP_DROP] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_CAP_AMBIENT] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_KEEP_CAPS] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_PDEATHSIG] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_CTTY] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_NICE] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_CPUS] = {PAYLOAD_BINARY, FD_NONE, 0},
    [EP_OP_OOM_SCORE_ADJ] = {PAYLOAD_STRING, FD_NONE, 0},
    [EP_OP_IOPRIO] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_PERSONALITY] = {PAYLOAD_NONE, FD_NONE, 0},
    [EP_OP_REMOUNT_RO] = {PAYLOAD_STRING, FD_OPTIONAL, 0},
};

/* The namespace types unshare and setns may name (never CLONE_NEWPID for unshare). */
#define EP_NS_UNSHARE_OK                                                                                               \
    (0x10000000LL | 0x00020000LL | 0x40000000LL | 0x04000000LL | 0x08000000LL | 0x02000000LL | 0x00000080LL)
#define EP_NS_SETNS_OK (EP_NS_UNSHARE_OK | 0x20000000LL)

static int is_fd_number(int64_t v) {
    return v >= 0 && v <= EP_LIMIT_FD_NUMBER;
}

static int is_id(int64_t v) {
    return v >= 0 && v < 0xffffffffLL;
} /* (uid_t)-1 means "unchanged" */

/* Range checks that do not depend on the payload. */
static int check_args(const struct ep_wire_rec *r) {
    switch (r->op) {
    case EP_OP_FD_DUP:
    case EP_OP_CLOSE:
    case EP_OP_CLOSEFROM:
        return is_fd_number(r->a);
    case EP_OP_OPEN:
        return is_fd_number(r->a) && r->b >= 0 && r->b <= 0x7fffffffLL && r->c >= 0 && r->c <= 07777;
    case EP_OP_RLIMIT: /* 16 resources on Linux (RLIM_NLIMITS); -1 is RLIM_INFINITY */
        return r->c >= 0 && r->c < 16 && r->a >= -1 && r->b >= -1 && (r->b == -1 || (r->a != -1 && r->a <= r->b));
    case EP_OP_SETGID:
    case EP_OP_SETUID:
        return is_id(r->a) && (r->op == EP_OP_SETGID || (r->c & ~EP_SETUID_CLEAR_GROUPS) == 0);
    case EP_OP_SETGROUPS:
        return r->a >= 0 && r->a <= (int64_t)EP_WIRE_GROUPS_MAX && (uint64_t)r->a * 4u == r->len;
    case EP_OP_UMASK:
        return r->a >= 0 && r->a <= 0777;
    case EP_OP_SETPGID:
        return r->a >= 0 && r->a <= 0x7fffffffLL;
    case EP_OP_EXEC_TARGET:
        return r->c == EP_EXEC_PATH || r->c == EP_EXEC_FD || r->c == EP_EXEC_SEARCH;
    case EP_OP_SCHED: /* policy SCHED_OTHER..SCHED_DEADLINE (no flag bits), priority 0..99 */
        return r->a >= 0 && r->a <= 6 && r->b >= 0 && r->b <= 99;
    case EP_OP_SCHEDPARAM:
        return r->a >= 0 && r->a <= 99;
    case EP_OP_TCSETPGRP:
    case EP_OP_FCHDIR:
        return is_fd_number(r->a);
    case EP_OP_DUP:
        return is_fd_number(r->a) && is_fd_number(r->b);
    case EP_OP_UNSHARE: /* user, mnt, net, uts, ipc, cgroup, time */
        return r->a != 0 && (r->a & ~EP_NS_UNSHARE_OK) == 0;
    case EP_OP_SETNS:
        return r->a >= 0 && (r->a & ~EP_NS_SETNS_OK) == 0;
    case EP_OP_ID_MAP:
        return r->c == EP_ID_MAP_UID || r->c == EP_ID_MAP_GID;
    case EP_OP_SECCOMP:
        return r->len >= 8 && r->len % 8 == 0 && r->len <= EP_SECCOMP_INSNS_MAX * 8u;
    case EP_OP_CPUS:
        return r->len >= 8 && r->len % 8 == 0 && r->len <= EP_CPUS_BYTES_MAX;
    case EP_OP_CAP_DROP:
    case EP_OP_CAP_AMBIENT:
        return r->a >= 0 && ((uint64_t)r->a & ~(uint64_t)EP_CAP_MASK_ALL) == 0;
    case EP_OP_PDEATHSIG:
        return r->a >= 1 && r->a <= EP_NSIG;
    case EP_OP_CTTY:
        return is_fd_number(r->a);
    case EP_OP_NICE:
        return r->a >= -20 && r->a <= 19;
    case EP_OP_OOM_SCORE_ADJ:
        return r->a >= -1000 && r->a <= 1000;
    case EP_OP_IOPRIO:
        return r->a >= 0 && r->a <= 0xffff;
    case EP_OP_PERSONALITY:
        return r->a >= 0 && r->a <= 0xffffffffLL;
    default:
        return 1; /* no numeric arguments (SIGMASK & co take any 64-bit set) */
    }
}

/* Payload rules: a string is exactly len bytes with its only NUL at the end. */
static int check_payload(const struct ep_wire_rec *r, const unsigned char *p) {
    const struct op_shape *s = &shapes[r->op];
    if (s->payload == PAYLOAD_NONE)
        return r->len == 0;
    if (s->payload == PAYLOAD_GROUPS || s->payload == PAYLOAD_BINARY)
        return 1; /* length tied to the count, or checked, in check_args() */
    if (r->len == 0 || r->len > EP_WIRE_STR_MAX || p[r->len - 1] != 0)
        return 0;
    for (uint32_t i = 0; i + 1 < r->len; i++)
        if (p[i] == 0)
            return 0;
    if (r->len == 1 && !s->empty_string_ok)
        return 0;
    return 1;
}

int ep_wire_check_frame(const void *buf, uint32_t len, uint32_t nfds, struct ep_wire_cursor *cur, uint32_t *bad_index) {
    const unsigned char *base = (const unsigned char *)buf;
    const struct ep_wire_frame_hdr *h = (const struct ep_wire_frame_hdr *)buf;
    /* One bit per descriptor: each must be consumed by exactly one record. */
    uint32_t used[(EP_WIRE_FDS_MAX + 31) / 32] = {0};

    *bad_index = 0xffffffffu;
    if (len < sizeof(*h) || ((uintptr_t)buf & 7u) != 0)
        return -EPROTO;
    if (h->magic != EP_WIRE_MAGIC || h->version != EP_WIRE_VERSION || h->len != len)
        return -EPROTO;
    if ((h->flags & ~EP_FRAME_SYNC) != 0)
        return -EPROTO;
    if (h->nfds != nfds)
        return -EPROTO;
    if (nfds > EP_WIRE_FDS_MAX || h->nrec > EP_WIRE_RECS_MAX || len > EP_WIRE_FRAME_MAX)
        return -E2BIG;

    const unsigned char *p = base + sizeof(*h);
    const unsigned char *end = base + len;
    for (uint32_t i = 0; i < h->nrec; i++) {
        *bad_index = 0xffffffffu; /* a missing record has no index to blame */
        if ((uint32_t)(end - p) < sizeof(struct ep_wire_rec))
            return -EPROTO;
        const struct ep_wire_rec *r = (const struct ep_wire_rec *)p;
        *bad_index = r->index;
        if (r->op == 0 || r->op >= EP_OP__COUNT || shapes[r->op].payload == PAYLOAD_UNKNOWN || r->rsvd != 0 ||
            r->rsvd2 != 0)
            return -EPROTO;
        if (r->op == EP_OP_EXEC && i + 1 != h->nrec) /* nothing can follow an exec */
            return -EPROTO;
        if (r->len > (uint32_t)(end - p) - sizeof(*r))
            return -EPROTO;
        uint32_t size = ep_wire_rec_size(r->len);
        if (size > (uint32_t)(end - p))
            return -EPROTO;
        if (!check_payload(r, p + sizeof(*r)) || !check_args(r))
            return -EINVAL;
        const struct op_shape *s = &shapes[r->op];
        if (r->fd_index == EP_WIRE_NO_FD) {
            if (s->fd == FD_REQUIRED)
                return -EINVAL;
            /* fchdir, exec by fd and friends need the descriptor they name */
            if (r->op == EP_OP_EXEC_TARGET && r->c == EP_EXEC_FD)
                return -EINVAL;
            if ((r->op == EP_OP_CHDIR || r->op == EP_OP_CGROUP) && r->len == 1)
                return -EINVAL;
            if (r->op == EP_OP_EXEC_TARGET && r->len == 1)
                return -EINVAL;
        } else {
            if (s->fd == FD_NONE || r->fd_index < 0 || (uint32_t)r->fd_index >= nfds)
                return -EINVAL;
            if (r->op == EP_OP_EXEC_TARGET && r->c == EP_EXEC_SEARCH)
                return -EINVAL;
            uint32_t bit = 1u << (r->fd_index % 32), *word = &used[r->fd_index / 32];
            if (*word & bit)
                return -EINVAL;
            *word |= bit;
        }
        p += size;
    }
    *bad_index = 0xffffffffu;
    if (p != end)
        return -EPROTO;
    for (uint32_t f = 0; f < nfds; f++)
        if (!(used[f / 32] & (1u << (f % 32))))
            return -EINVAL;

    cur->next = base + sizeof(*h);
    cur->end = end;
    cur->left = h->nrec;
    return 0;
}

int ep_wire_next(struct ep_wire_cursor *cur, struct ep_wire_op *op) {
    if (cur->left == 0)
        return 0;
    const struct ep_wire_rec *r = (const struct ep_wire_rec *)cur->next;
    op->op = r->op;
    op->index = r->index;
    op->a = r->a;
    op->b = r->b;
    op->c = r->c;
    op->fd_index = r->fd_index;
    op->len = r->len;
    op->data = r->len ? (const char *)(cur->next + sizeof(*r)) : 0;
    cur->next += ep_wire_rec_size(r->len);
    cur->left--;
    return 1;
}

int ep_wire_check_verdict(const void *buf, uint32_t len) {
    const struct ep_wire_verdict *v = (const struct ep_wire_verdict *)buf;
    if (len != sizeof(*v) || v->magic != EP_WIRE_MAGIC || v->version != EP_WIRE_VERSION)
        return -EPROTO;
    if (v->kind < EP_VERDICT_OK || v->kind > EP_VERDICT_BAD_FRAME || v->err > 0)
        return -EPROTO;
    return 0;
}
