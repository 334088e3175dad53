// SPDX-License-Identifier: MIT
// kill_test.cpp - faults from outside: the caller SIGKILLed at random points of its stream (no stub
// may survive it), and the stub SIGKILLed between ep_config() calls (the caller gets ECHILD and a
// log message, nothing hangs, ep_close() reaps).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <thread>

#include "reliability.hpp"

using namespace ep_test;

namespace {

// The stream every run sends: ops of several kinds, then the exec of the probe, which exits 0.
using Op = std::function<int(int fd)>;
std::vector<Op> stream_ops(int devnull) {
    std::vector<Op> ops;
    auto str = [](const char *key, std::string v) {
        return [key, v](int fd) { return ep_config(fd, EP_CONFIG_SET_STRING, key, v.c_str(), 0); };
    };
    ops.push_back(str("argv", "probe"));
    ops.push_back(str("argv", "exit"));
    ops.push_back(str("argv", "0"));
    ops.push_back(str("umask", "027"));
    for (int i = 0; i < 6; i++)
        ops.push_back(str("env", "EP_VAR" + std::to_string(i) + "=value" + std::to_string(i)));
    ops.push_back([devnull](int fd) { return ep_config(fd, EP_CONFIG_SET_FD, "fd.1", nullptr, devnull); });
    ops.push_back([](int fd) { return ep_config(fd, EP_CONFIG_SET_PATH, "cwd", "/tmp", AT_FDCWD); });
    ops.push_back(str("rlimit.core", "0"));
    ops.push_back(str("sigmask", "USR1"));
    ops.push_back([](int fd) { return ep_config(fd, EP_CONFIG_SET_PATH, "open.5", "/dev/null", AT_FDCWD); });
    ops.push_back([](int fd) { return ep_config(fd, EP_CONFIG_SET_PATH, "exec", kProbe, AT_FDCWD); });
    ops.push_back([](int fd) { return ep_config(fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0); });
    return ops;
}

// Read exactly n bytes, bounded; false on EOF or timeout.
bool read_exact(int fd, void *buf, size_t n, int timeout_ms = 10000) {
    size_t got = 0;
    while (got < n) {
        pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 1)
            return false;
        ssize_t k = read(fd, static_cast<char *>(buf) + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += static_cast<size_t>(k);
    }
    return true;
}

// How many processes the library keeps, by design, besides the stubs it hands out
// (docs/strategies.md): the zygote; the pool's prepared stubs ($EMPTYPROC_POOL_SIZE, 1..64, default 4).
size_t kept_processes(const Matrix &m) {
    if (m.strategy.id == EP_STRATEGY_ZYGOTE)
        return 1;
    if (is_pool(m.strategy.id)) {
        const char *env = std::getenv("EMPTYPROC_POOL_SIZE");
        long n = env ? std::strtol(env, nullptr, 10) : 4;
        return static_cast<size_t>(n < 1 ? 1 : n > 64 ? 64 : n);
    }
    return 0;
}

class CallerKilled : public MatrixTest {};

// A forked caller opens a stub and streams; after each call it reports its progress. The test kills
// it (SIGKILL) once it has made `point` calls plus a random delay, so the kill lands before ep_open,
// inside a call or between calls. Afterwards every descendant of the caller must end by itself: this
// process is their subreaper and reaps them; none may still be an ep-stub 5 s later.
TEST_P(CallerKilled, AtRandomPointsOfTheStreamNoStubSurvives) {
    constexpr int kRuns = 200;
    std::mt19937_64 rng(test_seed("CallerKilled"));
    Subreaper reaper;
    Fd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(devnull);
    const int nops = static_cast<int>(stream_ops(devnull.get()).size());
    std::map<std::string, int> outcomes; // what the stub became: killed before exec, or the probe ran
    std::map<int, int> points;
    int failures = 0;
    for (int run = 0; run < kRuns && failures < 5; run++) {
        // point -1: killed before ep_open() reported back; 0: after ep_open(); k: after k calls.
        const int point = static_cast<int>(rng() % static_cast<uint64_t>(nops + 2)) - 1;
        const int jitter_us = static_cast<int>(rng() % (GetParam().sync ? 300 : 40)); // batched calls take ~1 us
        points[point]++;
        int progress[2], hold[2];
        ASSERT_EQ(pipe2(progress, O_CLOEXEC), 0);
        ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
        Fd progress_r(progress[0]), hold_w(hold[1]);
        pid_t caller = fork();
        ASSERT_GE(caller, 0);
        if (caller == 0) {
            ::close(progress[0]);
            ::close(hold[1]);
            ep_open_how how = GetParam().how();
            int fd = ep_open(&how, sizeof how);
            pid_t stub = fd >= 0 ? ep_pid(fd) : -1;
            if (write(progress[1], &stub, sizeof stub) != sizeof stub || fd < 0)
                _exit(3);
            for (auto &op : stream_ops(devnull.get())) {
                op(fd);
                if (write(progress[1], "x", 1) != 1)
                    _exit(3);
            }
            char c;
            while (read(hold[0], &c, 1) < 0 && errno == EINTR) { // wait to be killed: no ep_close()
            }
            _exit(0);
        }
        ::close(progress[1]);
        ::close(hold[0]);
        pid_t stub = -1;
        bool reported = true;
        if (point >= 0) {
            reported = read_exact(progress_r.get(), &stub, sizeof stub);
            std::vector<char> calls(static_cast<size_t>(point) + 1);
            if (reported && point > 0)
                reported = read_exact(progress_r.get(), calls.data(), static_cast<size_t>(point));
        }
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(jitter_us);
        while (std::chrono::steady_clock::now() < until) { // a spin: sleeping would round up to ~60 us
        }
        kill(caller, SIGKILL);
        int status = 0;
        ASSERT_EQ(waitpid(caller, &status, 0), caller);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "run " << run << ": the caller ended with status " << status;
        if (!reported) {
            ADD_FAILURE() << "run " << run << ": the caller did not reach point " << point;
            failures++;
        }
        if (point < 0 && !read_exact(progress_r.get(), &stub, sizeof stub, 0)) // did it get that far?
            stub = -1;
        std::vector<Exit> ends;
        std::vector<pid_t> pids;
        std::string survivors;
        if (!reap_all_children(5000, ends, survivors, &pids)) {
            ADD_FAILURE() << "run " << run << " (point " << point << ", +" << jitter_us
                          << " us): still there 5 s after the caller's death: " << survivors;
            failures++;
        }
        auto stubs = live_stubs_of({caller, getpid()});
        EXPECT_TRUE(stubs.empty()) << "run " << run << ": " << describe(stubs);
        // The caller's descendants: the stub of its stream and what its library kept (the zygote,
        // the pool's prepared stubs). Every one ends by itself, with SIGKILL (a stub at the EOF of
        // its stream; the zygote by its parent-death signal) or 0 (the probe; the zygote at the EOF
        // of its socket). A descendant that is not the reported stub is one the library kept, or the
        // stub itself if the caller died before it could report it.
        const size_t kept = kept_processes(GetParam());
        EXPECT_LE(ends.size(), 1u + kept) << "run " << run;
        bool stub_ended = false;
        for (size_t i = 0; i < ends.size(); i++) {
            const Exit &e = ends[i];
            const bool the_stub = stub > 0 ? pids[i] == stub : kept == 0;
            stub_ended = stub_ended || the_stub;
            if (!e.killed(SIGKILL) && !e.exited(0)) {
                ADD_FAILURE() << "run " << run << " (point " << point << "): " << (the_stub ? "the stub" : "pid ")
                              << (the_stub ? "" : std::to_string(pids[i])) << " ended " << describe(e);
                failures++;
            } else if (!the_stub)
                outcomes[std::string("kept by the library (or a stub not yet reported), ended ") +
                         (e.killed(SIGKILL) ? "SIGKILL" : "0")]++;
            else if (e.killed(SIGKILL))
                outcomes["stub killed itself (SIGKILL)"]++;
            else
                outcomes["probe ran and exited 0"]++;
        }
        if (stub > 0) {
            EXPECT_TRUE(stub_ended) << "run " << run << ": the stub " << stub << " was not reaped here";
        }
        if (!stub_ended)
            outcomes["no stub yet"]++;
        if (stub > 0) {
            EXPECT_EQ(proc_state(stub), 0) << "run " << run << ": /proc/" << stub << " is still there";
        }
    }
    EXPECT_TRUE(no_children());
    std::string text;
    for (const auto &[what, n] : outcomes)
        text += what + ": " + std::to_string(n) + "; ";
    std::string pts;
    for (const auto &[p, n] : points)
        pts += std::to_string(p) + "x" + std::to_string(n) + " ";
    std::printf(
        "caller killed: %d runs (%s), %d calls per stream; outcomes: %s\n  kill points (calls done x runs): %s\n",
        kRuns, GetParam().name().c_str(), nops, text.c_str(), pts.c_str());
}

EP_INSTANTIATE_MATRIX(Reliability, CallerKilled);

class StubKilled : public MatrixTest {
  protected:
    // Kill the stub of s through its pidfd; wait for its death first if asked.
    static void kill_stub(const Empty &s, bool wait_death) {
        ASSERT_EQ(sys_pidfd_send_signal(s.fd(), SIGKILL), 0) << errno_name(errno);
        if (wait_death) {
            ASSERT_TRUE(wait_exit_ready(s.fd(), 5000));
        }
    }
    void at_every_point(bool wait_death);
};

void StubKilled::at_every_point(bool wait_death) {
    Fd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    auto ops = stream_ops(devnull.get());
    ops.pop_back(); // CMD_EXEC is called below
    const auto fds_before = open_fds();
    for (size_t k = 0; k <= ops.size(); k++) {
        SCOPED_TRACE("killed after " + std::to_string(k) + " of " + std::to_string(ops.size()) + " calls");
        Empty s(GetParam());
        ASSERT_TRUE(s.opened()) << errno_name(s.open_errno());
        for (size_t i = 0; i < k; i++)
            ASSERT_EQ(rc_of(ops[i](s.fd())), ok()) << joined(s.log());
        kill_stub(s, wait_death);
        // The rest of the stream. Sync: the first call learns of the death (ECHILD) and so does every
        // later one. Batched: the calls only queue; CMD_EXEC learns it.
        // The first call that notices says why (the log keeps 8 messages: read it at once).
        std::vector<std::string> first_log;
        for (size_t i = k; i < ops.size(); i++) {
            Rc r = rc_of(ops[i](s.fd()));
            if (s.sync()) {
                EXPECT_EQ(r, fails(ECHILD)) << "call " << i;
            } else {
                EXPECT_EQ(r, ok()) << "call " << i;
            }
            if (first_log.empty())
                first_log = s.log();
        }
        EXPECT_EQ(s.exec(), fails(ECHILD));
        if (first_log.empty())
            first_log = s.log();
        EXPECT_TRUE(has_message(first_log, "e stream: ", "died") || has_message(first_log, "e exec: ", "died"))
            << joined(first_log);
        EXPECT_EQ(s.str("umask", "022"), fails(ECHILD)) << "a dead stub stays dead";
        EXPECT_TRUE(has_message(s.log(), "e umask: ", "dead"));
        EXPECT_EQ(s.close(), ok());
        EXPECT_TRUE(no_children());
    }
    EXPECT_EQ(open_fds(), fds_before);
}

TEST_P(StubKilled, BetweenCallsTheCallerGetsEchildAndALogMessage) {
    at_every_point(true);
}

TEST_P(StubKilled, WithoutWaitingForItsDeathTheCallerStillGetsEchild) {
    at_every_point(false);
}

// The stub killed by another thread at a random moment while the stream runs: whatever the moment,
// either a call fails with ECHILD and says so on the log, or the exec had already begun (CMD_EXEC
// returns 0) and the pidfd then reports the program's end (SIGKILL, or exit 0 if it was quicker).
TEST_P(StubKilled, AtRandomMomentsEveryOutcomeIsClearAndNothingHangs) {
    constexpr int kRuns = 200;
    std::mt19937_64 rng(test_seed("StubKilled"));
    Fd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    const auto fds_before = open_fds();
    std::map<std::string, int> outcomes;
    int wrong = 0;
    for (int run = 0; run < kRuns && wrong < 5; run++) {
        const int delay_us = static_cast<int>(rng() % (GetParam().sync ? 400 : 120));
        Empty s(GetParam());
        ASSERT_TRUE(s.opened());
        Fd own(fcntl(s.fd(), F_DUPFD_CLOEXEC, 0)); // the killer's own pidfd: s.fd() may be closed first
        ASSERT_TRUE(own);
        std::atomic<bool> go{false};
        std::thread killer([&] {
            while (!go.load())
                ;
            auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(delay_us);
            while (std::chrono::steady_clock::now() < until) {
            }
            sys_pidfd_send_signal(own.get(), SIGKILL);
        });
        go = true;
        Rc failed = ok();
        size_t at = 0;
        for (auto &op : stream_ops(devnull.get())) {
            Rc r = rc_of(op(s.fd()));
            if (!(r == ok())) {
                failed = r;
                break;
            }
            at++;
        }
        killer.join();
        auto log = s.log();
        std::string what;
        if (failed == ok()) {
            Exit e = wait_pidfd(s.fd());
            if (e.killed(SIGKILL))
                what = "exec'd, then the program was killed";
            else if (e.exited(0))
                what = "exec'd, the program exited 0 before the kill";
            else
                what = "WRONG: exec'd, then " + describe(e);
        } else if (failed == fails(ECHILD) &&
                   (has_message(log, "e stream: ", "died") || has_message(log, "e exec: ", "died"))) {
            what = at + 1 == stream_ops(devnull.get()).size() ? "ECHILD at CMD_EXEC" : "ECHILD before CMD_EXEC";
        } else {
            what = "WRONG: call " + std::to_string(at) + " failed " + std::to_string(failed.rc) + " " +
                   errno_name(failed.err) + ", log: " + joined(log);
        }
        if (what.rfind("WRONG", 0) == 0 && wrong++ < 5)
            ADD_FAILURE() << "run " << run << " (+" << delay_us << " us): " << what;
        outcomes[what]++;
        EXPECT_EQ(s.close(), ok());
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
    std::string text;
    for (const auto &[w, n] : outcomes)
        text += w + ": " + std::to_string(n) + "; ";
    std::printf("stub killed: %d runs (%s): %s\n", kRuns, GetParam().name().c_str(), text.c_str());
}

EP_INSTANTIATE_MATRIX(Reliability, StubKilled);

} // namespace
