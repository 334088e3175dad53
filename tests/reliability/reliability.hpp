// SPDX-License-Identifier: MIT
// reliability.hpp - helpers of the reliability suites: a seeded random source whose seed is printed,
// this process as the reaper of orphans, a /proc scan for stubs, and a bounded reap of every child.
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

namespace ep_test {

// EP_TEST_SEED=<n> replays a run; otherwise the seed comes from the clock. Either way it is printed.
inline uint64_t test_seed(const char *what) {
    uint64_t seed;
    if (const char *s = std::getenv("EP_TEST_SEED"))
        seed = std::strtoull(s, nullptr, 10);
    else
        seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::printf("%s: seed %llu (replay with EP_TEST_SEED=%llu)\n", what, static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(seed));
    ::testing::Test::RecordProperty("seed", std::to_string(seed));
    return seed;
}

// This process adopts the orphans of its descendants for the scope: a stub whose caller died is
// reparented here, where its end can be seen and reaped.
class Subreaper {
  public:
    Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

// Processes named "ep-stub" whose parent is one of `parents` (a zombie is no survivor: it is dead).
inline std::vector<ProcEntry> live_stubs_of(const std::vector<pid_t> &parents) {
    std::vector<ProcEntry> stubs;
    for (const auto &p : all_processes())
        if (p.comm == "ep-stub" && p.state != 'Z')
            for (pid_t parent : parents)
                if (p.ppid == parent)
                    stubs.push_back(p);
    return stubs;
}

inline std::string describe(const std::vector<ProcEntry> &ps) {
    std::string s;
    for (const auto &p : ps)
        s += std::to_string(p.pid) + " (" + p.comm + ") ppid " + std::to_string(p.ppid) + " " + p.state + "; ";
    return s;
}

// Reap every child until none is left or timeout_ms passed. Each reaped child's end is appended to
// `ends` (and its pid to `pids`, if given). Returns true if none is left; on a timeout the survivors
// are SIGKILLed and reaped.
inline bool reap_all_children(int timeout_ms, std::vector<Exit> &ends, std::string &survivors,
                              std::vector<pid_t> *pids = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        siginfo_t info{};
        int r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WALL);
        if (r < 0 && errno == ECHILD)
            return true;
        if (r == 0 && info.si_pid != 0) {
            ends.push_back(Exit{info.si_code, info.si_status});
            if (pids)
                pids->push_back(info.si_pid);
            continue;
        }
        if (std::chrono::steady_clock::now() > deadline)
            break;
        std::this_thread::sleep_for(std::chrono::microseconds(200)); // polling a bounded wait, not timing
    }
    for (const auto &p : all_processes())
        if (p.ppid == getpid()) {
            survivors += std::to_string(p.pid) + " (" + p.comm + ") " + p.state + "; ";
            kill(p.pid, SIGKILL);
        }
    while (waitpid(-1, nullptr, __WALL) > 0 || errno == EINTR) {
    }
    return false;
}

// The four kinds of spawn the fault suites cycle through (faults_test.cpp, stub_faults_test.cpp).
struct Step {
    const char *name;
    Rc rc;
};

constexpr int kKinds = 4;
constexpr const char *kKindNames[kKinds] = {"success", "failing op", "aborted stream", "exec failure"};

// One spawn of kind k on e: its calls until the first that fails, the handle's log after them, and
// `what`, a line naming the kind, the last call and the log for failure messages. fd.1 is out_w;
// fd.5 is opath, an O_PATH directory, which io_uring's fixed-file table refuses, so that transport
// receives it by SCM_RIGHTS (its one recvmsg of the stream). Kind 1 sets a missing cwd, kind 3 execs
// a missing file, kind 2 stops before CMD_EXEC (an aborted stream).
struct KindRun {
    std::vector<Step> steps;
    std::vector<std::string> log;
    std::string what;
};

inline KindRun run_kind(Empty &e, int k, bool sync, int out_w, int opath, const std::string &word,
                        const std::string &missing) {
    KindRun r;
    auto step = [&](const char *name, Rc rc) {
        r.steps.push_back({name, rc});
        return rc == ok();
    };
    bool go = step("fd.1", e.pass("fd.1", out_w)) && step("fd.5", e.pass("fd.5", opath));
    if (go && k == 1)
        go = step("cwd", e.path("cwd", missing));
    go = go && step("argv", e.str("argv", "probe")) && step("argv", e.str("argv", "write")) &&
         step("argv", e.str("argv", "1")) && step("argv", e.str("argv", word)) && step("argv", e.str("argv", "print"));
    if (go)
        go = step("exec key", k == 3 ? e.path("exec", missing) : e.path("exec", kProbe));
    if (go && k != 2)
        step("CMD_EXEC", e.exec());
    r.log = e.log();
    const Step &last = r.steps.back();
    r.what = std::string(kKindNames[k]) + (sync ? " sync" : " batched") + ": " + last.name + " " +
             std::to_string(last.rc.rc) + " " + (last.rc.rc < 0 ? errno_name(last.rc.err) : "") +
             ", log: " + joined(r.log);
    return r;
}

} // namespace ep_test
