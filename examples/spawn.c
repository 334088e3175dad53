/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - the smallest complete use of the C ABI: open an empty process, configure it, exec it,
 * wait for it; then the same with an operation that fails, to show how errors are read.
 *
 * What it shows
 *   - The empty process starts with no file descriptors: stdout and stderr are given explicitly
 *     ("fd.1", "fd.2"), or the program could not print.
 *   - Errors come back as an errno plus log messages "e <key>: <what>", read with ep_log_read().
 *     In the default (batched) mode a failing op is reported by EP_CONFIG_CMD_EXEC.
 *   - The handle is a pidfd: waitid(P_PIDFD) reaps the program before ep_close().
 *
 *   $ example_spawn
 *   hello from an empty process
 *   echo exited with status 0
 *   spawn failed as expected: No such file or directory
 *     e cwd: ENOENT (No such file or directory)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <emptyproc/emptyproc.h>

/* Prints every message the handle's log holds (or the open log, for handle -1). */
static void print_log(int handle) {
    char msg[EP_LOG_MSG_MAX];
    while (ep_log_read(handle, msg, sizeof msg) >= 0)
        fprintf(stderr, "  %s\n", msg);
}

/* Spawns /bin/echo with the given cwd; returns its exit status, or -1 with errno set. */
static int spawn_echo(const char *cwd) {
    int pidfd = ep_open(NULL, 0);
    if (pidfd < 0) {
        int err = errno;
        print_log(-1);
        errno = err;
        return -1;
    }
    const struct {
        unsigned cmd;
        const char *key;
        const char *value;
        int aux;
    } ops[] = {
        {EP_CONFIG_SET_FD, "fd.1", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDERR_FILENO},
        {EP_CONFIG_SET_PATH, "cwd", cwd, AT_FDCWD},
        {EP_CONFIG_SET_STRING, "argv", "echo", 0},
        {EP_CONFIG_SET_STRING, "argv", "hello from an empty process", 0},
        {EP_CONFIG_SET_PATH, "exec", "/bin/echo", AT_FDCWD},
    };
    /* Our buffered output must be out before the program writes to the same stdout. */
    fflush(stdout);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ep_config(pidfd, ops[i].cmd, ops[i].key, ops[i].value, ops[i].aux) < 0)
            goto fail;
    if (ep_config(pidfd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0)
        goto fail;

    siginfo_t info;
    memset(&info, 0, sizeof info);
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
    }
    ep_close(pidfd);
    return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;

fail : {
    int err = errno;
    print_log(pidfd); /* before ep_close(): the log goes with the handle */
    ep_close(pidfd);  /* kills and reaps the stub: echo never ran */
    errno = err;
    return -1;
}
}

int main(void) {
    int status = spawn_echo("/");
    if (status < 0) {
        perror("spawn_echo");
        return 1;
    }
    printf("echo exited with status %d\n", status);

    fflush(stdout);
    if (spawn_echo("/nonexistent-directory") >= 0) {
        fprintf(stderr, "a cwd that does not exist was accepted\n");
        return 1;
    }
    printf("spawn failed as expected: %s\n", strerror(errno));
    return 0;
}
