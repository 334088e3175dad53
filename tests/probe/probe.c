/* SPDX-License-Identifier: MIT */
/*
 * probe - the exec'ed program of the tests: prints what it sees of its own process, one
 * "key=value" line each, so that tests check the target's view rather than the library's.
 *
 *   probe [print] [exit N] [sleep SECONDS] [write FD TEXT] [read FD] ...   (words run in order)
 *
 *   print    argc, argv.<i>, env.<i>, pid, ppid, pgid, sid, uid (real effective saved), gid,
 *            groups, umask, cwd, root, comm, sigpnd, shdpnd, sigblk, sigign, sigcgt (hex, from /proc/self/status),
 *            fds (comma list of open descriptors), fd.<N> (what each points to, flags=<octal>,
 *            cloexec=<0|1>), rlimit.<name> (soft:hard, "unlimited" for RLIM_INFINITY)
 *   exit N   exit with status N (default: 0 after the last word)
 *   sleep S  sleep S seconds (for lifecycle tests)
 *   write FD TEXT   write TEXT and a newline to FD
 *   read FD  copy FD to stdout until EOF, as "read=<line>" lines
 *   kill SIG raise(SIG)
 *   maps     maps=<the distinct names of /proc/self/maps, '|'-separated>
 * The output goes to stdout; nothing else is written there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void print_status_field(const char *field, const char *key) {
    FILE *f = fopen("/proc/self/status", "re");
    char line[512];
    size_t n = strlen(field);
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = 0;
            printf("%s=%s\n", key, v);
        }
    fclose(f);
}

static void print_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int self = d ? dirfd(d) : -1;
    int fds[4096], n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 4096) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self)
            fds[n++] = fd;
    }
    if (d)
        closedir(d);
    /* readdir order is ascending for /proc/self/fd, but sort anyway */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    printf("fds=");
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", fds[i]);
    printf("\n");
    for (int i = 0; i < n; i++) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fds[i]);
        ssize_t len = readlink(link, target, sizeof target - 1);
        target[len > 0 ? len : 0] = 0;
        printf("fd.%d=%s flags=%o cloexec=%d\n", fds[i], target, fcntl(fds[i], F_GETFL),
               (fcntl(fds[i], F_GETFD) & FD_CLOEXEC) ? 1 : 0);
    }
}

/* "maps": the distinct names in /proc/self/maps (files, [heap], anon_inode:..., /memfd:...), in
 * order, '|'-separated: what the process has mapped that is not anonymous memory. */
static void print_maps(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    char line[PATH_MAX + 128], seen[65536] = "";
    size_t used = 0;
    printf("maps=");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *name = line;
        for (int field = 0; field < 5 && name; field++) { /* address perms offset dev inode */
            name = strchr(name, ' ');
            while (name && *name == ' ')
                name++;
        }
        if (!name || !*name || strstr(seen, name))
            continue;
        size_t len = strlen(name);
        if (used + len + 2 < sizeof seen) {
            memcpy(seen + used, name, len);
            seen[used + len] = '|';
            seen[used + len + 1] = 0;
            used += len + 1;
        }
    }
    if (used)
        seen[used - 1] = 0;
    printf("%s\n", seen);
    if (f)
        fclose(f);
}

static void print_rlimits(void) {
    static const struct {
        const char *name;
        int res;
    } lims[] = {{"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
                {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
                {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
                {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
                {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
                {"stack", RLIMIT_STACK}};
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        struct rlimit r;
        getrlimit(lims[i].res, &r);
        printf("rlimit.%s=", lims[i].name);
        if (r.rlim_cur == RLIM_INFINITY)
            printf("unlimited:");
        else
            printf("%llu:", (unsigned long long)r.rlim_cur);
        if (r.rlim_max == RLIM_INFINITY)
            printf("unlimited\n");
        else
            printf("%llu\n", (unsigned long long)r.rlim_max);
    }
}

static void print_all(int argc, char **argv) {
    char buf[PATH_MAX];
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv.%d=%s\n", i, argv[i]);
    int envc = 0;
    for (char **e = environ; *e; e++)
        printf("env.%d=%s\n", envc++, *e);
    printf("envc=%d\n", envc);
    printf("pid=%d\nppid=%d\npgid=%d\nsid=%d\n", getpid(), getppid(), getpgid(0), getsid(0));
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    printf("uid=%u %u %u\ngid=%u %u %u\n", ru, eu, su, rg, eg, sg);
    gid_t groups[4096];
    int ng = getgroups(4096, groups);
    printf("groups=");
    for (int i = 0; i < ng; i++)
        printf("%s%u", i ? "," : "", groups[i]);
    printf("\n");
    mode_t m = umask(0);
    umask(m);
    printf("umask=%04o\n", m);
    printf("cwd=%s\n", getcwd(buf, sizeof buf) ? buf : "?");
    ssize_t n = readlink("/proc/self/root", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("root=%s\n", buf);
    print_status_field("Name", "comm");
    print_status_field("SigPnd", "sigpnd");
    print_status_field("ShdPnd", "shdpnd");
    print_status_field("SigBlk", "sigblk");
    print_status_field("SigIgn", "sigign");
    print_status_field("SigCgt", "sigcgt");
    print_fds();
    print_rlimits();
}

int main(int argc, char **argv) {
    int status = 0;
    if (argc < 2) {
        print_all(argc, argv);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "print")) {
            print_all(argc, argv);
        } else if (!strcmp(argv[i], "maps")) {
            print_maps();
        } else if (!strcmp(argv[i], "exit") && i + 1 < argc) {
            fflush(stdout);
            _exit(atoi(argv[++i]));
        } else if (!strcmp(argv[i], "sleep") && i + 1 < argc) {
            fflush(stdout);
            sleep((unsigned)atoi(argv[++i]));
        } else if (!strcmp(argv[i], "write") && i + 2 < argc) {
            int fd = atoi(argv[++i]);
            const char *text = argv[++i];
            dprintf(fd, "%s\n", text);
        } else if (!strcmp(argv[i], "read") && i + 1 < argc) {
            FILE *f = fdopen(atoi(argv[++i]), "r");
            char line[4096];
            while (f && fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                printf("read=%s\n", line);
            }
        } else if (!strcmp(argv[i], "kill") && i + 1 < argc) {
            fflush(stdout);
            raise(atoi(argv[++i]));
        } else {
            /* unknown words are data for argv tests; they do nothing */
        }
    }
    fflush(stdout);
    return status;
}
