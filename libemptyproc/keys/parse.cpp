// SPDX-License-Identifier: MIT
// parse.cpp - the key language: check each ep_config() call and encode it (docs/keys.md).
//
// Everything here runs in the caller, before anything reaches the stub: names are resolved, numbers
// range-checked and descriptors validated, so that the stub only ever sees well-formed records.
#include "keys.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/ioprio.h>
#include <linux/nsfs.h>
#include <pwd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <csignal>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "emptyproc/emptyproc.h"
#include "names.hpp"
#include "sandbox.hpp"

namespace ep::detail {
namespace {

constexpr unsigned C_FLAG = 1u << EP_CONFIG_SET_FLAG;
constexpr unsigned C_STRING = 1u << EP_CONFIG_SET_STRING;
constexpr unsigned C_BINARY = 1u << EP_CONFIG_SET_BINARY;
constexpr unsigned C_PATH = 1u << EP_CONFIG_SET_PATH;
constexpr unsigned C_PATH_EMPTY = 1u << EP_CONFIG_SET_PATH_EMPTY;
constexpr unsigned C_FD = 1u << EP_CONFIG_SET_FD;

// What a parser gets: the call, with the key split into its name and suffix.
struct Call {
    unsigned cmd;
    std::string_view suffix; // after "name.", empty for NONE keys
    const char *str;         // value as a string (SET_STRING, SET_PATH*), else nullptr
    const void *bin;         // value as a buffer (SET_BINARY)
    int aux;
};

using Parser = int (*)(const Call &, Record &, std::string &);

template <typename T> std::optional<T> parse_decimal(std::string_view s, T max) {
    T v{};
    if (s.empty() || s[0] == '+' || s[0] == '-')
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > max)
        return std::nullopt;
    return v;
}

std::optional<unsigned> parse_octal(std::string_view s, unsigned max) {
    unsigned v = 0;
    if (s.empty())
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
    if (ec != std::errc() || p != s.data() + s.size() || v > max)
        return std::nullopt;
    return v;
}

int invalid(std::string &msg, std::string text) {
    msg = std::move(text);
    return -EINVAL;
}

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

// The descriptor a key's N names, from the key's suffix.
int child_fd(const Call &c, std::string_view digits, Record &out, std::string &msg) {
    auto n = parse_decimal<int64_t>(digits, INT_MAX);
    if (!n)
        return invalid(msg,
                       "descriptor number " + quoted(digits) + " is not a number from 0 to " + std::to_string(INT_MAX));
    (void)c;
    out.a = *n;
    return 0;
}

// SET_PATH's aux: AT_FDCWD, or a descriptor sent along and used as dirfd.
void path_dirfd(const Call &c, Record &out) {
    if (c.cmd == EP_CONFIG_SET_PATH || c.cmd == EP_CONFIG_SET_PATH_EMPTY)
        if (c.aux != AT_FDCWD)
            out.caller_fd = c.aux;
}

void set_string(Record &out, const char *s) {
    out.payload.assign(s, std::strlen(s) + 1);
}

// A path or name that must not be empty: SET_STRING "" names nothing (SET_PATH "" is refused earlier,
// SET_PATH_EMPTY "" means the descriptor in aux).
int nonempty_path(const Call &c, std::string &msg) {
    if (c.str[0])
        return 0;
    if (c.cmd == EP_CONFIG_SET_PATH_EMPTY && c.aux != AT_FDCWD)
        return 0;
    return invalid(msg, c.cmd == EP_CONFIG_SET_PATH_EMPTY ? "an empty path needs a descriptor in aux, not AT_FDCWD"
                                                          : "the path is empty");
}

int parse_fd(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_FD_DUP;
    out.caller_fd = c.aux;
    return child_fd(c, c.suffix, out, msg);
}

// open.<N>[:<flags>[:<mode>]]: flags a comma list of names or a number, mode octal.
int parse_open_flags(std::string_view s, int64_t &flags, std::string &msg) {
    static constexpr struct {
        const char *name;
        int flag;
    } kFlags[] = {
        {"rdonly", O_RDONLY},   {"wronly", O_WRONLY},     {"rdwr", O_RDWR},           {"creat", O_CREAT},
        {"excl", O_EXCL},       {"trunc", O_TRUNC},       {"append", O_APPEND},       {"nonblock", O_NONBLOCK},
        {"noctty", O_NOCTTY},   {"nofollow", O_NOFOLLOW}, {"directory", O_DIRECTORY}, {"sync", O_SYNC},
        {"dsync", O_DSYNC},     {"cloexec", O_CLOEXEC},   {"path", O_PATH},           {"tmpfile", O_TMPFILE},
        {"noatime", O_NOATIME},
    };
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') {
        unsigned long v = 0;
        int base = 10;
        std::string_view digits = s;
        if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            base = 16;
            digits.remove_prefix(2);
        } else if (s.size() > 1 && s[0] == '0') {
            base = 8;
            digits.remove_prefix(1);
        }
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
        if (ec != std::errc() || p != digits.data() + digits.size() || v > INT_MAX)
            return invalid(msg, "open flags " + quoted(s) + " are not a number or a list of names");
        flags = static_cast<int64_t>(v);
        return 0;
    }
    flags = 0;
    while (!s.empty()) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        bool known = false;
        for (const auto &f : kFlags)
            if (item == f.name) {
                flags |= f.flag;
                known = true;
            }
        if (!known)
            return invalid(msg, "unknown open flag " + quoted(item) +
                                    " (rdonly, wronly, rdwr, creat, excl, trunc, append, nonblock, noctty, "
                                    "nofollow, directory, sync, dsync, cloexec, path, tmpfile, noatime)");
        if (comma == std::string_view::npos)
            break;
        s.remove_prefix(comma + 1);
        if (s.empty())
            return invalid(msg, "empty open flag after ','");
    }
    return 0;
}

int parse_open(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_OPEN;
    std::string_view rest = c.suffix;
    size_t colon = rest.find(':');
    if (int err = child_fd(c, rest.substr(0, colon), out, msg))
        return err;
    out.b = O_RDONLY;
    out.c = 0666;
    if (colon != std::string_view::npos) {
        rest.remove_prefix(colon + 1);
        size_t colon2 = rest.find(':');
        if (int err = parse_open_flags(rest.substr(0, colon2), out.b, msg))
            return err;
        if (colon2 != std::string_view::npos) {
            auto mode = parse_octal(rest.substr(colon2 + 1), 07777);
            if (!mode)
                return invalid(msg, "mode " + quoted(rest.substr(colon2 + 1)) + " is not an octal number <= 07777");
            out.c = static_cast<int32_t>(*mode);
        }
    }
    if (int err = nonempty_path(c, msg))
        return err;
    set_string(out, c.str);
    path_dirfd(c, out);
    return 0;
}

int parse_close(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CLOSE;
    return child_fd(c, c.suffix, out, msg);
}

int parse_closefrom(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CLOSEFROM;
    return child_fd(c, c.str, out, msg);
}

int parse_cwd(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CHDIR;
    if (c.cmd == EP_CONFIG_SET_FD) {
        set_string(out, "");
        out.caller_fd = c.aux;
        return 0;
    }
    if (int err = nonempty_path(c, msg))
        return err;
    set_string(out, c.str);
    path_dirfd(c, out);
    return 0;
}

int parse_root(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CHROOT;
    if (int err = nonempty_path(c, msg))
        return err;
    set_string(out, c.str);
    path_dirfd(c, out);
    return 0;
}

// "soft:hard", "value" (both), each a number or "unlimited"/"infinity".
int parse_rlimit(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_RLIMIT;
    auto res = rlimit_resource(c.suffix);
    if (!res)
        return invalid(msg, "unknown resource " + quoted(c.suffix) + " (" + rlimit_names() + ")");
    out.c = *res;
    auto limit = [](std::string_view s) -> std::optional<int64_t> {
        if (s == "unlimited" || s == "infinity")
            return -1;
        return parse_decimal<int64_t>(s, INT64_MAX);
    };
    std::string_view v = c.str;
    size_t colon = v.find(':');
    auto soft = limit(v.substr(0, colon));
    auto hard = colon == std::string_view::npos ? soft : limit(v.substr(colon + 1));
    if (!soft || !hard)
        return invalid(msg, "limit " + quoted(v) + " is not \"soft:hard\" (numbers or \"unlimited\")");
    if (*hard != -1 && (*soft == -1 || *soft > *hard))
        return invalid(msg, "soft limit " + quoted(v.substr(0, colon)) + " is above the hard limit");
    out.a = *soft;
    out.b = *hard;
    return 0;
}

// A uid or gid: a number, or a name looked up in the caller (the stub cannot use NSS).
template <bool IsUser> std::optional<uint32_t> lookup_id(std::string_view s) {
    if (auto n = parse_decimal<uint32_t>(s, 0xfffffffeu))
        return n;
    std::string name(s);
    for (size_t size = 16384; size <= (16u << 20); size *= 4) { // grow on ERANGE (huge groups)
        std::vector<char> buf(size);
        int err;
        if constexpr (IsUser) {
            struct passwd pw, *res = nullptr;
            err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
            if (err == 0 && res)
                return res->pw_uid;
        } else {
            struct group gr, *res = nullptr;
            err = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res);
            if (err == 0 && res)
                return res->gr_gid;
        }
        if (err != ERANGE)
            break;
    }
    return std::nullopt;
}

int parse_uid(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETUID;
    auto id = lookup_id<true>(c.str);
    if (!id)
        return invalid(msg, "no user " + quoted(c.str) + " (a number or a name from the user database)");
    out.a = *id;
    return 0;
}

int parse_gid(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETGID;
    auto id = lookup_id<false>(c.str);
    if (!id)
        return invalid(msg, "no group " + quoted(c.str) + " (a number or a name from the group database)");
    out.a = *id;
    return 0;
}

// The kernel takes 65536 (NGROUPS_MAX), but a record must fit one frame; 32768 always does.
constexpr size_t kGroupsMax = 32768;

int parse_groups(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETGROUPS;
    std::vector<uint32_t> gids;
    std::string_view list = c.str;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        auto id = lookup_id<false>(item);
        if (!id)
            return invalid(msg, "no group " + quoted(item));
        gids.push_back(*id);
        if (gids.size() > kGroupsMax)
            return invalid(msg, "more than " + std::to_string(kGroupsMax) + " groups");
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
        if (list.empty())
            return invalid(msg, "empty group name after ','");
    }
    out.a = static_cast<int64_t>(gids.size());
    out.payload.assign(reinterpret_cast<const char *>(gids.data()), gids.size() * sizeof(uint32_t));
    return 0;
}

// A signal set as a comma list of names, or a sigset_t (or the kernel's 8-byte set).
int signal_value(const Call &c, uint64_t &set, std::string &msg) {
    if (c.cmd == EP_CONFIG_SET_BINARY) {
        if (c.aux != static_cast<int>(sizeof(sigset_t)) && c.aux != 8)
            return invalid(msg, "a binary signal set is a sigset_t (" + std::to_string(sizeof(sigset_t)) +
                                    " bytes) or 8 bytes, not " + std::to_string(c.aux));
        std::memcpy(&set, c.bin, sizeof set);
        return 0;
    }
    std::string bad;
    auto s = signal_set(c.str, bad);
    if (!s)
        return invalid(msg, "unknown signal " + quoted(bad) + " (names like TERM or USR1, RTMIN+N, or 1-64)");
    set = *s;
    return 0;
}

int parse_sigmask(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SIGMASK;
    uint64_t set = 0;
    int err = signal_value(c, set, msg);
    out.a = static_cast<int64_t>(set);
    return err;
}

int disposition_value(const Call &c, Record &out, std::string &msg) {
    uint64_t set = 0;
    if (int err = signal_value(c, set, msg))
        return err;
    if (set & ((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1))))
        return invalid(msg, "the disposition of KILL and STOP cannot be changed");
    out.a = static_cast<int64_t>(set);
    return 0;
}

int parse_sigdefault(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SIGDEFAULT;
    return disposition_value(c, out, msg);
}

int parse_sigignore(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SIGIGNORE;
    return disposition_value(c, out, msg);
}

int parse_umask(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_UMASK;
    auto mode = parse_octal(c.str, 0777);
    if (!mode)
        return invalid(msg, "umask " + quoted(c.str) + " is not an octal number from 0 to 0777");
    out.a = *mode;
    return 0;
}

int parse_setsid(const Call &, Record &out, std::string &) {
    out.op = EP_OP_SETSID;
    return 0;
}

int parse_pgid(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETPGID;
    auto n = parse_decimal<int64_t>(c.str, INT_MAX);
    if (!n)
        return invalid(msg, "process group " + quoted(c.str) + " is not a number (0 = a new group)");
    out.a = *n;
    return 0;
}

int parse_argv(const Call &c, Record &out, std::string &) {
    out.op = EP_OP_ARGV;
    set_string(out, c.str);
    return 0;
}

int parse_env(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_ENV;
    std::string_view v = c.str;
    size_t eq = v.find('=');
    if (eq == std::string_view::npos || eq == 0)
        return invalid(msg, "environment entry " + quoted(v.substr(0, 64)) + " is not NAME=value");
    set_string(out, c.str);
    return 0;
}

int parse_exec(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_EXEC_TARGET;
    if (c.cmd != EP_CONFIG_SET_FD)
        if (int err = nonempty_path(c, msg))
            return err;
    switch (c.cmd) {
    case EP_CONFIG_SET_FD:
        out.c = EP_EXEC_FD;
        out.caller_fd = c.aux;
        set_string(out, "");
        return 0;
    case EP_CONFIG_SET_STRING:
        out.c = EP_EXEC_SEARCH;
        set_string(out, c.str);
        return 0;
    default: // SET_PATH, SET_PATH_EMPTY ("" = aux itself)
        out.c = c.str[0] ? EP_EXEC_PATH : EP_EXEC_FD;
        set_string(out, c.str);
        path_dirfd(c, out);
        return 0;
    }
}

// ---- posix_spawn keys -------------------------------------------------------------------------

// "POLICY[:PRIORITY]": the priority must lie in the policy's range (sched_get_priority_min/max).
int parse_sched(const Call &c, Record &out, std::string &msg) {
    static constexpr struct {
        const char *name;
        int policy;
    } kPolicies[] = {
        {"other", SCHED_OTHER}, {"fifo", SCHED_FIFO}, {"rr", SCHED_RR}, {"batch", SCHED_BATCH}, {"idle", SCHED_IDLE}};
    out.op = EP_OP_SCHED;
    std::string_view v = c.str;
    size_t colon = v.find(':');
    std::string_view name = v.substr(0, colon);
    int policy = -1;
    for (const auto &p : kPolicies)
        if (name == p.name)
            policy = p.policy;
    if (policy < 0)
        return invalid(msg, "unknown scheduling policy " + quoted(name) + " (other, fifo, rr, batch, idle)");
    int64_t prio = 0;
    if (colon != std::string_view::npos) {
        auto n = parse_decimal<int64_t>(v.substr(colon + 1), 99);
        if (!n)
            return invalid(msg, "priority " + quoted(v.substr(colon + 1)) + " is not a number from 0 to 99");
        prio = *n;
    }
    if (prio < sched_get_priority_min(policy) || prio > sched_get_priority_max(policy))
        return invalid(msg, "priority " + std::to_string(prio) + " is outside " + std::string(name) + "'s range " +
                                std::to_string(sched_get_priority_min(policy)) + ".." +
                                std::to_string(sched_get_priority_max(policy)));
    out.a = policy;
    out.b = prio;
    return 0;
}

int parse_schedparam(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SCHEDPARAM;
    auto n = parse_decimal<int64_t>(c.str, 99);
    if (!n)
        return invalid(msg, "priority " + quoted(c.str) + " is not a number from 0 to 99");
    out.a = *n;
    return 0;
}

int parse_tcsetpgrp(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_TCSETPGRP;
    return child_fd(c, c.str, out, msg);
}

// dup.<N> = "M": N from the suffix, M from the value; both are numbers in the child's table.
int parse_dup(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_DUP;
    if (int err = child_fd(c, c.str, out, msg))
        return err;
    out.b = out.a;
    return child_fd(c, c.suffix, out, msg);
}

int parse_fchdir(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_FCHDIR;
    return child_fd(c, c.str, out, msg);
}

int parse_resetids(const Call &, Record &out, std::string &) {
    out.op = EP_OP_RESETIDS;
    return 0;
}

int parse_execpath(const Call &c, Record &out, std::string &) {
    out.op = EP_OP_SEARCH_PATH;
    set_string(out, c.str);
    return 0;
}

// ---- sandbox and container keys (issue 7) ------------------------------------------------------------

int parse_unshare(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_UNSHARE;
    std::string bad;
    auto flags = namespace_flags(c.str, bad);
    if (!flags)
        return invalid(msg, "unknown namespace " + quoted(bad) + " (" + namespace_names() + ")");
    if (*flags & CLONE_NEWPID)
        return invalid(msg, "a new pid namespace is made at ep_open() (ep_open_how.namespaces = CLONE_NEWPID): "
                            "unshare(CLONE_NEWPID) would only move the program's children");
    out.a = static_cast<int64_t>(*flags);
    return 0;
}

// "IN OUT COUNT[,IN OUT COUNT...]" (newlines also separate) -> the kernel's "IN OUT COUNT\n" lines.
int parse_id_map(const Call &c, Record &out, std::string &msg, int which) {
    out.op = EP_OP_ID_MAP;
    out.c = which;
    std::string text;
    std::string_view v = c.str;
    size_t lines = 0;
    while (!v.empty()) {
        size_t end = v.find_first_of(",\n");
        std::string_view line = v.substr(0, end);
        uint32_t n[3];
        size_t got = 0;
        std::string_view rest = line;
        while (got < 3) {
            while (!rest.empty() && rest[0] == ' ')
                rest.remove_prefix(1);
            size_t sp = rest.find(' ');
            auto num = parse_decimal<uint32_t>(rest.substr(0, sp), 0xfffffffeu);
            if (!num)
                break;
            n[got++] = *num;
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
        }
        while (!rest.empty() && rest[0] == ' ')
            rest.remove_prefix(1);
        if (got != 3 || !rest.empty() || n[2] == 0)
            return invalid(msg, "map line " + quoted(line) + " is not \"INSIDE OUTSIDE COUNT\" (COUNT >= 1)");
        if (++lines > 340)
            return invalid(msg, "more than 340 map lines (the kernel's limit)");
        text += std::to_string(n[0]) + " " + std::to_string(n[1]) + " " + std::to_string(n[2]) + "\n";
        if (end == std::string_view::npos)
            break;
        v.remove_prefix(end + 1);
    }
    if (text.empty())
        return invalid(msg, "the map is empty");
    set_string(out, text.c_str());
    return 0;
}
int parse_uid_map(const Call &c, Record &out, std::string &msg) {
    return parse_id_map(c, out, msg, EP_ID_MAP_UID);
}
int parse_gid_map(const Call &c, Record &out, std::string &msg) {
    return parse_id_map(c, out, msg, EP_ID_MAP_GID);
}

int parse_setns(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETNS;
    int type = ioctl(c.aux, NS_GET_NSTYPE);
    if (type < 0)
        return invalid(msg, "fd " + std::to_string(c.aux) + " is not a namespace (/proc/<pid>/ns/<type>)");
    out.a = type;
    out.caller_fd = c.aux;
    return 0;
}

int parse_hostname(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SETHOSTNAME;
    size_t n = std::strlen(c.str);
    if (n == 0 || n > 64)
        return invalid(msg, "a host name is 1 to 64 bytes long");
    set_string(out, c.str);
    return 0;
}

int parse_cgroup(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CGROUP;
    if (c.cmd == EP_CONFIG_SET_FD) {
        set_string(out, "");
        out.caller_fd = c.aux;
        return 0;
    }
    if (int err = nonempty_path(c, msg))
        return err;
    set_string(out, c.str);
    path_dirfd(c, out);
    return 0;
}

int parse_no_new_privs(const Call &, Record &out, std::string &) {
    out.op = EP_OP_NO_NEW_PRIVS;
    return 0;
}

int parse_seccomp(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SECCOMP;
    if (c.aux % 8 != 0 || static_cast<unsigned>(c.aux) > EP_SECCOMP_INSNS_MAX * 8u)
        return invalid(msg, "a seccomp program is an array of struct sock_filter (8 bytes each, at most " +
                                std::to_string(EP_SECCOMP_INSNS_MAX) + "), not " + std::to_string(c.aux) + " bytes");
    out.payload.assign(static_cast<const char *>(c.bin), static_cast<size_t>(c.aux));
    return 0;
}

int parse_seccomp_deny(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_SECCOMP;
    std::vector<int> nrs;
    std::string_view list = c.str;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        auto nr = syscall_number(item);
        if (!nr)
            return invalid(msg, "unknown system call " + quoted(item) + " (a name like openat, or a number)");
        nrs.push_back(*nr);
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    if (nrs.empty() || nrs.size() > 1000)
        return invalid(msg, "expected 1 to 1000 system calls");
    auto prog = seccomp_deny_program(nrs);
    out.payload.assign(reinterpret_cast<const char *>(prog.data()), prog.size() * sizeof(prog[0]));
    return 0;
}

int parse_landlock(const Call &c, Record &out, std::string &) {
    out.op = EP_OP_LANDLOCK;
    out.caller_fd = c.aux;
    return 0;
}

int parse_caps(const Call &c, Record &out, std::string &msg, uint16_t op) {
    out.op = op;
    std::string bad;
    auto mask = capability_mask(c.str, bad);
    if (!mask)
        return invalid(msg, "unknown capability " + quoted(bad) + " (names like net_admin or CAP_SYS_ADMIN, 0-" +
                                std::to_string(cap_last_cap()) + ", or \"all\")");
    out.a = static_cast<int64_t>(*mask);
    return 0;
}
int parse_cap_drop(const Call &c, Record &out, std::string &msg) {
    return parse_caps(c, out, msg, EP_OP_CAP_DROP);
}
int parse_cap_ambient(const Call &c, Record &out, std::string &msg) {
    return parse_caps(c, out, msg, EP_OP_CAP_AMBIENT);
}

int parse_keep_caps(const Call &, Record &out, std::string &) {
    out.op = EP_OP_KEEP_CAPS;
    return 0;
}

int parse_pdeathsig(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_PDEATHSIG;
    auto sig = signal_number(c.str);
    if (!sig)
        return invalid(msg, "unknown signal " + quoted(c.str) + " (names like TERM or KILL, or 1-64)");
    out.a = *sig;
    return 0;
}

int parse_ctty(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CTTY;
    return child_fd(c, c.str, out, msg);
}

std::optional<int64_t> parse_signed(std::string_view s, int64_t lo, int64_t hi) {
    int64_t v = 0;
    if (s.empty() || s[0] == '+')
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
        return std::nullopt;
    return v;
}

int parse_nice(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_NICE;
    auto v = parse_signed(c.str, -20, 19);
    if (!v)
        return invalid(msg, "nice value " + quoted(c.str) + " is not a number from -20 to 19");
    out.a = *v;
    return 0;
}

// "0-3,6,8-9" -> a CPU mask in 8-byte words.
int parse_cpus(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_CPUS;
    constexpr unsigned kMax = EP_CPUS_BYTES_MAX * 8;
    std::vector<uint64_t> words;
    std::string_view list = c.str;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        size_t dash = item.find('-');
        auto lo = parse_decimal<unsigned>(item.substr(0, dash), kMax - 1);
        auto hi = dash == std::string_view::npos ? lo : parse_decimal<unsigned>(item.substr(dash + 1), kMax - 1);
        if (!lo || !hi || *hi < *lo)
            return invalid(msg,
                           "CPU range " + quoted(item) + " is not N or N-M (CPUs 0-" + std::to_string(kMax - 1) + ")");
        for (unsigned cpu = *lo; cpu <= *hi; cpu++) {
            if (words.size() <= cpu / 64)
                words.resize(cpu / 64 + 1);
            words[cpu / 64] |= 1ull << (cpu % 64);
        }
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    if (words.empty())
        return invalid(msg, "the CPU list is empty");
    out.payload.assign(reinterpret_cast<const char *>(words.data()), words.size() * 8);
    return 0;
}

int parse_oom_score_adj(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_OOM_SCORE_ADJ;
    auto v = parse_signed(c.str, -1000, 1000);
    if (!v)
        return invalid(msg, "oom_score_adj " + quoted(c.str) + " is not a number from -1000 to 1000");
    out.a = *v;
    set_string(out, std::to_string(*v).c_str());
    return 0;
}

// "rt:N" / "realtime:N", "be:N" / "best-effort:N" (N 0-7), "idle", "none"; or the raw number.
int parse_ioprio(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_IOPRIO;
    std::string_view v = c.str;
    size_t colon = v.find(':');
    std::string_view cls = v.substr(0, colon);
    int klass = -1;
    if (cls == "rt" || cls == "realtime")
        klass = IOPRIO_CLASS_RT;
    else if (cls == "be" || cls == "best-effort")
        klass = IOPRIO_CLASS_BE;
    else if (cls == "idle")
        klass = IOPRIO_CLASS_IDLE;
    else if (cls == "none")
        klass = IOPRIO_CLASS_NONE;
    unsigned level = 0;
    if (klass == IOPRIO_CLASS_RT || klass == IOPRIO_CLASS_BE) {
        auto l = colon == std::string_view::npos ? std::optional<unsigned>(4)
                                                 : parse_decimal<unsigned>(v.substr(colon + 1), 7);
        if (!l)
            return invalid(msg, "I/O priority level " + quoted(v.substr(colon + 1)) + " is not 0-7");
        level = *l;
    } else if (klass >= 0 && colon != std::string_view::npos) {
        return invalid(msg, "the " + std::string(cls) + " class takes no level");
    }
    if (klass < 0)
        return invalid(msg, "I/O priority " + quoted(v) + " is not rt:N, be:N, idle or none");
    out.a = IOPRIO_PRIO_VALUE(klass, level);
    return 0;
}

// A number (0x... allowed), or names joined by ',': linux, linux32, addr_no_randomize,
// read_implies_exec, addr_compat_layout, mmap_page_zero, short_inode, whole_seconds, sticky_timeouts,
// addr_limit_3gb, uname26.
int parse_personality(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_PERSONALITY;
    static constexpr struct {
        const char *name;
        unsigned long value;
    } kNames[] = {{"linux", PER_LINUX},
                  {"linux32", PER_LINUX32},
                  {"addr_no_randomize", ADDR_NO_RANDOMIZE},
                  {"read_implies_exec", READ_IMPLIES_EXEC},
                  {"addr_compat_layout", ADDR_COMPAT_LAYOUT},
                  {"mmap_page_zero", MMAP_PAGE_ZERO},
                  {"short_inode", SHORT_INODE},
                  {"whole_seconds", WHOLE_SECONDS},
                  {"sticky_timeouts", STICKY_TIMEOUTS},
                  {"addr_limit_3gb", ADDR_LIMIT_3GB},
                  {"uname26", UNAME26}};
    std::string_view v = c.str;
    unsigned long persona = 0;
    if (!v.empty() && v[0] >= '0' && v[0] <= '9') {
        int base = v.size() > 2 && v[1] == 'x' ? 16 : 10;
        std::string_view digits = base == 16 ? v.substr(2) : v;
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), persona, base);
        if (ec != std::errc() || p != digits.data() + digits.size() || persona > 0xffffffffu || persona == 0xffffffffu)
            return invalid(msg, "personality " + quoted(v) + " is not a number below 0xffffffff");
        out.a = static_cast<int64_t>(persona);
        return 0;
    }
    while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        bool known = false;
        for (const auto &n : kNames)
            if (item == n.name) {
                persona |= n.value;
                known = true;
            }
        if (!known)
            return invalid(msg, "unknown personality " + quoted(item) +
                                    " (linux, linux32, addr_no_randomize, read_implies_exec, addr_compat_layout, "
                                    "mmap_page_zero, short_inode, whole_seconds, sticky_timeouts, addr_limit_3gb, "
                                    "uname26, or a number)");
        if (comma == std::string_view::npos)
            break;
        v.remove_prefix(comma + 1);
    }
    out.a = static_cast<int64_t>(persona);
    return 0;
}

int parse_remount_ro(const Call &c, Record &out, std::string &msg) {
    out.op = EP_OP_REMOUNT_RO;
    if (int err = nonempty_path(c, msg))
        return err;
    set_string(out, c.str);
    path_dirfd(c, out);
    return 0;
}

enum Suffix { NONE, NUMBER, WORD };

struct Row {
    KeyInfo info;
    Suffix suffix;
    Parser parse;
};

const Row kKeys[] = {
#define EP_KEY(id, name, suffix, cmds, parser, summary)                                                                \
    {{name, suffix == NONE ? "" : (suffix == NUMBER ? ".<N>" : ".<resource>"), cmds, summary}, suffix, parser},
#include "keys.def"
#undef EP_KEY
};

const char *cmd_name(unsigned cmd) {
    static const char *const names[] = {"SET_FLAG",       "SET_STRING", "SET_BINARY", "SET_PATH",
                                        "SET_PATH_EMPTY", "SET_FD",     "CMD_EXEC"};
    return cmd < sizeof names / sizeof names[0] ? names[cmd] : "?";
}

std::string allowed_cmds(unsigned mask) {
    std::string s;
    for (unsigned cmd = 0; cmd <= EP_CONFIG_SET_FD; cmd++)
        if (mask & (1u << cmd))
            s += (s.empty() ? "" : ", ") + std::string(cmd_name(cmd));
    return s;
}

// fsconfig(2)'s argument rules for each command.
int check_arguments(unsigned cmd, const void *value, int aux, std::string &msg) {
    switch (cmd) {
    case EP_CONFIG_SET_FLAG:
        if (value || aux)
            return invalid(msg, "SET_FLAG takes no value and aux 0");
        return 0;
    case EP_CONFIG_SET_STRING:
        if (!value || aux)
            return invalid(msg, "SET_STRING takes a string value and aux 0");
        break;
    case EP_CONFIG_SET_BINARY:
        if (!value || aux <= 0 || aux > EP_VALUE_MAX)
            return invalid(msg,
                           "SET_BINARY takes a buffer and its length (1.." + std::to_string(EP_VALUE_MAX) + ") in aux");
        return 0;
    case EP_CONFIG_SET_PATH:
    case EP_CONFIG_SET_PATH_EMPTY:
        if (!value)
            return invalid(msg, std::string(cmd_name(cmd)) + " takes a path value");
        if (cmd == EP_CONFIG_SET_PATH && *static_cast<const char *>(value) == 0)
            return invalid(msg, "SET_PATH takes a non-empty path (SET_PATH_EMPTY allows \"\")");
        if (aux != AT_FDCWD && aux < 0)
            return invalid(msg, "aux " + std::to_string(aux) + " is neither AT_FDCWD nor a descriptor");
        break;
    case EP_CONFIG_SET_FD:
        if (value || aux < 0)
            return invalid(msg, "SET_FD takes no value and a descriptor in aux");
        return 0;
    }
    if (strnlen(static_cast<const char *>(value), EP_VALUE_MAX) == EP_VALUE_MAX)
        return invalid(msg, "value is longer than " + std::to_string(EP_VALUE_MAX - 1) + " bytes");
    return 0;
}

} // namespace

const KeyInfo *key_table(size_t *count) {
    static KeyInfo infos[sizeof kKeys / sizeof kKeys[0]];
    static const bool filled = [] {
        for (size_t i = 0; i < sizeof kKeys / sizeof kKeys[0]; i++)
            infos[i] = kKeys[i].info;
        return true;
    }();
    (void)filled;
    *count = sizeof kKeys / sizeof kKeys[0];
    return infos;
}

std::string errno_text(int err) {
    const char *name = strerrorname_np(err);
    return std::string(name ? name : "E?") + " (" + strerror(err) + ")";
}

int parse_config(unsigned cmd, const char *key, const void *value, int aux, Record &out, KeyId &id, std::string &msg) {
    if (cmd > EP_CONFIG_CMD_EXEC) {
        msg = "unknown command " + std::to_string(cmd);
        return -EOPNOTSUPP;
    }
    if (!key)
        return invalid(msg, std::string(cmd_name(cmd)) + " needs a key");
    size_t klen = strnlen(key, EP_KEY_MAX);
    if (klen == 0 || klen == EP_KEY_MAX)
        return invalid(msg, "the key must be 1 to " + std::to_string(EP_KEY_MAX - 1) + " bytes long");
    std::string_view k(key, klen);
    size_t dot = k.find('.');
    std::string_view base = k.substr(0, dot);
    std::string_view suffix = dot == std::string_view::npos ? std::string_view{} : k.substr(dot + 1);

    const Row *row = nullptr;
    for (const auto &r : kKeys)
        if (base == r.info.name)
            row = &r;
    if (!row)
        return invalid(msg, "unknown key");
    if ((row->suffix == NONE) != (dot == std::string_view::npos) || (row->suffix != NONE && suffix.empty()))
        return invalid(msg, row->suffix == NONE
                                ? "this key takes no suffix"
                                : "the key needs a suffix: " + std::string(row->info.name) + row->info.suffix);
    if (!(row->info.commands & (1u << cmd)))
        return invalid(msg,
                       std::string(cmd_name(cmd)) + " is not accepted (use " + allowed_cmds(row->info.commands) + ")");
    if (int err = check_arguments(cmd, value, aux, msg))
        return err;
    // Descriptors are checked now, so that a bad one is the caller's error, reported here.
    bool has_fd =
        cmd == EP_CONFIG_SET_FD || ((cmd == EP_CONFIG_SET_PATH || cmd == EP_CONFIG_SET_PATH_EMPTY) && aux != AT_FDCWD);
    if (has_fd && fcntl(aux, F_GETFD) < 0) {
        msg = "aux " + std::to_string(aux) + " is not an open file descriptor";
        return -EBADF;
    }

    Call c{cmd, suffix, nullptr, nullptr, aux};
    if (cmd == EP_CONFIG_SET_BINARY)
        c.bin = value;
    else
        c.str = static_cast<const char *>(value);
    out = Record{};
    id = static_cast<KeyId>(row - kKeys);
    return row->parse(c, out, msg);
}

} // namespace ep::detail
