/* SPDX-License-Identifier: MIT */
/*
 * emptyproc.h - create an empty process, configure it op by op, then exec it.
 *
 * A user-space prototype of the process-creation API sketched for Linux in 2026:
 *
 *     fd = pidfd_open(0, PIDFD_EMPTY);             ->  fd = ep_open(&how, sizeof how);
 *     pidfd_config(fd, cmd, key, value, aux);      ->  ep_config(fd, cmd, key, value, aux);
 *     ...                                              ...
 *     pidfd_config(fd, CMD_EXEC, NULL, NULL, 0);   ->  ep_config(fd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0);
 *
 * ep_open() starts a paused stub process and returns a real pidfd for it. Each ep_config() adds one
 * operation to the stub's command stream, shaped like fsconfig(2). EP_CONFIG_CMD_EXEC applies the
 * stream and execs the target. The stub applies the operations in the order given, all or nothing:
 * if one fails, or if the stream ends without EP_CONFIG_CMD_EXEC (ep_close(), or the caller dies),
 * the stub is killed with SIGKILL and never runs the target.
 *
 * Conventions
 *   - Every function returns -1 and sets errno on failure (ep_log_read() too). Nothing else touches
 *     errno. A failure also queues a message on the handle's log: read it with ep_log_read().
 *   - The handle is the pidfd. Use ep_close() on it, never close(2): ep_close() also ends the stream,
 *     reaps a killed stub and frees the library's state for it.
 *   - One handle may be used by one thread at a time; different handles are independent.
 *   - The key language is documented in docs/keys.md; the defaults the empty process starts from and
 *     the ordering rules in docs/semantics.md.
 */
#ifndef EMPTYPROC_EMPTYPROC_H
#define EMPTYPROC_EMPTYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EP_PUBLIC __attribute__((visibility("default")))
#else
#define EP_PUBLIC
#endif

/* ep_open_how.flags */
#define EP_OPEN_SYNC (1ULL << 0)   /* each ep_config() waits for the stub's own verdict */
#define EP_OPEN_CGROUP (1ULL << 1) /* cgroup_fd is set: the stub is born in that cgroup v2 directory */
/*
 * posix_spawn-style inheritance, decided when the stub is born (docs/keys.md, "Inheritance"):
 *   EP_OPEN_INHERIT_FDS     the stub starts with a copy of the caller's descriptor table instead of an
 *                           empty one; the program keeps every descriptor without FD_CLOEXEC (execve
 *                           drops the others), minus what the stream closes. The copy is taken while
 *                           ep_open() runs or shortly after (before the stub reads its stream).
 *   EP_OPEN_INHERIT_SIGIGN  signals the caller ignores stay ignored (caught ones still go to SIG_DFL).
 * Only the default strategy (EP_STRATEGY_CLONE_VM) honours them; others refuse them with EINVAL.
 */
#define EP_OPEN_INHERIT_FDS (1ULL << 4)
#define EP_OPEN_INHERIT_SIGIGN (1ULL << 5)

/* ep_open_how.transport: how the command stream reaches the stub. */
#define EP_TRANSPORT_SOCKETPAIR 0u /* AF_UNIX SOCK_SEQPACKET pair, fds by SCM_RIGHTS (default) */
#define EP_TRANSPORT_IO_URING 1u   /* the stream rides the stub's io_uring (Linux >= 6.8; docs/io_uring.md) */

/* ep_open_how.strategy: how the paused stub comes to exist. */
#define EP_STRATEGY_CLONE_VM 0u  /* clone(CLONE_VM) onto its own stack: no page-table copy (default) */
#define EP_STRATEGY_FORK 1u      /* a classic fork: copy-on-write page tables, copied fd table (baseline) */
#define EP_STRATEGY_EXEC_STUB 2u /* a pristine process: the helper program ep-stub, exec'ed first */
#define EP_STRATEGY_ZYGOTE 3u    /* a long-lived pristine helper forks stubs (CLONE_PARENT) on request */
#define EP_STRATEGY_POOL 4u      /* stubs prepared ahead by a thread of the library, handed out */
#define EP_STRATEGY_SAFEEXEC 5u  /* the ep-stub image from a sealed memfd, exec'ed by fd: no file needed */
/*
 * A pool's stubs are made by another strategy, its base: EP_STRATEGY_POOL alone is a pool of clone_vm
 * stubs; EP_STRATEGY_POOL_OF(EP_STRATEGY_FORK) or EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB) names
 * the base (the only three bases offered; another is EINVAL). The base decides what a pooled stub
 * shares with the caller while it waits (docs/strategies.md, "pool"); the pool decides when it is made.
 */
#define EP_STRATEGY_POOL_OF(base) (EP_STRATEGY_POOL | ((uint32_t)(base) << 8))

/*
 * struct ep_open_how - how to open an empty process.
 *
 * Extensible like struct open_how (openat2(2)) and struct clone_args (clone3(2)): pass the size you
 * compiled against. A larger size than the library knows is accepted only if the extra bytes are all
 * zero (else E2BIG); a size smaller than EP_OPEN_HOW_SIZE_VER0 is EINVAL.
 */
struct ep_open_how {
    uint64_t flags;     /* EP_OPEN_* */
    uint32_t transport; /* EP_TRANSPORT_* */
    uint32_t strategy;  /* EP_STRATEGY_* */
    /* VER1 (sandbox): what only the birth of the stub can give (docs/semantics.md section 9). */
    uint64_t namespaces; /* CLONE_NEWPID or 0: the stub, then the program, is pid 1 of a new pid
                            namespace; the pidfd refers to it. Other namespaces: the "unshare" key. */
    int32_t cgroup_fd;   /* with EP_OPEN_CGROUP: a cgroup v2 directory; the stub is born in it
                            (CLONE_INTO_CGROUP) and the program never runs outside it */
    uint32_t reserved;   /* 0 */
};
#define EP_OPEN_HOW_SIZE_VER0 16
#define EP_OPEN_HOW_SIZE_VER1 32

/*
 * Commands of ep_config(), mirroring fsconfig(2)'s. The key names what to configure; the command
 * says how its value is given. A key accepts only the commands docs/keys.md lists for it.
 *
 *   command                   key       value                 aux
 *   EP_CONFIG_SET_FLAG        required  NULL                  0
 *   EP_CONFIG_SET_STRING      required  NUL-terminated text   0
 *   EP_CONFIG_SET_BINARY      required  buffer                its length, 1 .. EP_VALUE_MAX
 *   EP_CONFIG_SET_PATH        required  path                  dirfd it is relative to (AT_FDCWD ok)
 *   EP_CONFIG_SET_PATH_EMPTY  required  path, "" allowed      dirfd; "" means aux itself
 *   EP_CONFIG_SET_FD          required  NULL                  a file descriptor of the caller
 *   EP_CONFIG_CMD_EXEC        NULL      NULL                  0
 */
enum ep_config_cmd {
    EP_CONFIG_SET_FLAG = 0,
    EP_CONFIG_SET_STRING = 1,
    EP_CONFIG_SET_BINARY = 2,
    EP_CONFIG_SET_PATH = 3,
    EP_CONFIG_SET_PATH_EMPTY = 4,
    EP_CONFIG_SET_FD = 5,
    EP_CONFIG_CMD_EXEC = 6,
};

#define EP_KEY_MAX 256      /* longest key, NUL included (fsconfig's limit) */
#define EP_VALUE_MAX 131072 /* longest string or binary value, NUL included (MAX_ARG_STRLEN) */
#define EP_LOG_MSG_MAX 512  /* longest log message, NUL included */

/*
 * ep_open - create a paused, empty stub process.
 *
 * how may be NULL (all defaults). The stub has no file descriptors, an empty signal mask, every
 * signal at its default disposition and an empty environment; cwd, root, credentials, rlimits and
 * umask are the caller's at the time of the call (docs/semantics.md). EP_OPEN_INHERIT_FDS and
 * EP_OPEN_INHERIT_SIGIGN keep the caller's non-CLOEXEC descriptors and ignored signals instead, as
 * posix_spawn's child has them (docs/semantics.md §9).
 *
 * RETURN VALUE
 *   A pidfd (O_CLOEXEC) referring to the stub: poll(2), pidfd_send_signal(2) and
 *   waitid(P_PIDFD, ...) work on it, before and after the exec. -1 and errno on failure.
 * ERRORS
 *   EINVAL      size < EP_OPEN_HOW_SIZE_VER0, unknown flags, transport or strategy (or a pool's base
 *               other than clone_vm, fork and exec_stub), a namespace other than CLONE_NEWPID,
 *               reserved not 0.
 *   EBADF       EP_OPEN_CGROUP with a cgroup_fd that is not open.
 *   EPERM       CLONE_NEWPID or the cgroup needs privileges the caller lacks.
 *   E2BIG       size is larger than the library knows and the extra bytes are not zero.
 *   EOPNOTSUPP  the transport or strategy is not available in this build or on this kernel
 *               (EP_TRANSPORT_IO_URING: an io_uring operation it needs is missing, or io_uring
 *               is disabled; or the strategy cannot serve it), or the strategy cannot give a
 *               namespace or cgroup at birth (its stubs are not cloned by ep_open() itself).
 *   EMFILE, ENFILE, ENOMEM, EAGAIN
 *               the socketpair, the stub's memory or the clone could not be had.
 *   A message naming the cause is queued on the calling thread's open log: ep_log_read(-1, ...).
 */
EP_PUBLIC int ep_open(const struct ep_open_how *how, size_t size);

/*
 * ep_config - add one operation to the stub's command stream, or exec it.
 *
 * The key, the value and the caller's fds are checked and copied before the call returns: the caller
 * may free or close them right after. In the default (batched) mode the operation is queued and sent
 * with the rest of the stream; the stub's verdict on all of them comes back at EP_CONFIG_CMD_EXEC. In
 * EP_OPEN_SYNC mode every call returns the stub's own verdict on that operation, and a failed
 * operation leaves the process configurable, as fsconfig(2) does.
 *
 * EP_CONFIG_CMD_EXEC applies what is pending and execs the target set by the "exec" key. It returns 0
 * once the target runs (the execve succeeded; the pidfd now refers to it). In batched mode a failure
 * kills the stub; in sync mode a failed exec leaves the stub configurable, so that another target
 * (or another attempt) can be tried.
 *
 * RETURN VALUE
 *   0 on success. -1 and errno on failure, and a message "e <key>: <what went wrong>" on the log.
 * ERRORS
 *   EBADF       pidfd is not a handle returned by ep_open(), or it was closed; or a SET_FD /
 *               SET_PATH aux is not an open file descriptor.
 *   EINVAL      a key unknown, a command the key does not take, a malformed value, an argument
 *               that must be NULL/0 and is not, or an order that docs/semantics.md forbids (for
 *               example "gid" after "uid"). Nothing reached the stub; the stream stays usable.
 *   EOPNOTSUPP  cmd is not an EP_CONFIG_* command.
 *   EALREADY    the target was already exec'd.
 *   ECHILD      the stub died (killed from outside) before it could exec.
 *   EPROTO      the stub rejected the stream as malformed (a bug of this library: please report).
 *   EMSGSIZE, ENOBUFS, ENOMEM
 *               the stream could not be sent; the stub is killed at ep_close().
 *   any other   the errno of the first operation that failed in the stub (for example ENOENT from
 *               "cwd", EPERM from "uid", EACCES or ENOEXEC from the exec). In batched mode it may be
 *               returned by a later ep_config() call already, as soon as it is known.
 */
EP_PUBLIC int ep_config(int pidfd, unsigned int cmd, const char *key, const void *value, int aux);

/*
 * ep_log_read - read one message from the handle's log, like read(2) on an fs_context.
 *
 * Messages are NUL-terminated text starting with "e " (error), "w " (warning) or "i " (info). The log
 * keeps the last 8 messages; older ones are dropped. pidfd == -1 reads the calling thread's open log
 * (failures of ep_open(), which has no handle to log on).
 *
 * RETURN VALUE
 *   The length of the message without its NUL. -1 and errno on failure.
 * ERRORS
 *   ENODATA     the log is empty.
 *   EMSGSIZE    buf is too small for the next message; the message stays queued (unlike fsopen(2)).
 *   EBADF       pidfd is not a handle.
 */
EP_PUBLIC ssize_t ep_log_read(int pidfd, char *buf, size_t size);

/*
 * ep_pid - the process id of the stub (and, after the exec, of the target: the same process).
 * RETURN VALUE  the pid, or -1 and errno EBADF if pidfd is not a handle.
 */
EP_PUBLIC pid_t ep_pid(int pidfd);

/*
 * ep_close - end the stream and release the handle.
 *
 * A stub that has not exec'd is killed with SIGKILL and reaped: no process, no zombie is left. After
 * a successful exec the target keeps running; it is still the caller's child (reap it with waitpid(2)
 * or, before ep_close(), with waitid(P_PIDFD, pidfd, ...)). The pidfd is closed in every case.
 *
 * RETURN VALUE  0, or -1 and errno EBADF if pidfd is not a handle.
 */
EP_PUBLIC int ep_close(int pidfd);

/*
 * ep_cache_release - release what the library keeps between ep_open() calls to make them fast.
 *
 * That is: the pool's prepared stubs (killed and reaped), the zygote (ended and reaped), the
 * safeexec strategy's memfd, the few low descriptor numbers the library reserves at its first
 * ep_open() (docs/strategies.md) and the calling thread's io_uring ring (docs/io_uring.md; other
 * threads' rings end with their threads). Open handles are not affected. Everything is made again when an
 * ep_open() next needs it. For a caller about to count its descriptors or children, or to drop
 * privileges it does not want prepared processes to keep.
 *
 * RETURN VALUE  0, or -1 and errno EINVAL if flags is not 0.
 */
EP_PUBLIC int ep_cache_release(unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* EMPTYPROC_EMPTYPROC_H */
