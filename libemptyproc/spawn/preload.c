/* SPDX-License-Identifier: MIT */
/*
 * preload.c - libemptyproc-preload.so: LD_PRELOAD it, and posix_spawn(3), posix_spawnp(3),
 * pidfd_spawn(3) and pidfd_spawnp(3) of an unmodified program go through the builder
 * (ep_posix_spawn & co, include/emptyproc/spawn.h). `emptyproc preload -- PROGRAM ARGS` does it.
 *
 * There is no fallback to glibc's implementation: if the builder fails, the caller gets its error
 * number, as it would from glibc. Every call is independent, so the shim is as thread-safe as the
 * library, which locks its handle registry.
 *
 * LD_PRELOAD reaches every descendant, and most of them never spawn (the compilers make runs), so
 * this library depends on libc alone and loads libemptyproc.so (from its own directory, with its
 * libstdc++) at the first spawn only, once per process (pthread_once). If that load fails, the
 * spawn fails with ELIBACC, logged; it still does not fall back.
 *
 * EMPTYPROC_PRELOAD_LOG=<file>: one line per call handled, appended with a single write(2) on an
 * O_APPEND descriptor (lines from concurrent threads and processes do not interleave):
 *     <method> pid=<pid> prog=<path or name>
 *     <method> err=<ERRNO NAME> prog=<path or name>
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emptyproc/spawn.h"

#define EP_PRELOAD_EXPORT __attribute__((visibility("default")))

typedef int (*pid_spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                            char *const[], char *const[]);
typedef int (*pidfd_spawn_fn)(int *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                              char *const[], char *const[]);

static struct {
    pid_spawn_fn spawn, spawnp;
    pidfd_spawn_fn pidfd_spawn, pidfd_spawnp;
    int err; /* 0, or ELIBACC if libemptyproc.so could not be loaded */
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* libemptyproc.so.0 from the directory this library was loaded from (build tree or libdir). */
static void load_lib(void) {
    Dl_info info;
    char path[4096];
    void *h = NULL;
    if (dladdr((void *)&load_lib, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        int dirlen = slash ? (int)(slash - info.dli_fname) : 1;
        if (snprintf(path, sizeof path, "%.*s/libemptyproc.so.0", dirlen, slash ? info.dli_fname : ".") <
            (int)sizeof path)
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (h) {
        lib.spawn = (pid_spawn_fn)dlsym(h, "ep_posix_spawn");
        lib.spawnp = (pid_spawn_fn)dlsym(h, "ep_posix_spawnp");
        lib.pidfd_spawn = (pidfd_spawn_fn)dlsym(h, "ep_pidfd_spawn");
        lib.pidfd_spawnp = (pidfd_spawn_fn)dlsym(h, "ep_pidfd_spawnp");
    }
    if (!lib.spawn || !lib.spawnp || !lib.pidfd_spawn || !lib.pidfd_spawnp)
        lib.err = ELIBACC;
}

static int ready(void) {
    int saved = errno;
    pthread_once(&lib_once, load_lib);
    errno = saved;
    return lib.err;
}

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
    int err = ready();
    if (!err)
        err = lib.spawn(&child, path, fa, attrp, argv, envp);
    if (err == 0 && pid)
        *pid = child;
    log_spawn("posix_spawn", err, child, path);
    return err;
}

EP_PRELOAD_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                                   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    pid_t child = -1;
    int err = ready();
    if (!err)
        err = lib.spawnp(&child, file, fa, attrp, argv, envp);
    if (err == 0 && pid)
        *pid = child;
    log_spawn("posix_spawnp", err, child, file);
    return err;
}

/* glibc 2.39's; glibc 2.36 has none, so programs built against a newer glibc find them here. */
EP_PRELOAD_EXPORT int pidfd_spawn(int *pidfd, const char *path, const posix_spawn_file_actions_t *fa,
                                  const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    int err = ready();
    if (!err)
        err = lib.pidfd_spawn(pidfd, path, fa, attrp, argv, envp);
    log_spawn("pidfd_spawn", err, err == 0 ? pidfd_pid(*pidfd) : -1, path);
    return err;
}

EP_PRELOAD_EXPORT int pidfd_spawnp(int *pidfd, const char *file, const posix_spawn_file_actions_t *fa,
                                   const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]) {
    int err = ready();
    if (!err)
        err = lib.pidfd_spawnp(pidfd, file, fa, attrp, argv, envp);
    log_spawn("pidfd_spawnp", err, err == 0 ? pidfd_pid(*pidfd) : -1, file);
    return err;
}
