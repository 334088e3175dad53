// SPDX-License-Identifier: MIT
// stress_test.cpp - four threads spawning at once, mixing every way a stream can end, in both modes:
// every outcome must be the right one, and afterwards the caller must be exactly as it was (same
// descriptors, flat memory, no child of any kind, no ep-stub left).
#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"

using namespace ep_test;

namespace {

// How a stream ends. Every kind runs in both modes: a sync stream reports a failing op at the op, a
// batched one at CMD_EXEC, and in batched mode the stub dies with the failure.
enum Kind { kSuccess, kFailingOp, kAborted, kExecFails, kKinds };
constexpr const char *kKindNames[kKinds] = {"success", "failing op", "aborted stream", "exec failure"};

constexpr int kThreads = 4;
constexpr int kPerThread = 2500; // 10000 spawns: about 2 s, in RelWithDebInfo and under ASan alike

Matrix mode(bool sync) {
    return Matrix{kTransports[0], kStrategies[0], sync};
}

long vm_rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

size_t mapping_count() {
    std::ifstream f("/proc/self/maps");
    std::string line;
    size_t n = 0;
    while (std::getline(f, line))
        n++;
    return n;
}

// Processes whose parent is us, as "pid (comm)".
std::vector<std::string> our_children() {
    auto all = all_processes();
    if (all.empty())
        return {"<cannot read /proc>"}; // at least this process is there
    std::vector<std::string> found;
    for (const auto &p : all)
        if (p.ppid == getpid())
            found.push_back(std::to_string(p.pid) + " (" + p.comm + ")");
    return found;
}

// Spawn i of thread t: kinds and modes rotate, the threads shifted against each other so that
// different kinds overlap in time.
struct Slot {
    Kind kind;
    bool sync;
};
Slot schedule(int t, int i) {
    const int slot = i + t;
    return Slot{static_cast<Kind>(slot % kKinds), (slot / kKinds) % 2 == 1};
}

class Stress {
  public:
    explicit Stress(const TempDir &tmp) : missing_(tmp / "missing") {}

    // One spawn of the given kind; returns "" if its outcome was right, else what was wrong.
    std::string spawn(Kind kind, bool sync, const std::string &word) {
        Spawn s(mode(sync));
        if (!s.opened())
            return "ep_open: " + errno_name(s.open_errno());
        Rc r = s.stdout_to_pipe();
        if (r == ok())
            r = s.args({"write", "1", word});
        if (!(r == ok()))
            return "setup: " + std::to_string(r.rc) + " " + errno_name(r.err) + ", log: " + joined(s.log());

        switch (kind) {
        case kSuccess: {
            if (!(s.exec_probe() == ok()))
                return "exec target refused: " + joined(s.log());
            Output o = s.finish();
            if (!(o.exec == ok()) || o.raw != word + "\n" || !o.exit.exited(0))
                return "exec " + errno_name(o.exec.err) + ", output '" + o.raw + "', " + describe(o.exit) +
                       ", log: " + joined(o.log);
            return "";
        }
        case kFailingOp: {
            // The probe is configured after the failing cwd: it must never run (all or nothing).
            Rc cwd = s.path("cwd", missing_);
            if (sync) {
                auto log = s.log();
                if (!(cwd == fails(ENOENT)) || !has_message(log, "e cwd: ", "ENOENT"))
                    return "sync cwd " + std::to_string(cwd.rc) + " " + errno_name(cwd.err) + ", log: " + joined(log);
                return s.close() == ok() ? "" : "close failed";
            }
            if (!(cwd == ok()) || !(s.exec_probe() == ok()))
                return "batched ops were not queued: " + joined(s.log());
            Output o = s.finish();
            if (!(o.exec == fails(ENOENT)) || !has_message(o.log, "e cwd: ", "ENOENT") || !o.raw.empty() ||
                !o.exit.killed(SIGKILL))
                return "exec " + std::to_string(o.exec.rc) + " " + errno_name(o.exec.err) + ", output '" + o.raw +
                       "', " + describe(o.exit) + ", log: " + joined(o.log);
            return "";
        }
        case kAborted:
            // Everything but the exec, then ep_close(): the stub is killed and reaped by the close.
            if (!(s.exec_probe() == ok()))
                return "exec target refused: " + joined(s.log());
            return s.close() == ok() ? "" : "close failed";
        case kExecFails: {
            if (!(s.path("exec", missing_) == ok()))
                return "exec target refused: " + joined(s.log());
            Output o = s.finish();
            if (!(o.exec == fails(ENOENT)) || !has_message(o.log, "e exec: ", "ENOENT") || !o.raw.empty() ||
                (!sync && !o.exit.killed(SIGKILL)))
                return "exec " + std::to_string(o.exec.rc) + " " + errno_name(o.exec.err) + ", output '" + o.raw +
                       "', " + describe(o.exit) + ", log: " + joined(o.log);
            return "";
        }
        default:
            return "bad kind";
        }
    }

    // kThreads threads x `per_thread` spawns, as schedule() says.
    void run(int per_thread) {
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; t++)
            threads.emplace_back([this, t, per_thread] {
                for (int i = 0; i < per_thread; i++) {
                    const auto [kind, sync] = schedule(t, i);
                    const std::string word = "t" + std::to_string(t) + "-" + std::to_string(i);
                    std::string what = spawn(kind, sync, word);
                    if (what.empty()) {
                        right_[kind][sync]++;
                    } else if (wrong_++ < 10) {
                        std::lock_guard lock(mu_);
                        report_ +=
                            word + " (" + kKindNames[kind] + (sync ? ", sync" : ", batched") + "): " + what + "\n";
                    }
                }
            });
        for (auto &th : threads)
            th.join();
    }

    int right(Kind k, bool sync) const { return right_[k][sync].load(); }
    int right_total() const {
        int n = 0;
        for (const auto &k : right_)
            n += k[0].load() + k[1].load();
        return n;
    }
    int wrong() const { return wrong_.load(); }
    const std::string &report() const { return report_; }
    void reset() {
        for (auto &k : right_)
            k[0] = k[1] = 0;
        wrong_ = 0;
    }

  private:
    std::string missing_;
    std::array<std::array<std::atomic<int>, 2>, kKinds> right_{};
    std::atomic<int> wrong_{0};
    std::mutex mu_;
    std::string report_;
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

TEST(Stress, FourThreadsMixingOutcomesGetEveryOutcomeRightAndLeaveNothingBehind) {
    // glibc gives a thread a malloc arena of its own (two mappings) whenever the one it uses is
    // contended, up to 8 per core, at moments no warm-up can force: one run grew from 71 to 75
    // mappings that way, two arenas late (CI, 2026-11-24). With one arena for all, the mapping count
    // is the library's alone (steady at 67 here, against 74-75 with four arenas).
    mallopt(M_ARENA_MAX, 1);
    TempDir tmp;
    Stress stress(tmp);

    // Warm-up, not counted: fills the region cache (8 regions) and glibc's cached thread stacks, so
    // that the baseline below is the steady state.
    stress.run(2 * kKinds * 2);
    ASSERT_EQ(stress.wrong(), 0) << stress.report();
    stress.reset();

    const auto fds_before = open_fds();
    const long rss_before = vm_rss_kib();
    const size_t maps_before = mapping_count();
    const auto t0 = std::chrono::steady_clock::now();

    stress.run(kPerThread);

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const long rss_after = vm_rss_kib();
    const size_t maps_after = mapping_count();
    const auto fds_after = open_fds();

    EXPECT_EQ(stress.wrong(), 0) << stress.report();
    EXPECT_EQ(stress.right_total(), kThreads * kPerThread);
    // Every kind x mode ran as often as scheduled, and was right every time.
    int expected[kKinds][2] = {};
    for (int t = 0; t < kThreads; t++)
        for (int i = 0; i < kPerThread; i++)
            expected[schedule(t, i).kind][schedule(t, i).sync]++;
    for (int k = 0; k < kKinds; k++)
        for (bool sync : {false, true})
            EXPECT_EQ(stress.right(static_cast<Kind>(k), sync), expected[k][sync])
                << kKindNames[k] << (sync ? " sync" : " batched");

    EXPECT_EQ(fds_after, fds_before);
    EXPECT_EQ(fds_after.size(), fds_before.size());

    // Memory. A stub region that escaped the cache (full after the warm-up) would add a mapping per
    // spawn, and its touched stack and receive pages, tens of KiB, to VmRSS: 10000 of them would be
    // hundreds of MiB. Heap leaks are smaller: 1 MiB over 10000 spawns catches about 100 bytes per spawn
    // (one lost std::string), while the measured steady-state growth is a few KiB (malloc keeping some
    // freed memory). Under ASan the allocator's quarantine keeps freed memory and maps more of it on
    // purpose, so neither bound applies there: LeakSanitizer, run by that build at exit, finds leaked
    // heap objects exactly.
    if (!kAsan) {
        EXPECT_LE(maps_after, maps_before + 2) << "mappings " << maps_before << " -> " << maps_after;
        EXPECT_LT(rss_after - rss_before, 1024) << "VmRSS " << rss_before << " -> " << rss_after << " KiB";
    }

    // No child of any kind: no zombie, no stub, no probe still running.
    errno = 0;
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
    EXPECT_TRUE(no_children());
    auto children = our_children();
    std::string left;
    for (const auto &c : children)
        left += c + "; ";
    EXPECT_TRUE(children.empty()) << "children left (pid (comm)): " << left;

    std::printf("stress: %d spawns (%d threads) in %.2f s: right %d, wrong %d; success %d, failing op %d, aborted %d, "
                "exec failure %d (half each sync/batched); fds %zu -> %zu; VmRSS %ld -> %ld KiB; mappings %zu -> "
                "%zu%s\n",
                kThreads * kPerThread, kThreads, secs, stress.right_total(), stress.wrong(),
                stress.right(kSuccess, false) + stress.right(kSuccess, true),
                stress.right(kFailingOp, false) + stress.right(kFailingOp, true),
                stress.right(kAborted, false) + stress.right(kAborted, true),
                stress.right(kExecFails, false) + stress.right(kExecFails, true), fds_before.size(), fds_after.size(),
                rss_before, rss_after, maps_before, maps_after, kAsan ? " (ASan: memory bounds not applied)" : "");
}

} // namespace
