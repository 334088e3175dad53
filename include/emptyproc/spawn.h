/* SPDX-License-Identifier: MIT */
/*
 * spawn.h - posix_spawn(3) and pidfd_spawn(3) implemented on the empty-process builder.
 *
 * The functions take glibc's own types (posix_spawn_file_actions_t, posix_spawnattr_t, built with
 * glibc's posix_spawn_file_actions_* and posix_spawnattr_* functions) and give glibc's results:
 * every file action and attribute is translated into ep_config() keys (docs/posix_spawn.md has the
 * table), the stub applies them in glibc's order, and the program is exec'd.
 *
 *     pid_t pid;
 *     posix_spawn_file_actions_t fa;
 *     posix_spawn_file_actions_init(&fa);
 *     posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
 *     int err = ep_posix_spawnp(&pid, "ls", &fa, NULL, argv, environ);   // 0 or an errno value
 *
 * libemptyproc-preload.so makes unmodified programs call these instead of glibc's (LD_PRELOAD, or
 * `emptyproc preload -- PROGRAM ARGS`).
 */
#ifndef EMPTYPROC_SPAWN_H
#define EMPTYPROC_SPAWN_H

#include <spawn.h>
#include <sys/types.h>

#include "emptyproc.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ep_posix_spawn, ep_posix_spawnp - spawn a process (posix_spawn(3), posix_spawnp(3)).
 *
 * The child gets what glibc's child gets: the caller's descriptors without FD_CLOEXEC (minus the file
 * actions), the calling thread's signal mask (or the attribute's, POSIX_SPAWN_SETSIGMASK), handlers
 * reset to SIG_DFL while ignored signals stay ignored (POSIX_SPAWN_SETSIGDEF resets those named),
 * and the caller's cwd, umask, credentials, limits, scheduling, session and process group unless an
 * attribute changes them. envp is the environment (NULL: empty); argv the arguments.
 *
 * Order, as glibc's child: cgroup, SETSIGDEF, SETSCHEDULER / SETSCHEDPARAM, SETSID, SETPGROUP,
 * RESETIDS, the file actions in the order they were added, the signal mask, execve.
 *
 * ep_posix_spawnp searches file like execvp(3) in the caller's PATH (getenv("PATH") at the call;
 * unset: "/bin:/usr/bin"), in the child, after the file actions (so a relative entry follows an
 * addchdir_np). A name with a '/' is used as is. No /bin/sh fallback for ENOEXEC.
 *
 * RETURN VALUE
 *   0, with *pid (if pid is not NULL) the child's pid. On failure an error number, and errno is left
 *   as it was; *pid is not written and no child is left (it was killed and reaped).
 * ERRORS
 *   Any error of a file action or attribute in the child (EBADF from adddup2 of a descriptor that is
 *   not open, ENOENT from addopen or addchdir_np, EPERM from SETPGROUP or RESETIDS, ...) and of the
 *   exec (ENOENT for a missing program, EACCES, ENOEXEC, E2BIG, ...), as glibc reports them.
 *   EPERM       SETSID together with SETPGROUP (a session leader cannot change its group: glibc's
 *               child fails the same way).
 *   EINVAL      an envp entry without '=' or with an empty name (the env key refuses it); an unknown
 *               scheduling policy.
 *   ENAMETOOLONG  ep_posix_spawnp: file has no '/' and is longer than NAME_MAX.
 *   EMFILE, ENOMEM, EAGAIN  the builder's own resources (ep_open()).
 */
EP_PUBLIC int ep_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
                             const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
EP_PUBLIC int ep_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *file_actions,
                              const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);

/*
 * ep_pidfd_spawn, ep_pidfd_spawnp - as glibc 2.39's pidfd_spawn(3), pidfd_spawnp(3).
 *
 * As ep_posix_spawn, but *pidfd receives a pidfd (O_CLOEXEC) for the child instead of a pid. It is a
 * plain pidfd: close(2) it (it is not an ep_open() handle). The child is still the caller's child:
 * reap it with waitid(P_PIDFD, *pidfd, ...).
 * RETURN VALUE  0, or an error number (errno untouched; *pidfd not written; no child left).
 */
EP_PUBLIC int ep_pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *file_actions,
                             const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
EP_PUBLIC int ep_pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *file_actions,
                              const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);

/*
 * Cgroup of the child (glibc 2.39's POSIX_SPAWN_SETCGROUP and posix_spawnattr_setcgroup_np; glibc 2.36
 * has neither).
 *
 * ep_posix_spawnattr_setcgroup_np stores cgroupfd (a descriptor of a cgroup v2 directory) in the
 * attribute, in the place glibc 2.39 keeps it (the first int of the padding after __policy). As in
 * 2.39, it only takes effect with the flag EP_POSIX_SPAWN_SETCGROUP, which glibc 2.36's
 * posix_spawnattr_setflags() refuses: set the flags with ep_posix_spawnattr_setflags(), which takes
 * every POSIX_SPAWN_* flag plus this one. The child joins the cgroup first (the `cgroup` key).
 * glibc 2.36's own posix_spawn ignores both.
 *
 * RETURN VALUE  0, or EINVAL (unknown flag).
 */
#define EP_POSIX_SPAWN_SETCGROUP 0x100
EP_PUBLIC int ep_posix_spawnattr_setcgroup_np(posix_spawnattr_t *attr, int cgroupfd);
EP_PUBLIC int ep_posix_spawnattr_getcgroup_np(const posix_spawnattr_t *attr, int *cgroupfd);
EP_PUBLIC int ep_posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);

#ifdef __cplusplus
}
#endif

#endif /* EMPTYPROC_SPAWN_H */
