/* SPDX-License-Identifier: MIT */
/*
 * cgroup_worker.c - a cgroup-limited worker: create a cgroup v2 child with a pids limit, start a worker born in it
 * (CLONE_INTO_CGROUP: it never runs outside), show what the worker sees, then remove the cgroup.
 *
 * What it shows
 *   - EP_OPEN_CGROUP + ep_open_how.cgroup_fd: the stub, then the program, is born in the cgroup.
 *   - The caller writes the limits into the cgroup before the worker is born (here pids.max, when
 *     the pids controller is enabled there).
 *   - nice, oom_score_adj and a CPU list for a background worker.
 *
 *   # example_cgroup_worker
 *   worker cgroup: 0::/ep-example-1234
 *   nice=10 oom_score_adj=500 cpus=0
 *   worker exited with status 0
 *
 *   Without a writable cgroup v2 hierarchy (or as non-root) it says so and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <emptyproc/emptyproc.h>

/* The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo. */
static int cgroup2_mount(char *out, size_t size) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - cgroup2 ");
        char mnt[1024];
        if (dash && sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
            snprintf(out, size, "%s", mnt);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static int write_file(const char *dir, const char *name, const char *value) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static void print_log(int handle) {
    char msg[EP_LOG_MSG_MAX];
    while (ep_log_read(handle, msg, sizeof msg) >= 0)
        fprintf(stderr, "  %s\n", msg);
}

int main(void) {
    char base[1024], dir[1200];
    if (geteuid() != 0 || !cgroup2_mount(base, sizeof base)) {
        printf("cgroup_worker: skipped: needs root and a cgroup v2 hierarchy\n");
        return 0;
    }
    snprintf(dir, sizeof dir, "%s/ep-example-%d", base, (int)getpid());
    if (mkdir(dir, 0755) < 0) {
        printf("cgroup_worker: skipped: cannot create %s (%s)\n", dir, strerror(errno));
        return 0;
    }
    write_file(dir, "pids.max", "8"); /* if the pids controller is enabled there */
    int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    struct ep_open_how how;
    memset(&how, 0, sizeof how);
    how.flags = EP_OPEN_CGROUP;
    how.cgroup_fd = cg;
    int pidfd = ep_open(&how, sizeof how);
    close(cg);
    int status = 1;
    if (pidfd < 0) {
        fprintf(stderr, "cgroup_worker: ep_open: %s\n", strerror(errno));
        print_log(-1);
        rmdir(dir);
        return 1;
    }
    const char *script = "echo worker cgroup: $(grep '^0::' /proc/self/cgroup);"
                         " echo nice=$(nice) oom_score_adj=$(cat /proc/self/oom_score_adj)"
                         " cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)";
    const struct {
        unsigned cmd;
        const char *key;
        const char *value;
        int aux;
    } ops[] = {
        {EP_CONFIG_SET_STRING, "nice", "10", 0},         {EP_CONFIG_SET_STRING, "oom_score_adj", "500", 0},
        {EP_CONFIG_SET_STRING, "cpus", "0", 0},          {EP_CONFIG_SET_FD, "fd.1", NULL, STDOUT_FILENO},
        {EP_CONFIG_SET_FD, "fd.2", NULL, STDERR_FILENO}, {EP_CONFIG_SET_STRING, "env", "PATH=/usr/bin:/bin", 0},
        {EP_CONFIG_SET_STRING, "argv", "sh", 0},         {EP_CONFIG_SET_STRING, "argv", "-c", 0},
        {EP_CONFIG_SET_STRING, "argv", script, 0},       {EP_CONFIG_SET_STRING, "exec", "sh", 0},
    };
    fflush(stdout);
    int failed = 0;
    for (size_t i = 0; !failed && i < sizeof ops / sizeof ops[0]; i++)
        failed = ep_config(pidfd, ops[i].cmd, ops[i].key, ops[i].value, ops[i].aux) < 0;
    if (!failed)
        failed = ep_config(pidfd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0;
    if (failed) {
        fprintf(stderr, "cgroup_worker: %s\n", strerror(errno));
        print_log(pidfd);
    } else {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {
        }
        status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
        printf("worker exited with status %d\n", status);
    }
    ep_close(pidfd);
    if (rmdir(dir) < 0)
        fprintf(stderr, "cgroup_worker: rmdir %s: %s\n", dir, strerror(errno));
    return status;
}
