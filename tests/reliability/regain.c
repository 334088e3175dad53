/* SPDX-License-Identifier: MIT */
/*
 * regain - the target of the security tests: prints what the kernel says of its credentials, then
 * tries to win back what it was denied, and prints each try's result.
 *
 *   status.<Field>=<value>   (and after.<Field>, once more after the tries) Uid, Gid, Groups, CapInh, CapPrm, CapEff,
 * CapBnd, CapAmb, NoNewPrivs from /proc/self/status (Uid and Gid: real, effective, saved, fs) try.<call>=<ok|ERRNO>
 * setuid(0), setresuid(0,0,0), setreuid(0,0), seteuid(0), setfsuid(0) (which has no error return: the fs uid read back
 * afterwards), setgid(0), setresgid(0,0,0), setgroups([0]), capset of every capability exe=<path>               what
 * /proc/self/exe says (the exec-by-fd tests) Raw system calls: glibc's set*id wrappers would add nothing here (one
 * thread) and hide nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void status_fields(const char *prefix) {
    static const char *fields[] = {"Uid",    "Gid",    "Groups", "CapInh",    "CapPrm",
                                   "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"};
    char line[1024];
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            size_t n = strlen(fields[i]);
            if (strncmp(line, fields[i], n) == 0 && line[n] == ':') {
                char *v = line + n + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                v[strcspn(v, "\n")] = 0;
                for (char *t = v; *t; t++)
                    if (*t == '\t')
                        *t = ' ';
                while (*v && v[strlen(v) - 1] == ' ')
                    v[strlen(v) - 1] = 0;
                printf("%s.%s=%s\n", prefix, fields[i], v);
            }
        }
    fclose(f);
}

static void report(const char *call, long r) {
    printf("try.%s=%s\n", call, r == 0 ? "ok" : strerrorname_np(errno));
}

int main(void) {
    status_fields("status");
    report("setuid", syscall(SYS_setuid, 0));
    report("setresuid", syscall(SYS_setresuid, 0, 0, 0));
    report("setreuid", syscall(SYS_setreuid, 0, 0));
    report("seteuid", syscall(SYS_setresuid, -1, 0, -1));
    syscall(SYS_setfsuid, 0);
    printf("try.setfsuid=%s\n", syscall(SYS_setfsuid, -1) == 0 ? "ok" : "EPERM");
    report("setgid", syscall(SYS_setgid, 0));
    report("setresgid", syscall(SYS_setresgid, 0, 0, 0));
    unsigned int zero = 0;
    report("setgroups", syscall(SYS_setgroups, 1, &zero));
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0xff, sizeof d);
    report("capset", syscall(SYS_capset, &h, d));
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    printf("exe=%s\n", exe);
    status_fields("after"); /* after the tries: nothing may have changed */
    fflush(stdout);
    return 0;
}
