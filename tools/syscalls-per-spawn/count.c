/* SPDX-License-Identifier: MIT */
/* count.c TRANSPORT N [sync [STRATEGY]] - 1 + N spawns of /bin/true (fd.0-2 passed), getppid() around
 * the N: the program tools/syscalls-per-spawn/count.sh runs under strace. STRATEGY: EP_STRATEGY_* number. */
#include <emptyproc/emptyproc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void spawn(unsigned transport, int sync, unsigned strategy) {
    struct ep_open_how how = {0};
    how.transport = transport;
    how.strategy = strategy;
    how.flags = sync ? EP_OPEN_SYNC : 0;
    int fd = ep_open(&how, sizeof how);
    if (fd < 0) {
        perror("ep_open");
        exit(1);
    }
    for (int n = 0; n < 3; n++) {
        char key[8];
        snprintf(key, sizeof key, "fd.%d", n);
        ep_config(fd, EP_CONFIG_SET_FD, key, NULL, n);
    }
    ep_config(fd, EP_CONFIG_SET_STRING, "exec", "/bin/true", 0);
    if (ep_config(fd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0) {
        perror("exec");
        exit(1);
    }
    siginfo_t si;
    waitid(P_PIDFD, fd, &si, WEXITED);
    ep_close(fd);
}

int main(int argc, char **argv) {
    unsigned transport = strcmp(argv[1], "io_uring") == 0;
    int sync = argc > 3 && strcmp(argv[3], "sync") == 0;
    int n = atoi(argv[2]);
    unsigned strategy = argc > 4 ? (unsigned)atoi(argv[4]) : EP_STRATEGY_CLONE_VM;
    spawn(transport, sync, strategy); /* warm-up: the thread's ring, the probe, caches */
    getppid();              /* marker */
    for (int i = 0; i < n; i++)
        spawn(transport, sync, strategy);
    getppid();
    return 0;
}
