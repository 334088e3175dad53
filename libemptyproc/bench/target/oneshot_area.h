/* SPDX-License-Identifier: MIT */
/*
 * oneshot_area.h - the layout of the safeexec-style helper's action area, shared by the helper
 * (oneshot_helper.c, freestanding C) and the bench that patches it (methods_safeexec.cpp, C++).
 *
 * The helper is a static, non-PIE program: the area sits at a fixed virtual address, so the parent
 * can store absolute pointers in it (argv and envp arrays, action paths), as safeexec relocates its
 * pointer arrays to the image's addresses. The parent finds the area in the helper's file by its
 * magic; everything after the header is zero in the file and filled per spawn.
 */
#ifndef EMPTYPROC_BENCH_ONESHOT_AREA_H
#define EMPTYPROC_BENCH_ONESHOT_AREA_H

#include <stdint.h>

/* 16 bytes, no NUL: it must occur exactly once in the helper's file, so nothing else spells it. */
#define EP_ONESHOT_MAGIC "ep-oneshot-area1"
#define EP_ONESHOT_MAGIC_LEN 16
#define EP_ONESHOT_AREA_SIZE (64 * 1024)

/* Exit statuses of the helper. safeexec has no error channel: these are all the parent can learn. */
#define EP_ONESHOT_EXIT_UNPATCHED 125 /* the area was never filled (run from disk, say) */
#define EP_ONESHOT_EXIT_ACTION 126    /* an action failed */
#define EP_ONESHOT_EXIT_EXEC 127      /* execve of the target failed */

enum ep_oneshot_kind {
    EP_ONESHOT_DUP2 = 1,      /* fd -> fd2, dup2 semantics (fd == fd2 clears FD_CLOEXEC) */
    EP_ONESHOT_CLOSE = 2,     /* fd */
    EP_ONESHOT_CHDIR = 3,     /* path */
    EP_ONESHOT_CLOSEFROM = 4, /* every fd >= fd */
};

struct ep_oneshot_action {
    uint32_t kind;
    int32_t fd;
    int32_t fd2;
    uint32_t reserved;
    uint64_t path; /* address in the helper's image, or 0 */
};

/* At the start of the area; actions[nactions] follow it directly, then the parent's data. */
struct ep_oneshot_header {
    char magic[EP_ONESHOT_MAGIC_LEN];
    uint32_t nactions;
    uint32_t reserved;
    uint64_t path; /* the target, an address in the image; 0 while unpatched */
    uint64_t argv; /* address of a NULL-terminated array of addresses */
    uint64_t envp;
};

#endif
