/* SPDX-License-Identifier: MIT */
/*
 * pipeline.c - `ls / | wc -l`, wired by the caller: one pipe, two empty processes.
 *
 * What it shows
 *   - The caller builds the plumbing a shell would: ls gets the pipe's write end as fd 1, wc gets
 *     its read end as fd 0 (and our stdout as fd 1). Neither process receives any other descriptor
 *     of ours, so wc sees EOF as soon as ls exits: the classic "forgot to close the write end in
 *     the reader" hang cannot happen here, because nothing is inherited unless configured.
 *   - The caller must still close its own pipe ends once both are spawned (the library dups them
 *     during ep_config(), so they may be closed right away), else wc would wait for our write end.
 *   - Programs found by name ("exec" SET_STRING) are searched in the PATH of the environment given
 *     to the empty process, which starts empty.
 *   - Both are waited for through their pidfds.
 *
 *   $ example_pipeline
 *   entries in /:
 *   23
 *   ls: exit 0, wc: exit 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <emptyproc/emptyproc.h>

struct op {
    unsigned cmd;
    const char *key;
    const char *value;
    int aux;
};

/* Opens, configures and execs one empty process; returns its pidfd, or -1 after printing why. */
static int spawn(const char *name, const struct op *ops, size_t n) {
    int pidfd = ep_open(NULL, 0);
    if (pidfd < 0) {
        char msg[EP_LOG_MSG_MAX];
        perror("ep_open");
        while (ep_log_read(-1, msg, sizeof msg) >= 0)
            fprintf(stderr, "  %s\n", msg);
        return -1;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = ep_config(pidfd, ops[i].cmd, ops[i].key, ops[i].value, ops[i].aux) == 0;
    if (ok)
        ok = ep_config(pidfd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) == 0;
    if (!ok) {
        char msg[EP_LOG_MSG_MAX];
        fprintf(stderr, "%s: %s\n", name, strerror(errno));
        while (ep_log_read(pidfd, msg, sizeof msg) >= 0)
            fprintf(stderr, "  %s\n", msg);
        ep_close(pidfd);
        return -1;
    }
    return pidfd;
}

/* Reaps the program behind pidfd and releases the handle; returns a shell-style status. */
static int wait_and_close(int pidfd) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
    }
    ep_close(pidfd);
    return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
}

int main(void) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        perror("pipe2");
        return 1;
    }
    const struct op ls[] = {
        {EP_CONFIG_SET_FD, "fd.1", NULL, pipefd[1]},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDERR_FILENO},
        {EP_CONFIG_SET_STRING, "env", "PATH=/usr/bin:/bin", 0},
        {EP_CONFIG_SET_STRING, "argv", "ls", 0},
        {EP_CONFIG_SET_STRING, "argv", "/", 0},
        {EP_CONFIG_SET_STRING, "exec", "ls", 0},
    };
    const struct op wc[] = {
        {EP_CONFIG_SET_FD, "fd.0", NULL, pipefd[0]},     {EP_CONFIG_SET_FD, "fd.1", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDERR_FILENO}, {EP_CONFIG_SET_STRING, "env", "PATH=/usr/bin:/bin", 0},
        {EP_CONFIG_SET_STRING, "argv", "wc", 0},         {EP_CONFIG_SET_STRING, "argv", "-l", 0},
        {EP_CONFIG_SET_STRING, "exec", "wc", 0},
    };

    printf("entries in /:\n");
    fflush(stdout); /* wc writes to the same stdout */
    int ls_fd = spawn("ls", ls, sizeof ls / sizeof ls[0]);
    int wc_fd = ls_fd < 0 ? -1 : spawn("wc", wc, sizeof wc / sizeof wc[0]);
    /* Ours are not needed any more: wc must see EOF when ls is done, so no write end may stay here. */
    close(pipefd[0]);
    close(pipefd[1]);
    if (ls_fd < 0 || wc_fd < 0) {
        if (ls_fd >= 0)
            wait_and_close(ls_fd); /* ls gets EPIPE or finishes; either way it is reaped */
        return 1;
    }
    int ls_status = wait_and_close(ls_fd);
    int wc_status = wait_and_close(wc_fd);
    printf("ls: exit %d, wc: exit %d\n", ls_status, wc_status);
    return ls_status == 0 && wc_status == 0 ? 0 : 1;
}
