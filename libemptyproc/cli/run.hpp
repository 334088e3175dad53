// SPDX-License-Identifier: MIT
// run.hpp - `emptyproc run`: the options, the plan of ep_config() calls they make, and the launch.
//
//   run.cpp     the CLI11 options and the subcommand's Runner
//   plan.cpp    options -> ops, validated and put in a safe order
//   launch.cpp  ops -> ep_open/ep_config/CMD_EXEC, --trace, waiting, exit statuses
#ifndef EMPTYPROC_CLI_RUN_HPP
#define EMPTYPROC_CLI_RUN_HPP

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "emptyproc/emptyproc.h"

namespace ep::cli {

// A value of an ep_open_how field, by the name --transport or --strategy gives it.
struct Choice {
    const char *name;
    unsigned value;
};

// Every transport and strategy the C ABI names, available in this build or not: an unavailable one
// fails at ep_open() with the library's own reason (exit 125), a misspelt one is a usage error (2).
inline constexpr Choice kTransports[] = {{"socketpair", EP_TRANSPORT_SOCKETPAIR}, {"io_uring", EP_TRANSPORT_IO_URING}};
inline constexpr Choice kStrategies[] = {{"clone_vm", EP_STRATEGY_CLONE_VM},
                                         {"fork", EP_STRATEGY_FORK},
                                         {"exec_stub", EP_STRATEGY_EXEC_STUB},
                                         {"zygote", EP_STRATEGY_ZYGOTE},
                                         {"pool", EP_STRATEGY_POOL},
                                         {"safeexec", EP_STRATEGY_SAFEEXEC},
                                         // a pool names its base after a colon; "pool" is "pool:clone_vm"
                                         {"pool:clone_vm", EP_STRATEGY_POOL_OF(EP_STRATEGY_CLONE_VM)},
                                         {"pool:fork", EP_STRATEGY_POOL_OF(EP_STRATEGY_FORK)},
                                         {"pool:exec_stub", EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB)}};

// The options of `emptyproc run` as given on the command line, not yet checked.
struct RunOptions {
    std::string transport = "socketpair";
    std::string strategy = "clone_vm";
    bool sync = false;
    bool trace = false;
    std::vector<std::string> open;       // N=PATH
    std::vector<std::string> open_write; // N=PATH
    std::vector<std::string> dup;        // N=M
    bool no_stdio = false;
    std::optional<std::string> cwd;
    std::optional<std::string> chroot;
    std::vector<std::string> rlimit; // NAME=SOFT:HARD
    std::optional<std::string> uid;
    std::optional<std::string> gid;
    std::optional<std::string> groups;
    std::optional<std::string> sigmask;
    std::optional<std::string> umask;
    bool setsid = false;
    std::optional<std::string> pgid;
    std::vector<std::string> env; // NAME=VALUE
    bool clearenv = false;
    std::optional<std::string> argv0;
    std::vector<std::string> command; // PROGRAM [ARGS...]
    // sandbox and container options (docs/keys.md)
    std::optional<std::string> unshare; // "pid" is made at birth (ep_open_how.namespaces)
    std::optional<std::string> uid_map;
    std::optional<std::string> gid_map;
    std::optional<std::string> hostname;
    std::vector<std::string> remount_ro;
    std::optional<std::string> cgroup; // at birth: CLONE_INTO_CGROUP
    bool no_new_privs = false;
    std::optional<std::string> seccomp_deny;
    std::vector<std::string> landlock_ro;
    std::vector<std::string> landlock_rw;
    std::optional<std::string> cap_drop;
    std::optional<std::string> cap_ambient;
    bool keep_caps = false;
    std::optional<std::string> pdeathsig;
    std::optional<std::string> ctty; // implies --setsid
    std::optional<std::string> nice;
    std::optional<std::string> cpus;
    std::optional<std::string> oom_score_adj;
    std::optional<std::string> ioprio;
    std::optional<std::string> personality;
};

// --unshare's list without "pid", and whether it had "pid" (made at birth by ep_open()).
std::string unshare_without_pid(const std::string &list, bool &pid);

// One ep_config() call of the plan.
struct Op {
    unsigned cmd;       // EP_CONFIG_SET_*
    std::string key;    // as the library names it in its log ("cwd", "fd.1", "rlimit.nofile", ...)
    std::string value;  // SET_STRING / SET_PATH value; for a file to open, its path
    int fd = -1;        // SET_FD: the CLI's own descriptor, or -1 for a file to open
    int open_flags = 0; // SET_FD of a file the CLI opens (value) just before the call
    std::string origin; // the option that asked for this op ("--cwd /tmp"), for messages

    bool opens_file() const { return cmd == EP_CONFIG_SET_FD && fd < 0; }
};

// A command line the CLI refuses before starting anything: exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The ep_config() calls for `o`, in an order the library accepts and that is safe whatever the order
// of the options on the command line. Throws UsageError for a malformed option.
std::vector<Op> plan_ops(const RunOptions &o);

// Starts the program as planned and waits for it; returns the exit status of `emptyproc run`.
int launch(const RunOptions &o, const std::vector<Op> &ops);

} // namespace ep::cli

#endif
