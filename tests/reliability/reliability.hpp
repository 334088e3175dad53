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

} // namespace ep_test
