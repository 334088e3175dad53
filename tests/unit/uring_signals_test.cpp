// SPDX-License-Identifier: MIT
// uring_signals_test.cpp - the io_uring transport's frame chain under a rain of signals
// (docs/io_uring.md, "Signals"). A request of the calling thread's ring that io_uring punts to its
// io-wq needs a worker thread, which the kernel creates from the calling thread and refuses to
// create while a signal is pending for it; io-wq then cancels the request (-ECANCELED) or leaves it
// queued. MSG_RING punts when ring C's lock is taken (the stub is submitting), which is rare: the
// seam io_uring_force_async makes every frame's SEND_FDs and commit go to io-wq, and every spawn
// runs on a fresh thread (whose io-wq has no worker yet) with SIGALRM aimed at it every 50 us.
// Before the fix the first such spawn failed (ECANCELED) or hung; tests/reliability/signals_test.cpp
// is the same storm without the seam, where it showed as a rare hang.
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <liburing.h>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "matrix.hpp"
#include "spawn.hpp"
#include "transport/transport.hpp"

namespace {

using ep_test::Matrix;
using ep_test::Spawn;

std::atomic<long> g_alarms{0};
void count_alarm(int) {
    g_alarms.fetch_add(1, std::memory_order_relaxed);
}

// SIGALRM every 50 us at the calling thread only, with a handler without SA_RESTART.
class AlarmRain {
  public:
    AlarmRain() {
        sigevent sev{};
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGALRM;
        sev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
        ok_ = timer_create(CLOCK_MONOTONIC, &sev, &timer_) == 0;
        itimerspec every{{0, 50'000}, {0, 50'000}};
        ok_ = ok_ && timer_settime(timer_, 0, &every, nullptr) == 0;
    }
    ~AlarmRain() {
        if (ok_)
            timer_delete(timer_);
    }
    bool ok() const { return ok_; }

  private:
    timer_t timer_{};
    bool ok_ = false;
};

struct Outcome {
    bool rain = false, opened = false, execd = false, exited = false;
    std::string what;
};

class UringSignals : public ::testing::TestWithParam<int> {
  protected:
    void SetUp() override {
        io_uring_probe *p = io_uring_get_probe();
        if (!p)
            GTEST_SKIP() << "io_uring is not available here";
        io_uring_free_probe(p);
        struct sigaction sa {};
        sa.sa_handler = count_alarm; // no SA_RESTART
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, &old_);
        ep::detail::io_uring_force_async = GetParam();
    }
    void TearDown() override {
        ep::detail::io_uring_force_async = 0;
        sigaction(SIGALRM, &old_, nullptr);
        ep_cache_release(0);
    }

    // n spawns of the probe exiting with i % 100, each from a thread of its own under the rain.
    void spawn_each_on_a_fresh_thread(bool sync, int n) {
        Matrix m{{EP_TRANSPORT_IO_URING, "io_uring"}, {EP_STRATEGY_CLONE_VM, "clone_vm"}, sync};
        int wrong = 0;
        for (int i = 0; i < n && wrong < 3; i++) {
            Outcome o;
            std::thread t([&] {
                AlarmRain rain;
                o.rain = rain.ok();
                Spawn s(m);
                o.opened = s.opened();
                if (!o.opened) {
                    o.what = "ep_open: " + std::string(strerror(s.open_errno()));
                    return;
                }
                auto out = s.run({"exit", std::to_string(i % 100)});
                o.execd = out.exec == ep_test::ok();
                o.exited = out.exit.exited(i % 100);
                o.what = "exec " + std::to_string(out.exec.rc) + " " + ep_test::errno_name(out.exec.err) + ", " +
                         ep_test::describe(out.exit) + ", log: " + ep_test::joined(out.log);
            });
            t.join(); // the thread's ring P and its io-wq end with it
            ASSERT_TRUE(o.rain) << "timer_create/timer_settime: " << strerror(errno);
            if (!o.opened || !o.execd || !o.exited) {
                wrong++;
                ADD_FAILURE() << "spawn " << i << ": " << o.what;
            }
        }
        EXPECT_EQ(wrong, 0);
        EXPECT_GT(g_alarms.load(), 0) << "no signal arrived: nothing was tested";
    }

    struct sigaction old_ {};
};

// 1: the chain goes to io-wq, the caller's signals are blocked while it runs (the library's way).
// 2: the same with the signals left open: io-wq cancels requests, which send() must redo or route
//    by hand without sending anything twice.
TEST_P(UringSignals, ChainSentThroughIoWqFromAFreshThreadUnderSigalrmEvery50UsSucceedsBatched) {
    spawn_each_on_a_fresh_thread(false, 100);
}

TEST_P(UringSignals, ChainSentThroughIoWqFromAFreshThreadUnderSigalrmEvery50UsSucceedsSync) {
    spawn_each_on_a_fresh_thread(true, 100);
}

INSTANTIATE_TEST_SUITE_P(Seam, UringSignals, ::testing::Values(1, 2), [](const auto &info) {
    return info.param == 1 ? std::string("SignalsBlocked") : std::string("SignalsOpen");
});

} // namespace
