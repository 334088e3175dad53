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
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <map>
#include <string_view>

#include "emptyproc/emptyproc.h"
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

} // namespace

std::vector<Op> plan_ops(const RunOptions &o) {
    std::vector<Op> ops;
    plan_rlimits(o, ops);
    plan_directory(ops, o.chroot, "--chroot", "root");
    plan_one(ops, o.umask, "--umask", "umask");
    plan_one(ops, o.sigmask, "--sigmask", "sigmask");
    if (o.setsid)
        ops.push_back({EP_CONFIG_SET_FLAG, "setsid", "", -1, 0, "--setsid"});
    plan_one(ops, o.pgid, "--pgid", "pgid");
    plan_one(ops, o.groups, "--groups", "groups");
    plan_one(ops, o.gid, "--gid", "gid");
    plan_one(ops, o.uid, "--uid", "uid");
    plan_directory(ops, o.cwd, "--cwd", "cwd");
    plan_exec(o, ops);
    plan_fds(o, ops);
    return ops;
}

} // namespace ep::cli
