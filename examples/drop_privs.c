/* SPDX-License-Identifier: MIT */
/*
 * drop_privs.c - a privilege-dropping spawn: run `id` (and report the limits) as nobody.
 *
 * What it shows
 *   - The credential keys in the order the library requires: "groups" before "gid" before "uid",
 *     because each step needs a capability that the uid change gives up. "groups" "" drops every
 *     supplementary group, so nothing of root's group list survives.
 *   - Other attributes that start as the caller's (rlimits, umask, cwd) are set too; "rlimit.nofile"
 *     comes before "uid" for the same reason (raising a hard limit needs CAP_SYS_RESOURCE).
 *   - "cwd" "/" first: the caller's cwd may not be searchable by nobody.
 *   - Dropping privileges needs CAP_SETUID and CAP_SETGID. Without them (not root) the example
 *     says so and exits 0, since there is nothing to demonstrate; a stub that fails with EPERM is
 *     reported the same way.
 *
 *   # example_drop_privs
 *   uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)
 *   nofile=64
 *   umask=0077
 *   sh exited with status 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <emptyproc/emptyproc.h>

static void print_log(int handle) {
    char msg[EP_LOG_MSG_MAX];
    while (ep_log_read(handle, msg, sizeof msg) >= 0)
        fprintf(stderr, "  %s\n", msg);
}

int main(void) {
    if (geteuid() != 0) {
        printf("drop_privs: skipped: not running as root (euid %u); dropping to nobody needs "
               "CAP_SETUID and CAP_SETGID\n",
               (unsigned)geteuid());
        return 0;
    }

    int pidfd = ep_open(NULL, 0);
    if (pidfd < 0) {
        perror("ep_open");
        print_log(-1);
        return 1;
    }
    const struct {
        unsigned cmd;
        const char *key;
        const char *value;
        int aux;
    } ops[] = {
        {EP_CONFIG_SET_FD, "fd.1", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDERR_FILENO},
        {EP_CONFIG_SET_PATH, "cwd", "/", AT_FDCWD},
        {EP_CONFIG_SET_STRING, "rlimit.nofile", "64:64", 0},
        {EP_CONFIG_SET_STRING, "umask", "077", 0},
        {EP_CONFIG_SET_STRING, "groups", "", 0},
        {EP_CONFIG_SET_STRING, "gid", "65534", 0},
        {EP_CONFIG_SET_STRING, "uid", "65534", 0},
        {EP_CONFIG_SET_STRING, "env", "PATH=/usr/bin:/bin", 0},
        {EP_CONFIG_SET_STRING, "argv", "sh", 0},
        {EP_CONFIG_SET_STRING, "argv", "-c", 0},
        {EP_CONFIG_SET_STRING, "argv", "id; echo nofile=$(ulimit -n); echo umask=$(umask)", 0},
        {EP_CONFIG_SET_STRING, "exec", "sh", 0},
    };
    fflush(stdout);
    int failed = 0;
    for (size_t i = 0; !failed && i < sizeof ops / sizeof ops[0]; i++)
        failed = ep_config(pidfd, ops[i].cmd, ops[i].key, ops[i].value, ops[i].aux) < 0;
    if (!failed)
        failed = ep_config(pidfd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0;
    if (failed) {
        int err = errno;
        if (err == EPERM) {
            /* root without the capabilities, e.g. in a restricted container */
            printf("drop_privs: skipped: the kernel refused the credential change (EPERM):\n");
            fflush(stdout);
            print_log(pidfd);
            ep_close(pidfd);
            return 0;
        }
        fprintf(stderr, "drop_privs: %s\n", strerror(err));
        print_log(pidfd);
        ep_close(pidfd);
        return 1;
    }

    siginfo_t info;
    memset(&info, 0, sizeof info);
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
    }
    ep_close(pidfd);
    int status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    printf("sh exited with status %d\n", status);
    return status;
}
