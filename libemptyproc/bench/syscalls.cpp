// SPDX-License-Identifier: MIT
// syscalls.cpp - counting system calls per spawn with strace (syscalls.hpp).
//
// How: fork a copy of the bench (with the caller's memory and descriptors of the current cell), let
// strace attach to it (`strace -f -p`), then the copy spawns: one warm-up, then N spawns each between
// two marker calls, close(-7771) and close(-7772), which fail with EBADF and do nothing else. The
// output names every call with the pid (thread id) that made it; the ones between the markers are
// counted, the caller's (every thread of it) apart from its children's, and a child's only until
// its execve succeeded. Prepared processes (the pool's stubs, the zygote) count where their calls
// happen: inside a window, or not at all (docs/benchmarks.md).
#include "syscalls.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

extern char **environ;

namespace ep::bench {
namespace {

constexpr int kBegin = -7771, kEnd = -7772;

std::string read_all(const std::string &path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The pid of the tracer of `pid`, 0 if none, -1 if it is gone.
int tracer_of(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("TracerPid:", 0) == 0)
            return std::atoi(line.c_str() + 10);
    return -1;
}

// The traced copy: wait for the go byte, spawn, exit. Never returns.
[[noreturn]] void traced_child(const Method &m, const Target &t, int ops, int spawns, int go) {
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); // Yama: strace is our sibling, not our ancestor
    char byte;
    while (read(go, &byte, 1) < 0 && errno == EINTR) {
    }
    int status = 0;
    try {
        SpawnContext ctx(t, ops);
        Sample s;
        for (int i = 0; i <= spawns && status == 0; i++) {
            if (m.prepare && m.prepare(m, ctx) < 0)
                status = 2;
            if (i > 0) // the first spawn warms caches up and is not counted
                syscall(SYS_close, kBegin);
            if (status == 0 && m.spawn_and_reap(m, ctx, s) < 0)
                status = 3;
            if (i > 0)
                syscall(SYS_close, kEnd);
        }
    } catch (...) {
        status = 4;
    }
    _exit(status);
}

// Whether a call (or a "<... " resumed line without that prefix) is an exec: execve or execveat.
bool is_exec(const std::string &call) {
    return call.rfind("execve(", 0) == 0 || call.rfind("execveat(", 0) == 0 || call.rfind("execve resumed>", 0) == 0 ||
           call.rfind("execveat resumed>", 0) == 0;
}

// Whether the call is execve(path, ...) or execveat(dirfd, path, ...) with exactly this quoted path
// (argv may hold the same string: only the path argument counts).
bool execs_path(const std::string &call, const std::string &quoted) {
    if (call.rfind("execve(" + quoted + ",", 0) == 0)
        return true;
    if (call.rfind("execveat(", 0) != 0)
        return false;
    size_t comma = call.find(", ");
    return comma != std::string::npos && call.compare(comma + 2, quoted.size() + 1, quoted + ",") == 0;
}

// Whether `rest` (a line without its pid) is the marker call close(n), whole or its first half
// (strace splits a call in two, "<unfinished ...>" then "<... close resumed>", when another thread or
// process makes a call meanwhile: with the pool's refill thread running, it often does).
bool is_marker(const std::string &rest, int n) {
    const std::string call = "close(" + std::to_string(n);
    return rest.rfind(call + ")", 0) == 0 || rest.rfind(call + " <unfinished ...>", 0) == 0;
}

// The return value at the end of a line ("... = 1234"), or -1.
int result_of(const std::string &line) {
    size_t eq = line.rfind(" = ");
    return eq == std::string::npos ? -1 : std::atoi(line.c_str() + eq + 3);
}

// The caller's threads: its pid and every thread that it, or a thread of it, made with CLONE_THREAD
// (the library's own: the zygote's keeper, the pool's refill thread). Their calls are the caller's.
std::set<int> caller_threads(const std::string &text, int caller_pid) {
    std::set<int> threads{caller_pid};
    std::set<int> pending; // a thread's clone, <unfinished ...>: the new id comes with its second half
    std::stringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        size_t space = line.find(' ');
        if (space == std::string::npos)
            continue;
        int pid = std::atoi(line.c_str());
        if (!threads.count(pid))
            continue;
        std::string rest = line.substr(line.find_first_not_of(' ', space));
        bool clone = rest.rfind("clone(", 0) == 0 || rest.rfind("clone3(", 0) == 0;
        if (clone && rest.find("CLONE_THREAD") != std::string::npos) {
            if (rest.find("<unfinished ...>") != std::string::npos)
                pending.insert(pid);
            else if (result_of(rest) > 0)
                threads.insert(result_of(rest));
        } else if (pending.count(pid) &&
                   (rest.rfind("<... clone resumed>", 0) == 0 || rest.rfind("<... clone3 resumed>", 0) == 0)) {
            pending.erase(pid);
            if (result_of(rest) > 0)
                threads.insert(result_of(rest));
        }
    }
    return threads;
}

} // namespace

std::string find_strace(std::string &why) {
    const char *path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/strace";
        if (access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    why = "strace is not installed (Debian: apt-get install strace)";
    return "";
}

int parse_strace_output(const std::string &text, int caller_pid, const std::string &target, long &caller, long &child) {
    caller = child = 0;
    int windows = 0;
    bool inside = false;
    const std::string quoted = "\"" + target + "\"";
    std::map<int, bool> execd;          // children whose exec of the target succeeded: it runs now
    std::map<int, bool> pending_target; // an exec of the target, <unfinished ...>
    const std::set<int> threads = caller_threads(text, caller_pid);
    std::stringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        size_t space = line.find(' ');
        if (space == std::string::npos)
            continue;
        int pid = std::atoi(line.c_str());
        std::string rest = line.substr(line.find_first_not_of(' ', space));
        if (rest.rfind("---", 0) == 0 || rest.rfind("+++", 0) == 0)
            continue; // a signal or an exit, not a call
        bool ok = line.size() >= 4 && line.compare(line.size() - 4, 4, " = 0") == 0;
        if (rest.rfind("<... ", 0) == 0) { // the second half of a call counted at its first half
            if (inside && !threads.count(pid) && is_exec(rest.substr(5)) && ok && pending_target[pid])
                execd[pid] = true;
            pending_target[pid] = false;
            continue;
        }
        if (pid == caller_pid && is_marker(rest, kBegin)) {
            inside = true;
            continue;
        }
        if (pid == caller_pid && is_marker(rest, kEnd)) {
            inside = false;
            windows++;
            continue;
        }
        if (!inside)
            continue;
        if (threads.count(pid)) {
            caller++;
        } else if (!execd[pid]) {
            child++;
            // An exec of the target ends the child's part. Another exec (a one-shot helper exec'd from a
            // memfd, which then execs the target) does not: the helper is still the spawn's work.
            if (execs_path(rest, quoted)) {
                if (ok)
                    execd[pid] = true;
                else if (rest.find("<unfinished ...>") != std::string::npos)
                    pending_target[pid] = true;
            }
        }
    }
    return windows;
}

int count_syscalls(const std::string &strace, const Method &m, const Target &t, int ops, int spawns, SyscallCount &out,
                   std::string &error) {
    char out_path[] = "/tmp/ep-bench-strace-XXXXXX";
    int out_fd = mkstemp(out_path);
    if (out_fd < 0) {
        error = std::string("mkstemp: ") + std::strerror(errno);
        return -errno;
    }
    close(out_fd);
    std::string err_path = std::string(out_path) + ".err";
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        int err = errno;
        unlink(out_path);
        error = std::string("pipe2: ") + std::strerror(err);
        return -err;
    }
    std::fflush(nullptr);
    pid_t traced = fork();
    if (traced == 0) {
        close(go[1]);
        traced_child(m, t, ops, spawns, go[0]);
    }
    close(go[0]);
    if (traced < 0) {
        int err = errno;
        close(go[1]);
        unlink(out_path);
        error = std::string("fork: ") + std::strerror(err);
        return -err;
    }
    std::string pid_text = std::to_string(traced);
    const char *argv[] = {strace.c_str(),   "-f",   "-qq", "-e", "signal=none", "-o", out_path, "-p",
                          pid_text.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t tracer = -1;
    int err = posix_spawn(&tracer, strace.c_str(), &fa, nullptr, const_cast<char *const *>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    // Wait (bounded) until strace is attached, or gone.
    bool attached = false;
    if (err == 0)
        for (int i = 0; i < 5000 && !attached; i++) {
            attached = tracer_of(traced) > 0;
            if (!attached) {
                if (waitpid(tracer, nullptr, WNOHANG) == tracer) {
                    tracer = -1;
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
    if (!attached) // the copy then exits without spawning: no go byte, EOF
        kill(traced, SIGKILL);
    else if (write(go[1], "g", 1) != 1)
        kill(traced, SIGKILL);
    close(go[1]);
    int status = 0;
    while (waitpid(traced, &status, 0) < 0 && errno == EINTR) {
    }
    if (tracer > 0)
        while (waitpid(tracer, nullptr, 0) < 0 && errno == EINTR) {
        }
    std::string text = read_all(out_path), strace_err = read_all(err_path);
    unlink(out_path);
    unlink(err_path.c_str());
    if (err != 0) {
        error = "cannot run " + strace + ": " + std::strerror(err);
        return -err;
    }
    if (!attached) {
        error = "strace could not attach" + (strace_err.empty() ? std::string() : ": " + strace_err);
        while (!error.empty() && error.back() == '\n')
            error.pop_back();
        return -EPERM;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error = "the traced spawns failed (status " + std::to_string(status) + ")";
        return -ECHILD;
    }
    long caller = 0, child = 0;
    int windows = parse_strace_output(text, traced, t.path, caller, child);
    if (windows != spawns) {
        error = "strace output has " + std::to_string(windows) + " of " + std::to_string(spawns) + " spawns";
        return -EPROTO;
    }
    out.caller = double(caller) / spawns;
    out.child = double(child) / spawns;
    return 0;
}

} // namespace ep::bench
