/* SPDX-License-Identifier: MIT */
/*
 * preload.c - libemptyproc-preload.so: LD_PRELOAD it, and posix_spawn(3), posix_spawnp(3),
 * pidfd_spawn(3) and pidfd_spawnp(3) of an unmodified program go through the builder
 * (ep_posix_spawn & co, include/emptyproc/spawn.h). `emptyproc preload -- PROGRAM ARGS` does it.
 *
 * There is no fallback to glibc's implementation: if the builder fails, the caller gets its error
 * number, as it would from glibc. Every call is independent (no state here but the environment), so
 * the shim is as thread-safe as the library, which locks its handle registry.
 *
 * EMPTYPROC_PRELOAD_LOG=<file>: one line per call handled, appended with a single write(2) on an
 * O_APPEND descriptor (lines from concurrent threads and processes do not interleave):
 *     <method> pid=<pid> prog=<path or name>
 *     <method> err=<ERRNO NAME> prog=<path or name>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emptyproc/spawn.h"

#define EP_PRELOAD_EXPORT __attribute__((visibility("default")))

static void log_spawn(const char *method, int err, pid_t pid, const char *prog) {
    const char *path = getenv("EMPTYPROC_PRELOAD_LOG");
    if (!path || !*path)
        return;
    int saved = errno;
    char line[4096 + 128];
    int n;
    if (err == 0)
        n = snprintf(line, sizeof line, "%s pid=%d prog=%.4096s\n", method, (int)pid, prog ? prog : "");
    else {
        const char *name = strerrorname_np(err);
        n = snprintf(line, sizeof line, "%s err=%s prog=%.4096s\n", method, name ? name : "E?", prog ? prog : "");
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (n > (int)sizeof line - 1)
            n = (int)sizeof line - 1;
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        close(fd);
    }
    errno = saved;
}

/* The pid behind a pidfd, for the log: the "Pid:" line of its fdinfo. */
static pid_t pidfd_pid(int pidfd) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    const char *p = strstr(buf, "\nPid:");
    return p ? (pid_t)atoi(p + 5) : -1;
}

EP_PRELOAD_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                                  const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    pid_t child = -1;
    int err = ep_posix_spawn(&child, path, fa, attrp, argv, envp);
    if (err == 0 && pid)
        *pid = child;
    log_spawn("posix_spawn", err, child, path);
    return err;
}

EP_PRELOAD_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                                   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    pid_t child = -1;
    int err = ep_posix_spawnp(&child, file, fa, attrp, argv, envp);
    if (err == 0 && pid)
        *pid = child;
    log_spawn("posix_spawnp", err, child, file);
    return err;
}

/* glibc 2.39's; glibc 2.36 has none, so programs built against a newer glibc find them here. */
EP_PRELOAD_EXPORT int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
                                  const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    int err = ep_pidfd_spawn(pidfd, path, fa, attrp, argv, envp);
    log_spawn("pidfd_spawn", err, err == 0 ? pidfd_pid(*pidfd) : -1, path);
    return err;
}

EP_PRELOAD_EXPORT int pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
                                   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    int err = ep_pidfd_spawnp(pidfd, file, fa, attrp, argv, envp);
    log_spawn("pidfd_spawnp", err, err == 0 ? pidfd_pid(*pidfd) : -1, file);
    return err;
}
