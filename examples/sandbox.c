/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - a bubblewrap-like sandbox: run a shell command in new user, mount, pid, net, UTS and
 * IPC namespaces, with / read-only, no capabilities, no_new_privs and a seccomp filter.
 *
 * What it shows
 *   - The pid namespace is made at birth (ep_open_how.namespaces = CLONE_NEWPID): the program is
 *     pid 1 of it, and the pidfd refers to the program itself (docs/semantics.md section 9).
 *   - The user namespace comes first ("uid_map"/"gid_map", then "unshare user"); its maps are in
 *     place before the next op. Root in the sandbox is the caller outside (a single-id map).
 *   - A new mount namespace whose mounts are private, and "/" remounted read-only in it only.
 *   - "cap_drop all" empties the bounding set, so the program has no capability at all.
 *   - "no_new_privs", then "seccomp_deny" last (the filter applies to every op after it).
 *
 *   # example_sandbox
 *   pid=1 host=sandbox uid=0 caps=0000000000000000 nnp=1 seccomp=2
 *   net: lo
 *   touch /probe-file: Read-only file system
 *   unshare: Operation not permitted
 *   sh exited with status 0
 *
 *   Only the mount at / is read-only: mounts below it (/tmp, /dev, /proc) stay as they were.
 *
 *   Namespaces need privileges (or unprivileged user namespaces); without them the example says
 *   so and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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
    char uid_map[64], gid_map[64];
    snprintf(uid_map, sizeof uid_map, "0 %u 1", (unsigned)geteuid());
    snprintf(gid_map, sizeof gid_map, "0 %u 1", (unsigned)getegid());

    struct ep_open_how how;
    memset(&how, 0, sizeof how);
    how.namespaces = CLONE_NEWPID; /* the program is pid 1 of a new pid namespace */
    int pidfd = ep_open(&how, sizeof how);
    if (pidfd < 0) {
        int err = errno;
        printf("sandbox: skipped: no pid namespace here (%s)\n", strerror(err));
        print_log(-1);
        return 0;
    }
    const char *script = "echo pid=$$ host=$(hostname) uid=$(id -u)"
                         " caps=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
                         " nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status)"
                         " seccomp=$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/self/status);"
                         " echo net: $(sed -n 's/^ *\\([a-z0-9]*\\):.*/\\1/p' /proc/net/dev);"
                         " touch /probe-file 2>&1 | sed 's/.*: //;s/^/touch \\/probe-file: /';"
                         " unshare -r true 2>&1 | sed 's/.*: //;s/^/unshare: /'; true";
    const struct {
        unsigned cmd;
        const char *key;
        const char *value;
        int aux;
    } ops[] = {
        {EP_CONFIG_SET_STRING, "uid_map", uid_map, 0},
        {EP_CONFIG_SET_STRING, "gid_map", gid_map, 0},
        {EP_CONFIG_SET_STRING, "unshare", "user", 0},            /* the user namespace first */
        {EP_CONFIG_SET_STRING, "unshare", "mnt,net,uts,ipc", 0}, /* owned by it */
        {EP_CONFIG_SET_STRING, "hostname", "sandbox", 0},
        {EP_CONFIG_SET_PATH, "remount_ro", "/", AT_FDCWD}, /* a read-only view of / */
        {EP_CONFIG_SET_PATH, "cwd", "/", AT_FDCWD},
        {EP_CONFIG_SET_STRING, "cap_drop", "all", 0},
        {EP_CONFIG_SET_STRING, "env", "PATH=/usr/bin:/bin", 0},
        {EP_CONFIG_SET_STRING, "argv", "sh", 0},
        {EP_CONFIG_SET_STRING, "argv", "-c", 0},
        {EP_CONFIG_SET_STRING, "argv", script, 0},
        {EP_CONFIG_SET_STRING, "exec", "sh", 0},
        {EP_CONFIG_SET_FD, "fd.1", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FLAG, "no_new_privs", NULL, 0},
        {EP_CONFIG_SET_STRING, "seccomp_deny", "ptrace,kexec_load,init_module,finit_module,bpf,keyctl", 0},
    };
    fflush(stdout);
    int failed = 0;
    for (size_t i = 0; !failed && i < sizeof ops / sizeof ops[0]; i++)
        failed = ep_config(pidfd, ops[i].cmd, ops[i].key, ops[i].value, ops[i].aux) < 0;
    if (!failed)
        failed = ep_config(pidfd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0;
    if (failed) {
        int err = errno;
        if (err == EPERM || err == ENOSPC) {
            printf("sandbox: skipped: the kernel refused a namespace (%s):\n", strerror(err));
            fflush(stdout);
            print_log(pidfd);
            ep_close(pidfd);
            return 0;
        }
        fprintf(stderr, "sandbox: %s\n", strerror(err));
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
