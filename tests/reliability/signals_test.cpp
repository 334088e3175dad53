// SPDX-License-Identifier: MIT
// signals_test.cpp - signals in the caller do not break spawns: a steady rain of signals whose
// handler has no SA_RESTART (every blocking call of the library sees EINTR), a SIGCHLD handler that
// reaps every child it can, and a caller with every signal blocked.
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "reliability.hpp"

using namespace ep_test;

namespace {

std::atomic<long> g_signals{0};
void count_signal(int) {
    g_signals.fetch_add(1, std::memory_order_relaxed);
}

// Installs handler for sig without SA_RESTART for the scope.
class Handler {
  public:
    Handler(int sig, void (*fn)(int), int flags = 0) : sig_(sig) {
        struct sigaction sa {};
        sa.sa_handler = fn;
        sa.sa_flags = flags; // no SA_RESTART: interrupted system calls fail with EINTR
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, &old_);
    }
    ~Handler() { sigaction(sig_, &old_, nullptr); }

  private:
    int sig_;
    struct sigaction old_ {};
};

class Signals : public MatrixTest {
  protected:
    // n spawns of the probe exiting with i % 100: every one must exec and exit with its own status.
    void spawn_many(int n) {
        int wrong = 0;
        for (int i = 0; i < n && wrong < 5; i++) {
            Spawn s(GetParam());
            ASSERT_TRUE(s.opened()) << "spawn " << i << ": ep_open " << errno_name(s.open_errno());
            auto out = s.run({"exit", std::to_string(i % 100)});
            if (!(out.exec == ok()) || !out.exit.exited(i % 100)) {
                wrong++;
                ADD_FAILURE() << "spawn " << i << ": exec " << out.exec.rc << " " << errno_name(out.exec.err) << ", "
                              << describe(out.exit) << ", log: " << joined(out.log);
            }
        }
        EXPECT_EQ(wrong, 0);
        EXPECT_TRUE(no_children());
    }
};

TEST_P(Signals, FiveHundredSpawnsUnderSigalrmEvery50UsWithoutSaRestartAllSucceed) {
    Handler h(SIGALRM, count_signal);
    g_signals = 0;
    itimerval every{{0, 50}, {0, 50}};
    ASSERT_EQ(setitimer(ITIMER_REAL, &every, nullptr), 0);
    spawn_many(500);
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    long n = g_signals.load();
    EXPECT_GT(n, 0) << "no signal arrived: nothing was tested";
    std::printf("SIGALRM rain (%s): 500 spawns, %ld signals delivered\n", GetParam().name().c_str(), n);
}

TEST_P(Signals, FiveHundredSpawnsWhileAThreadPthreadKillsTheSpawningThreadAllSucceed) {
    Handler h(SIGUSR1, count_signal);
    g_signals = 0;
    std::atomic<bool> stop{false};
    pthread_t target = pthread_self();
    long sent = 0;
    std::thread rain([&] {
        while (!stop.load()) {
            pthread_kill(target, SIGUSR1);
            sent++;
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    });
    spawn_many(500);
    stop = true;
    rain.join();
    EXPECT_GT(g_signals.load(), 0) << "no signal arrived: nothing was tested";
    std::printf("SIGUSR1 rain (%s): 500 spawns, %ld sent, %ld handled\n", GetParam().name().c_str(), sent,
                g_signals.load());
}

// What a SIGCHLD handler that reaps with waitpid(-1, WNOHANG) collected: pid and status.
constexpr int kMaxReaped = 4096;
std::atomic<int> g_reaped_n{0};
pid_t g_reaped_pid[kMaxReaped];
int g_reaped_status[kMaxReaped];
void reap_everything(int) {
    int saved = errno;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
        int i = g_reaped_n.fetch_add(1);
        if (i < kMaxReaped) {
            g_reaped_pid[i] = pid;
            g_reaped_status[i] = status;
        }
    }
    errno = saved;
}
bool reaped_by_handler(pid_t pid, int &status) {
    int n = std::min(g_reaped_n.load(), kMaxReaped);
    for (int i = n - 1; i >= 0; i--)
        if (g_reaped_pid[i] == pid) {
            status = g_reaped_status[i];
            return true;
        }
    return false;
}

// The nasty case: a SIGCHLD handler that reaps every child it can, as some event loops do. The
// library never waits for a status of its own except to reap a stub it killed, and it learns of the
// exec from its exec pipe, so CMD_EXEC still tells the truth and ep_close() never hangs. What the
// handler takes away is the program's exit status: waitid(P_PIDFD) on the handle then fails with
// ECHILD, exactly as waitpid() would after posix_spawn(). The status is then the handler's.
TEST_P(Signals, ASigchldHandlerThatReapsEverythingBreaksNoSpawnAndTakesOnlyTheStatus) {
    Handler h(SIGCHLD, reap_everything, SA_NOCLDSTOP);
    g_reaped_n = 0;
    TempDir tmp;
    int by_us = 0, by_handler = 0, failed_right = 0, aborted = 0, wrong = 0;
    for (int i = 0; i < 300 && wrong < 5; i++) {
        Spawn s(GetParam());
        ASSERT_TRUE(s.opened());
        const pid_t pid = s.pid();
        std::string what;
        switch (i % 3) {
        case 0: { // success: the status is had by us or by the handler, and it is the right one
            ASSERT_EQ(s.stdout_to_pipe(), ok());
            ASSERT_EQ(s.args({"exit", "7"}), ok());
            ASSERT_EQ(s.exec_probe(), ok());
            Rc exec = s.exec();
            if (!(exec == ok())) {
                what = "exec " + errno_name(exec.err) + ", log: " + joined(s.log());
                break;
            }
            ASSERT_TRUE(wait_exit_ready(s.fd(), 10000));
            siginfo_t info{};
            int r;
            do
                r = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(s.fd()), &info, WEXITED);
            while (r < 0 && errno == EINTR);
            int status = 0;
            if (r == 0 && info.si_code == CLD_EXITED && info.si_status == 7)
                by_us++;
            else if (r < 0 && errno == ECHILD && reaped_by_handler(pid, status) && WIFEXITED(status) &&
                     WEXITSTATUS(status) == 7)
                by_handler++;
            else
                what = "waitid " + std::to_string(r) + " " + errno_name(r < 0 ? errno : 0) + ", code " +
                       std::to_string(info.si_code) + " status " + std::to_string(info.si_status);
            break;
        }
        case 1: { // a failing exec: the error is still the stub's own, with its message
            ASSERT_EQ(s.path("exec", tmp / "missing"), ok());
            Rc exec = s.exec();
            if (exec == fails(ENOENT) && has_message(s.log(), "e exec: ", "ENOENT"))
                failed_right++;
            else
                what = "exec " + std::to_string(exec.rc) + " " + errno_name(exec.err);
            break;
        }
        default: // an aborted stream: ep_close() kills; the handler may reap first; no hang
            ASSERT_EQ(s.str("umask", "022"), ok());
            if (s.close() == ok())
                aborted++;
            else
                what = "ep_close failed";
        }
        if (!what.empty()) {
            wrong++;
            ADD_FAILURE() << "spawn " << i << ": " << what;
        }
    }
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(by_us + by_handler, 100);
    EXPECT_EQ(failed_right, 100);
    EXPECT_EQ(aborted, 100);
    EXPECT_TRUE(no_children());
    std::printf("SIGCHLD reaper (%s): 100 exits seen by waitid %d, taken by the handler %d; 100 failed execs right; "
                "100 aborted closes; handler reaped %d processes\n",
                GetParam().name().c_str(), by_us, by_handler, g_reaped_n.load());
}

// A caller with every signal blocked (all 64, the ones glibc keeps for itself included) spawns as
// usual, and the program starts with the mask that was configured, not the caller's.
TEST_P(Signals, ACallerWithEverySignalBlockedSpawnsAndTheChildHasTheConfiguredMask) {
    uint64_t all = ~uint64_t{0}, old = 0;
    ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all), 0);
    Spawn plain(GetParam());
    auto out_plain = plain.run();
    Spawn masked(GetParam());
    Rc mask = masked.str("sigmask", "USR1,TERM");
    auto out_masked = masked.run();
    int wrong = 0;
    for (int i = 0; i < 50; i++) {
        Spawn s(GetParam());
        auto out = s.run({"exit", "3"});
        if (!(out.exec == ok()) || !out.exit.exited(3))
            wrong++;
    }
    uint64_t during = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, nullptr, &during, sizeof during);
    ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old), 0);

    // (the kernel never blocks SIGKILL and SIGSTOP)
    EXPECT_EQ(during, all & ~(sigbit(SIGKILL) | sigbit(SIGSTOP))) << "the library left the caller's mask as it was";
    ASSERT_EQ(out_plain.exec, ok()) << joined(out_plain.log);
    EXPECT_EQ(hex_mask(out_plain["sigblk"]), 0u) << "the empty process starts with an empty mask";
    ASSERT_EQ(mask, ok());
    ASSERT_EQ(out_masked.exec, ok()) << joined(out_masked.log);
    EXPECT_EQ(hex_mask(out_masked["sigblk"]), sigbit(SIGUSR1) | sigbit(SIGTERM));
    EXPECT_EQ(wrong, 0);
    EXPECT_TRUE(no_children());
}

EP_INSTANTIATE_MATRIX(Reliability, Signals);

} // namespace
