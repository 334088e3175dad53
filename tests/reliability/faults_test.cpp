// SPDX-License-Identifier: MIT
// faults_test.cpp - faults injected into the libc calls of the caller's side (faultshim.c): EINTR,
// EAGAIN and ENOBUFS where the kernel could give them. Each test runs itself again in a child
// process with the shim in LD_PRELOAD; the child does the spawns, the parent checks that it passed.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>

#include "reliability.hpp"

using namespace ep_test;

namespace {

// faultshim.c's counters, in its order.
enum Count {
    kCalls,
    kEintr,
    kEagain,
    kNobufs,
    kShort,
    kShortEligible,
    kRealEagain,
    kSendmsg,
    kRecv,
    kRecvmsg,
    kPoll,
    kWaitid,
    kWaitpid,
    kWrite,
    kRead,
    kCounts
};
using Counts = std::array<unsigned long long, kCounts>;

struct Shim {
    int (*counts)(unsigned long long *, int) = nullptr;
    void (*enable)(int) = nullptr;
    int (*found_library)() = nullptr;
    bool loaded() const { return counts && enable && found_library; }
    Counts now() const {
        Counts c{};
        counts(c.data(), kCounts);
        return c;
    }
};

Shim shim() {
    Shim s;
    s.counts = reinterpret_cast<int (*)(unsigned long long *, int)>(dlsym(RTLD_DEFAULT, "ep_faultshim_counts"));
    s.enable = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "ep_faultshim_enable"));
    s.found_library = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "ep_faultshim_found_library"));
    return s;
}

// Rates of the run: eintr on half the calls that could sleep, eagain on a third of the nonblocking
// sends, ENOBUFS on one send in 40 (sync streams send a frame per call, so about a fifth of their
// spawns meet one).
constexpr const char *kRates = "eintr=1/2,eagain=1/3,nobufs=1/40,short=1/3";

bool inner() {
    return std::getenv("EP_FAULTS_INNER") != nullptr;
}

// The current test, again, in a child process with the shim preloaded and EP_FAULTS set. Returns
// the child's output; status is its wait status.
std::string rerun_with_shim(uint64_t seed, int &status) {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string filter = std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
    std::vector<std::string> env;
    for (char **e = environ; *e; e++)
        if (std::strncmp(*e, "LD_PRELOAD=", 11) && std::strncmp(*e, "EP_FAULTS", 9) &&
            std::strncmp(*e, "EP_TEST_SEED=", 13) && std::strncmp(*e, "ASAN_OPTIONS=", 13))
            env.emplace_back(*e);
    env.push_back(std::string("LD_PRELOAD=") + EP_FAULTSHIM_PATH);
    env.push_back(std::string("EP_FAULTS=") + kRates + ",seed=" + std::to_string(seed));
    env.push_back("EP_FAULTS_INNER=1");
    env.push_back("EP_TEST_SEED=" + std::to_string(seed));
#ifdef __SANITIZE_ADDRESS__
    // The shim comes before the ASan runtime in the library list; ASan's check of that order is
    // turned off (the shim calls on, through RTLD_NEXT, into ASan's interceptors).
    std::string asan = "ASAN_OPTIONS=verify_asan_link_order=0";
    if (const char *a = std::getenv("ASAN_OPTIONS"))
        asan += std::string(":") + a;
    env.push_back(asan);
#endif
    std::vector<char *> envp, argv;
    for (auto &e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string self = "/proc/self/exe";
    argv.push_back(self.data());
    argv.push_back(filter.data());
    argv.push_back(nullptr);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return "pipe2 failed";
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        execve("/proc/self/exe", argv.data(), envp.data());
        _exit(127);
    }
    close(p[1]);
    std::string out;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(110);
    for (;;) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            kill(pid, SIGKILL);
            out += "\n(killed: no end within 110 s)\n";
            break;
        }
        pollfd pf{p[0], POLLIN, 0};
        int r = poll(&pf, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out.append(buf, static_cast<size_t>(n));
    }
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return out;
}

// The outer half of a test: run the inner half under the shim; it must have run and passed.
void expect_inner_passed() {
    uint64_t seed = test_seed("faults");
    int status = -1;
    std::string out = rerun_with_shim(seed, status);
    std::printf("---- the run under the shim ----\n%s---- end ----\n", out.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    EXPECT_NE(out.find("[  PASSED  ] 1 test."), std::string::npos) << "the test did not run under the shim";
}

// Everything but the output read: steps until the first failure.
// Everything but the output read: steps until the first failure (run_kind(), reliability.hpp).

bool mentions_enobufs(const std::vector<std::string> &log) {
    for (const auto &m : log)
        if (m.find("ENOBUFS") != std::string::npos || m.find("No buffer space") != std::string::npos)
            return true;
    return false;
}

class Faults : public MatrixTest {
  protected:
    // One spawn of kind k; "" if every outcome was right, else what was wrong. nobufs: an ENOBUFS was
    // injected while it ran, so a clean ENOBUFS failure is right too; *failed_nobufs tells if it was.
    std::string one(int k, int i, bool &failed_nobufs, const Shim &s, int opath) {
        const Matrix &m = GetParam();
        Counts before = s.now();
        auto nobufs_injected = [&] { return s.now()[kNobufs] > before[kNobufs]; };
        failed_nobufs = false;
        Empty e(m);
        if (!e.opened()) {
            auto log = log_messages(-1);
            if (e.open_errno() == ENOBUFS && nobufs_injected() && mentions_enobufs(log)) {
                failed_nobufs = true;
                return "";
            }
            return "ep_open: " + errno_name(e.open_errno()) + ", log: " + joined(log);
        }
        int pp[2];
        if (pipe2(pp, O_CLOEXEC) < 0)
            return "pipe2";
        Fd out_r(pp[0]), out_w(pp[1]);
        const std::string word = "w" + std::to_string(i);
        const std::string missing = tmp / "missing";
        KindRun run = run_kind(e, k, m.sync, out_w.get(), opath, word, missing);
        out_w.reset();
        const Step &last = run.steps.back();
        const auto &log = run.log;
        const std::string &what = run.what;

        if (last.rc.rc < 0 && last.rc.err == ENOBUFS) {
            if (!nobufs_injected() || !mentions_enobufs(log))
                return "ENOBUFS without an injected one, or without a message: " + what;
            failed_nobufs = true;
            if (!(e.close() == ok()))
                return "ep_close after ENOBUFS failed: " + what;
            return "";
        }
        switch (k) {
        case 0: { // success: the probe wrote the word and saw fds 1 and 5
            if (!(last.rc == ok()))
                return what;
            std::string out;
            char buf[65536];
            for (;;) {
                pollfd pf{out_r.get(), POLLIN, 0};
                if (poll(&pf, 1, 10000) <= 0)
                    return "no EOF on the probe's stdout within 10 s: " + what;
                ssize_t n = read(out_r.get(), buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                out.append(buf, static_cast<size_t>(n));
            }
            Exit x = wait_pidfd(e.fd());
            if (out.rfind(word + "\n", 0) != 0 || out.find("\nfds=1,5\n") == std::string::npos ||
                out.find("\nfd.5=" + tmp.path() + "/d flags=") == std::string::npos || !x.exited(0))
                return "output '" + out.substr(0, 200) + "', " + describe(x) + ": " + what;
            break;
        }
        case 1:   // a failing op: ENOENT at cwd (sync) or at CMD_EXEC (batched), named, nothing runs
        case 3: { // an exec failure: ENOENT at CMD_EXEC, "e exec:"
            const char *prefix = k == 1 ? "e cwd: " : "e exec: ";
            const char *at = k == 1 && m.sync ? "cwd" : "CMD_EXEC";
            if (std::strcmp(last.name, at) != 0 || !(last.rc == fails(ENOENT)) || !has_message(log, prefix, "ENOENT"))
                return what;
            if (!m.sync) {
                Exit x = wait_pidfd(e.fd(), true);
                if (!x.killed(SIGKILL))
                    return "the stub did not kill itself (" + describe(x) + "): " + what;
            }
            pollfd pf{out_r.get(), POLLIN, 0};
            char c;
            if (poll(&pf, 1, 0) == 1 && read(out_r.get(), &c, 1) > 0)
                return "something ran and wrote: " + what;
            break;
        }
        case 2: // aborted: everything but CMD_EXEC, then ep_close
            if (!(last.rc == ok()))
                return what;
            break;
        }
        if (!(e.close() == ok()))
            return "ep_close: " + what;
        return "";
    }

    void run_inner(int n) {
        unsetenv("LD_PRELOAD"); // not for the probes
        unsetenv("EP_FAULTS");
        Shim s = shim();
        ASSERT_TRUE(s.loaded()) << "the shim is not loaded";
        ASSERT_TRUE(s.found_library()) << "the shim did not find libemptyproc.so in this process";
        tmp.dir("d");
        Fd opath(::open((tmp / "d").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_GE(opath.get(), 0);
        // Warm-up without faults: the strategies' caches and helpers exist before the baseline.
        s.enable(0);
        bool nb;
        for (int i = 0; i < 4; i++)
            ASSERT_EQ(one(0, i, nb, s, opath.get()), "");
        const auto fds_before = open_fds();
        const Counts start = s.now();
        s.enable(1);

        int right[kKinds] = {}, nobufs_failed = 0, wrong = 0;
        for (int i = 0; i < n && wrong < 5; i++) {
            int k = i % kKinds;
            bool failed_nobufs = false;
            std::string why = one(k, i, failed_nobufs, s, opath.get());
            if (!why.empty()) {
                wrong++;
                ADD_FAILURE() << "spawn " << i << ": " << why;
                continue;
            }
            if (failed_nobufs)
                nobufs_failed++;
            else
                right[k]++;
        }
        s.enable(0);
        const Counts end = s.now();
        EXPECT_EQ(wrong, 0);
        EXPECT_EQ(open_fds(), fds_before);
        EXPECT_TRUE(no_children());
        EXPECT_TRUE(live_stubs_of({getpid()}).empty()) << describe(live_stubs_of({getpid()}));

        Counts d{};
        for (int c = 0; c < kCounts; c++)
            d[c] = end[c] - start[c];
        std::printf("faults (%s): %d spawns: %d success, %d failing op, %d aborted, %d exec failure right; %d failed "
                    "cleanly with an injected ENOBUFS\n"
                    "  library calls seen %llu (sendmsg %llu, recv %llu, recvmsg %llu, poll %llu, waitid %llu, "
                    "waitpid %llu, write %llu, read %llu)\n"
                    "  injected: EINTR %llu, EAGAIN %llu, ENOBUFS %llu, short %llu (calls where a short count is "
                    "legal: %llu); EAGAIN from the kernel itself: %llu\n",
                    GetParam().name().c_str(), n, right[0], right[1], right[2], right[3], nobufs_failed, d[kCalls],
                    d[kSendmsg], d[kRecv], d[kRecvmsg], d[kPoll], d[kWaitid], d[kWaitpid], d[kWrite], d[kRead],
                    d[kEintr], d[kEagain], d[kNobufs], d[kShort], d[kShortEligible], d[kRealEagain]);
        EXPECT_GT(d[kEintr], 0u) << "no EINTR was injected: nothing was tested";
        EXPECT_GT(d[kEagain], 0u) << "no EAGAIN was injected: nothing was tested";
        EXPECT_GT(d[kNobufs], 0u) << "no ENOBUFS was injected: nothing was tested";
        EXPECT_GT(nobufs_failed, 0) << "no spawn met its ENOBUFS";
        // No call of the caller's side may legally come back short today (see faultshim.c); if a
        // transport starts using a byte stream, the shim must cut it.
        EXPECT_EQ(d[kShortEligible] > 0, d[kShort] > 0);
        for (int k = 0; k < kKinds; k++)
            EXPECT_GT(right[k], 0) << kKindNames[k] << " never ran to its own outcome";
    }
};

TEST_P(Faults, EintrEagainAndEnobufsInjectedIntoTheCallersCallsChangeNoOutcomeAndLeakNothing) {
    if (inner())
        run_inner(320);
    else
        expect_inner_passed();
}

} // namespace

EP_INSTANTIATE_MATRIX(Reliability, Faults);
