// SPDX-License-Identifier: MIT
// run.cpp - the options of `emptyproc run` (CLI11) and its Runner: plan the ops, then launch.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "run.hpp"

namespace ep::cli {
namespace {

template <size_t N> std::vector<std::string> names_of(const Choice (&choices)[N]) {
    std::vector<std::string> names;
    for (const Choice &c : choices)
        names.emplace_back(c.name);
    return names;
}

// An option that takes exactly one value per occurrence and may be repeated: CLI11's vectors would
// otherwise swallow the following words (PROGRAM included) as more values.
CLI::Option *add_repeatable(CLI::App &sub, const std::string &name, std::vector<std::string> &into,
                            const std::string &help) {
    return sub.add_option(name, into, help)->allow_extra_args(false);
}

void add_stream_options(CLI::App &sub, RunOptions &o) {
    sub.add_option("--transport", o.transport, "how ops reach the stub: socketpair (default) or io_uring")
        ->check(CLI::IsMember(names_of(kTransports)));
    sub.add_option("--strategy", o.strategy,
                   "how the stub is created: clone_vm (default), fork, exec_stub, zygote, pool, safeexec; "
                   "pool:fork and pool:exec_stub are pools of fork or exec_stub stubs (pool is pool:clone_vm)")
        ->check(CLI::IsMember(names_of(kStrategies)));
    sub.add_flag("--sync", o.sync, "wait for the stub's verdict on each op (default: batched)");
    sub.add_flag("--trace", o.trace, "print each op and its verdict on stderr");
}

void add_fd_options(CLI::App &sub, RunOptions &o) {
    add_repeatable(sub, "--open", o.open,
                   "PATH, opened here read-only as a shell redirection is, becomes fd N (repeatable)")
        ->type_name("N=PATH");
    add_repeatable(sub, "--open-write", o.open_write,
                   "PATH, created or truncated here write-only (0666 & ~our umask), becomes fd N (repeatable)")
        ->type_name("N=PATH");
    add_repeatable(sub, "--dup", o.dup, "this command's fd M becomes fd N (repeatable)")->type_name("N=M");
    sub.add_flag("--no-stdio", o.no_stdio, "do not pass this command's fds 0, 1, 2 (passed by default)");
}

void add_process_options(CLI::App &sub, RunOptions &o) {
    sub.add_option("--cwd", o.cwd, "working directory (entered after the credential change)")->type_name("DIR");
    sub.add_option("--chroot", o.chroot, "change the root directory")->type_name("DIR");
    add_repeatable(sub, "--rlimit", o.rlimit, "resource limit, NAME as in prlimit(1), \"unlimited\" allowed")
        ->type_name("NAME=SOFT:HARD");
    sub.add_option("--uid", o.uid, "user id or name")->type_name("U");
    sub.add_option("--gid", o.gid, "group id or name")->type_name("G");
    sub.add_option("--groups", o.groups, "supplementary groups, comma list (\"\" = none)")->type_name("LIST");
    sub.add_option("--sigmask", o.sigmask, "blocked signals, comma list of names without SIG (USR1,TERM)")
        ->type_name("LIST");
    sub.add_option("--umask", o.umask, "file mode creation mask")->type_name("OCTAL");
    CLI::Option *setsid = sub.add_flag("--setsid", o.setsid, "start a new session");
    sub.add_option("--pgid", o.pgid, "join process group N (0 = a new group of its own)")
        ->type_name("N")
        ->excludes(setsid);
}

void add_sandbox_options(CLI::App &sub, RunOptions &o) {
    sub.add_option("--unshare", o.unshare,
                   "new namespaces: user,mnt,pid,net,uts,ipc,cgroup,time (pid: the program is pid 1)")
        ->type_name("LIST");
    sub.add_option("--uid-map", o.uid_map, "uid map of the new user namespace, lines separated by ','")
        ->type_name("\"IN OUT COUNT\"");
    sub.add_option("--gid-map", o.gid_map, "gid map of the new user namespace (setgroups denied if needed)")
        ->type_name("\"IN OUT COUNT\"");
    sub.add_option("--hostname", o.hostname, "host name (needs --unshare uts)")->type_name("NAME");
    add_repeatable(sub, "--remount-ro", o.remount_ro, "make the mount at PATH read-only (needs --unshare mnt)")
        ->type_name("PATH");
    sub.add_option("--cgroup", o.cgroup, "cgroup v2 directory the program is born in (CLONE_INTO_CGROUP)")
        ->type_name("DIR");
    sub.add_flag("--no-new-privs", o.no_new_privs, "set no_new_privs");
    sub.add_option("--seccomp-deny", o.seccomp_deny, "these system calls fail with EPERM (seccomp filter)")
        ->type_name("LIST");
    add_repeatable(sub, "--landlock-ro", o.landlock_ro, "Landlock: read and execute beneath PATH (repeatable)")
        ->type_name("PATH");
    add_repeatable(sub, "--landlock-rw", o.landlock_rw, "Landlock: read and write beneath PATH (repeatable)")
        ->type_name("PATH");
    sub.add_option("--cap-drop", o.cap_drop, "drop capabilities (bounding, inheritable; so P and E at exec)")
        ->type_name("LIST|all");
    sub.add_option("--cap-ambient", o.cap_ambient, "ambient capabilities, kept across --uid")->type_name("LIST");
    sub.add_flag("--keep-caps", o.keep_caps, "keep the permitted set across --uid");
    sub.add_option("--pdeathsig", o.pdeathsig, "signal the program gets when this command dies")->type_name("SIG");
    sub.add_option("--ctty", o.ctty, "make the program's fd N its controlling terminal (implies --setsid)")
        ->type_name("N");
    sub.add_option("--nice", o.nice, "nice value")->type_name("N");
    sub.add_option("--cpus", o.cpus, "CPU affinity")->type_name("LIST");
    sub.add_option("--oom-score-adj", o.oom_score_adj, "oom_score_adj")->type_name("N");
    sub.add_option("--ioprio", o.ioprio, "I/O priority: rt:N, be:N, idle")->type_name("CLASS[:N]");
    sub.add_option("--personality", o.personality, "execution domain (addr_no_randomize, linux32, ...)")
        ->type_name("LIST");
}

void add_exec_options(CLI::App &sub, RunOptions &o) {
    add_repeatable(sub, "--env", o.env, "set NAME in the environment (repeatable)")->type_name("NAME=VALUE");
    sub.add_flag("--clearenv", o.clearenv, "start from an empty environment (default: this command's)");
    sub.add_option("--argv0", o.argv0, "argv[0] of the program (default: PROGRAM)")->type_name("NAME");
    sub.add_option("PROGRAM", o.command,
                   "the program, then its ARGS: searched in the PATH of its environment when it has no slash, "
                   "a relative path is taken from --cwd")
        ->required();
    // The first word that is not an option starts PROGRAM [ARGS...], "--" or not: the program's own
    // options must never be taken as ours.
    sub.positionals_at_end();
}

} // namespace

Runner setup_run(CLI::App &sub) {
    auto o = std::make_shared<RunOptions>();
    add_stream_options(sub, *o);
    add_fd_options(sub, *o);
    add_process_options(sub, *o);
    add_sandbox_options(sub, *o);
    add_exec_options(sub, *o);
    sub.footer("Exit status: the program's own; 128+N if signal N killed it; 127 if it was not found; 126 if it "
               "could not be executed; 125 if another op failed; 2 for a bad command line.");
    return [o]() {
        std::vector<Op> ops;
        try {
            ops = plan_ops(*o);
        } catch (const UsageError &e) {
            std::fprintf(stderr, "emptyproc run: %s\n", e.what());
            return kExitUsage;
        }
        return launch(*o, ops);
    };
}

} // namespace ep::cli
