// SPDX-License-Identifier: MIT
// plan.cpp - `emptyproc run` options -> the ep_config() calls, checked and in a safe order.
//
// The order does not follow the command line; it is fixed here, because the library applies ops in
// the order given and rejects orders that would fail or be unsafe (docs/semantics.md):
//   1. rlimits       before the uid change: raising a hard limit needs CAP_SYS_RESOURCE
//   2. chroot        before the uid change (CAP_SYS_CHROOT) and before cwd (chroot resets it to "/")
//   3. umask, sigmask, setsid or pgid
//   4. groups, gid, uid   setgroups and setgid need CAP_SETGID, which the uid change gives up
//   5. cwd           after the uid change, so that the program can only be put in a directory its
//                    user may enter (as su/runuser do), and after chroot, inside the new root
//   6. env, argv, exec    PROGRAM is searched in the PATH of the env given here
//   7. descriptors   --dup, --open, --open-write, then our stdio: last, so that a file is created or
//                    truncated only once the library has accepted every other op (a bad --uid must
//                    not truncate --open-write's file, even with --sync). We open the files
//                    ourselves, with our cwd, root, credentials and umask, exactly as a shell opens
//                    the redirections of a command, and hand them over as descriptors.
// A consequence of 7: a descriptor at or above a lowered --rlimit nofile cannot be installed (EBADF).
// The sandbox options (docs/semantics.md section 5) slot in around these:
//   1b. oom_score_adj, nice, cpus, ioprio, personality   while still privileged (before the uid)
//   1c. uid_map, gid_map, unshare (user first), hostname, remount_ro   namespaces before chroot
//       (a chrooted process cannot make a user namespace); --unshare pid and --cgroup are at birth
//   4.  cap_drop and keep_caps before groups/gid/uid; cap_ambient and pdeathsig after uid
//   8.  after the descriptors: ctty (names one of them), no_new_privs, landlock, seccomp (last).
//       A bad --seccomp-deny name is thus reported after --open-write created its file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <climits>
#include <map>
#include <string_view>

#include "emptyproc/emptyproc.h"
#include "emptyproc/emptyproc.hpp"
#include "run.hpp"

extern char **environ;

namespace ep::cli {
namespace {

std::string origin_of(const std::string &option, const std::string &value) {
    return option + " " + (value.empty() ? "''" : value);
}

// "LEFT=RIGHT" of an option such as --open N=PATH, both sides non-empty.
std::pair<std::string, std::string> split_assignment(const std::string &option, const std::string &value,
                                                     const char *form) {
    size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
        throw UsageError(origin_of(option, value) + ": expected " + form);
    return {value.substr(0, eq), value.substr(eq + 1)};
}

int parse_fd_number(const std::string &option, const std::string &value, std::string_view digits) {
    int n = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n < 0)
        throw UsageError(origin_of(option, value) + ": '" + std::string(digits) +
                         "' is not a descriptor number from 0 to " + std::to_string(INT_MAX));
    return n;
}

// Descriptors of the program, each configured once; which option configured it, for messages.
class FdPlan {
  public:
    explicit FdPlan(std::vector<Op> &ops) : ops_(ops) {}

    void dup(const std::string &value) {
        auto [n, m] = split_assignment("--dup", value, "N=M");
        int child = claim("--dup", value, n);
        int ours = parse_fd_number("--dup", value, m);
        if (fcntl(ours, F_GETFD) < 0)
            throw UsageError(origin_of("--dup", value) + ": descriptor " + m + " is not open");
        ops_.push_back({EP_CONFIG_SET_FD, "fd." + std::to_string(child), "", ours, 0, origin_of("--dup", value)});
    }

    void open(const std::string &option, const std::string &value, int flags) {
        auto [n, path] = split_assignment(option, value, "N=PATH");
        int child = claim(option, value, n);
        ops_.push_back({EP_CONFIG_SET_FD, "fd." + std::to_string(child), path, -1, flags, origin_of(option, value)});
    }

    // Our 0, 1, 2 become the program's, unless an option configured that descriptor already. A
    // closed one is skipped: the program starts with it closed too, as it would under a shell.
    void stdio() {
        for (int fd = 0; fd <= 2; fd++)
            if (!claimed_.count(fd) && fcntl(fd, F_GETFD) >= 0)
                ops_.push_back({EP_CONFIG_SET_FD, "fd." + std::to_string(fd), "", fd, 0, "(stdio)"});
    }

  private:
    int claim(const std::string &option, const std::string &value, const std::string &digits) {
        int child = parse_fd_number(option, value, digits);
        auto [it, fresh] = claimed_.emplace(child, origin_of(option, value));
        if (!fresh)
            throw UsageError(origin_of(option, value) + ": fd " + digits + " is already configured by " + it->second);
        return child;
    }

    std::vector<Op> &ops_;
    std::map<int, std::string> claimed_;
};

void plan_fds(const RunOptions &o, std::vector<Op> &ops) {
    FdPlan fds(ops);
    for (const std::string &v : o.dup)
        fds.dup(v);
    for (const std::string &v : o.open)
        fds.open("--open", v, O_RDONLY);
    for (const std::string &v : o.open_write)
        fds.open("--open-write", v, O_WRONLY | O_CREAT | O_TRUNC);
    if (!o.no_stdio)
        fds.stdio();
}

void plan_rlimits(const RunOptions &o, std::vector<Op> &ops) {
    for (const std::string &v : o.rlimit) {
        auto [name, limits] = split_assignment("--rlimit", v, "NAME=SOFT:HARD");
        ops.push_back({EP_CONFIG_SET_STRING, "rlimit." + name, limits, -1, 0, origin_of("--rlimit", v)});
    }
}

// A single-valued option that maps to one key; the library checks the value itself.
void plan_one(std::vector<Op> &ops, const std::optional<std::string> &value, const char *option, const char *key) {
    if (value)
        ops.push_back({EP_CONFIG_SET_STRING, key, *value, -1, 0, origin_of(option, *value)});
}

// A directory option: a path taken from the working directory the program has at that point.
void plan_directory(std::vector<Op> &ops, const std::optional<std::string> &dir, const char *option, const char *key) {
    if (!dir)
        return;
    if (dir->empty())
        throw UsageError(origin_of(option, *dir) + ": expected a directory");
    ops.push_back({EP_CONFIG_SET_PATH, key, *dir, -1, 0, origin_of(option, *dir)});
}

// NAME=value with a non-empty NAME: what the "env" key accepts.
bool is_assignment(std::string_view entry) {
    size_t eq = entry.find('=');
    return eq != std::string_view::npos && eq > 0;
}

bool has_name(const std::string &entry, std::string_view name) {
    return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 && entry[name.size()] == '=';
}

// Our environment (unless --clearenv) with each --env NAME=VALUE replacing every NAME=... in it.
std::vector<std::string> program_environment(const RunOptions &o) {
    std::vector<std::string> env;
    if (!o.clearenv)
        for (char **e = environ; *e; e++)
            if (is_assignment(*e)) // an entry without NAME= cannot be passed on: dropped
                env.emplace_back(*e);
    for (const std::string &v : o.env) {
        if (!is_assignment(v))
            throw UsageError(origin_of("--env", v) + ": expected NAME=VALUE");
        std::string_view name(v.data(), v.find('='));
        std::erase_if(env, [&](const std::string &entry) { return has_name(entry, name); });
        env.push_back(v);
    }
    return env;
}

void plan_exec(const RunOptions &o, std::vector<Op> &ops) {
    for (const std::string &entry : program_environment(o))
        ops.push_back({EP_CONFIG_SET_STRING, "env", entry, -1, 0, "(environment)"});
    const std::string &program = o.command.at(0);
    ops.push_back({EP_CONFIG_SET_STRING, "argv", o.argv0.value_or(program), -1, 0,
                   o.argv0 ? origin_of("--argv0", *o.argv0) : "PROGRAM"});
    for (size_t i = 1; i < o.command.size(); i++)
        ops.push_back({EP_CONFIG_SET_STRING, "argv", o.command[i], -1, 0, "ARGS"});
    // SET_STRING: a name without a slash is searched in the PATH of the environment above.
    ops.push_back({EP_CONFIG_SET_STRING, "exec", program, -1, 0, program});
}

void plan_flag(std::vector<Op> &ops, bool on, const char *option, const char *key) {
    if (on)
        ops.push_back({EP_CONFIG_SET_FLAG, key, "", -1, 0, option});
}

void plan_namespaces(const RunOptions &o, std::vector<Op> &ops) {
    plan_one(ops, o.uid_map, "--uid-map", "uid_map");
    plan_one(ops, o.gid_map, "--gid-map", "gid_map");
    if (o.unshare) {
        bool pid = false;
        std::string rest = unshare_without_pid(*o.unshare, pid);
        // user first, in its own unshare, so that the others are owned by it
        bool user = false;
        std::string others;
        for (size_t at = 0; at <= rest.size() && !rest.empty();) {
            size_t comma = rest.find(',', at);
            std::string item = rest.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
            if (item == "user")
                user = true;
            else
                others += (others.empty() ? "" : ",") + item;
            if (comma == std::string::npos)
                break;
            at = comma + 1;
        }
        if (user)
            ops.push_back({EP_CONFIG_SET_STRING, "unshare", "user", -1, 0, origin_of("--unshare", *o.unshare)});
        if (!others.empty())
            ops.push_back({EP_CONFIG_SET_STRING, "unshare", others, -1, 0, origin_of("--unshare", *o.unshare)});
    }
    plan_one(ops, o.hostname, "--hostname", "hostname");
    for (const std::string &p : o.remount_ro)
        ops.push_back({EP_CONFIG_SET_STRING, "remount_ro", p, -1, 0, origin_of("--remount-ro", p)});
}

// Landlock: a ruleset built here, handed over as a descriptor (kept open until we exit).
void plan_landlock(const RunOptions &o, std::vector<Op> &ops) {
    if (o.landlock_ro.empty() && o.landlock_rw.empty())
        return;
    int rs = ep::landlock_ruleset(o.landlock_ro, o.landlock_rw);
    if (rs < 0)
        throw UsageError(std::string("--landlock-ro/--landlock-rw: ") +
                         (errno == EOPNOTSUPP ? "Landlock is not available on this kernel" : std::strerror(errno)));
    ops.push_back({EP_CONFIG_SET_FD, "landlock", "", rs, 0, "--landlock-ro/--landlock-rw"});
}

} // namespace

std::string unshare_without_pid(const std::string &list, bool &pid) {
    std::string rest;
    pid = false;
    size_t at = 0;
    for (;;) {
        size_t comma = list.find(',', at);
        std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (item == "pid")
            pid = true;
        else
            rest += (rest.empty() ? "" : ",") + item;
        if (comma == std::string::npos)
            break;
        at = comma + 1;
    }
    return rest;
}

std::vector<Op> plan_ops(const RunOptions &o) {
    std::vector<Op> ops;
    plan_rlimits(o, ops);
    plan_one(ops, o.oom_score_adj, "--oom-score-adj", "oom_score_adj");
    plan_one(ops, o.nice, "--nice", "nice");
    plan_one(ops, o.cpus, "--cpus", "cpus");
    plan_one(ops, o.ioprio, "--ioprio", "ioprio");
    plan_one(ops, o.personality, "--personality", "personality");
    plan_namespaces(o, ops);
    plan_directory(ops, o.chroot, "--chroot", "root");
    plan_one(ops, o.umask, "--umask", "umask");
    plan_one(ops, o.sigmask, "--sigmask", "sigmask");
    if (o.setsid || o.ctty)
        ops.push_back({EP_CONFIG_SET_FLAG, "setsid", "", -1, 0, o.setsid ? "--setsid" : "--ctty"});
    plan_one(ops, o.pgid, "--pgid", "pgid");
    plan_one(ops, o.cap_drop, "--cap-drop", "cap_drop");
    // --cap-ambient with --uid needs the permitted set kept across the uid change
    plan_flag(ops, o.keep_caps || (o.cap_ambient && o.uid), "--keep-caps", "keep_caps");
    plan_one(ops, o.groups, "--groups", "groups");
    plan_one(ops, o.gid, "--gid", "gid");
    plan_one(ops, o.uid, "--uid", "uid");
    plan_one(ops, o.cap_ambient, "--cap-ambient", "cap_ambient");
    plan_one(ops, o.pdeathsig, "--pdeathsig", "pdeathsig");
    plan_directory(ops, o.cwd, "--cwd", "cwd");
    plan_exec(o, ops);
    plan_fds(o, ops);
    plan_one(ops, o.ctty, "--ctty", "ctty");
    plan_flag(ops, o.no_new_privs, "--no-new-privs", "no_new_privs");
    plan_landlock(o, ops);
    plan_one(ops, o.seccomp_deny, "--seccomp-deny", "seccomp_deny");
    return ops;
}

} // namespace ep::cli
