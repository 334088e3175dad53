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
 *            cloexec=<0|1>), rlimit.<name> (soft:hard, "unlimited" for RLIM_INFINITY),
 *            sched (policy number and priority), tpgid (foreground group of the controlling
 *            terminal, field 8 of /proc/self/stat; -1 without one)
 *   exit N   exit with status N (default: 0 after the last word)
 *   sleep S  sleep S seconds (for lifecycle tests)
 *   write FD TEXT   write TEXT and a newline to FD
 *   read FD  copy FD to stdout until EOF, as "read=<line>" lines
 *   kill SIG raise(SIG)
 *   sandbox  nspid, cap.inh/prm/eff/bnd/amb, nonewprivs, seccomp, cpus, nice, oom_score_adj,
 *            cgroup, hostname, uid_map, gid_map, setgroups, ns.<type> (inode), pdeathsig, ioprio,
 *            personality (hex), tty_nr, ro.<path> for "/" (1 if read-only)
 *   try CALL run uname / getcwd / getpid and print "try.CALL=0" or "try.CALL=<errno name>"
 *   touch PATH  create PATH: "touch=0" or "touch=<errno name>"
 *   maps     maps=<the distinct names of /proc/self/maps, '|'-separated>
 * The output goes to stdout; nothing else is written there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <errno.h>
#include <sys/personality.h>
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

static void print_sched_and_tty(void) {
    struct sched_param sp = {0};
    sched_getparam(0, &sp);
    printf("sched=%d %d\n", sched_getscheduler(0), sp.sched_priority);
    char stat[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f)
        fclose(f);
    stat[n] = 0;
    const char *p = strrchr(stat, ')'); /* comm may hold spaces: count fields after it */
    int tpgid = -1;
    if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %d", &tpgid) != 1)
        tpgid = -1;
    printf("tpgid=%d\n", tpgid);
}

/* The first line of a small file, or "" */
static void print_file_line(const char *path, const char *key) {
    char line[4096] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        fclose(f);
    }
    line[strcspn(line, "\n")] = 0;
    printf("%s=%s\n", key, line);
}

static void print_sandbox(void) {
    print_status_field("NSpid", "nspid");
    print_status_field("CapInh", "cap.inh");
    print_status_field("CapPrm", "cap.prm");
    print_status_field("CapEff", "cap.eff");
    print_status_field("CapBnd", "cap.bnd");
    print_status_field("CapAmb", "cap.amb");
    print_status_field("NoNewPrivs", "nonewprivs");
    print_status_field("Seccomp", "seccomp");
    print_status_field("Cpus_allowed_list", "cpus");
    errno = 0;
    printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
    print_file_line("/proc/self/oom_score_adj", "oom_score_adj");
    print_file_line("/proc/self/cgroup", "cgroup");
    struct utsname u;
    uname(&u);
    printf("hostname=%s\n", u.nodename);
    print_file_line("/proc/self/uid_map", "uid_map");
    print_file_line("/proc/self/gid_map", "gid_map");
    print_file_line("/proc/self/setgroups", "setgroups");
    static const char *const ns[] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i]);
        if (stat(path, &st) == 0)
            printf("ns.%s=%lu\n", ns[i], (unsigned long)st.st_ino);
    }
    int sig = 0;
    prctl(PR_GET_PDEATHSIG, &sig);
    printf("pdeathsig=%d\n", sig);
    printf("ioprio=%ld\n", syscall(SYS_ioprio_get, 1, 0));
    printf("personality=%x\n", (unsigned)personality(0xffffffff));
    FILE *f = fopen("/proc/self/stat", "re");
    int tty = 0;
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (p)
            sscanf(p + 2, "%*c %*d %*d %*d %d", &tty);
        fclose(f);
    }
    printf("tty_nr=%d\n", tty);
    struct statvfs sv;
    printf("ro./=%d\n", statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY) ? 1 : 0);
}

static const char *errno_word(int err) {
    const char *n = err ? strerrorname_np(err) : "0";
    return n ? n : "?";
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
    print_sched_and_tty();
    print_sandbox();
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
        } else if (!strcmp(argv[i], "try") && i + 1 < argc) {
            const char *call = argv[++i];
            long r = -1;
            errno = 0;
            if (!strcmp(call, "uname")) {
                struct utsname u;
                r = syscall(SYS_uname, &u);
            } else if (!strcmp(call, "getcwd")) {
                char b[PATH_MAX];
                r = syscall(SYS_getcwd, b, sizeof b);
            } else if (!strcmp(call, "getpid")) {
                r = syscall(SYS_getpid);
            }
            printf("try.%s=%s\n", call, errno_word(r < 0 ? errno : 0));
        } else if (!strcmp(argv[i], "touch") && i + 1 < argc) {
            int fd = open(argv[++i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            printf("touch=%s\n", errno_word(fd < 0 ? errno : 0));
            if (fd >= 0)
                close(fd);
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
