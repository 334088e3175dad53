// SPDX-License-Identifier: MIT
// lifecycle_test.cpp - the kill rules: a stub that does not exec never survives its stream (ep_close,
// the caller's exit or death), leaves no zombie, and many spawns in a row leak nothing.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Stub : public MatrixTest {};

// Our own pidfd on the stub, to watch it independently of the library's.
Fd watch(pid_t pid) {
    return Fd(sys_pidfd_open(pid));
}

void expect_reaped(pid_t pid, int watch_fd) {
    EXPECT_TRUE(wait_exit_ready(watch_fd, 5000)) << "the stub did not exit";
    siginfo_t info{};
    EXPECT_EQ(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | __WALL), -1)
        << "the stub is still waitable (a zombie)";
    EXPECT_EQ(errno, ECHILD);
    EXPECT_EQ(proc_state(pid), 0) << "/proc/" << pid << " still exists";
    EXPECT_TRUE(no_children());
}

TEST_P(Stub, CloseBeforeExecLeavesNoProcessAndNoZombie) {
    Empty e(GetParam());
    ASSERT_TRUE(e.opened()) << errno_name(e.open_errno());
    pid_t pid = e.pid();
    Fd w = watch(pid);
    ASSERT_TRUE(w);
    ASSERT_EQ(e.str("umask", "077"), ok());
    ASSERT_EQ(e.path("exec", kProbe), ok());
    EXPECT_NE(proc_state(pid), 0);
    EXPECT_EQ(e.close(), ok());
    expect_reaped(pid, w.get());
}

TEST_P(Stub, CloseRightAfterOpenLeavesNoProcess) {
    Empty e(GetParam());
    ASSERT_TRUE(e.opened());
    pid_t pid = e.pid();
    Fd w = watch(pid);
    EXPECT_EQ(e.close(), ok());
    expect_reaped(pid, w.get());
}

TEST_P(Stub, CloseAfterAFailedOpLeavesNoZombie) {
    Empty e(GetParam());
    pid_t pid = e.pid();
    Fd w = watch(pid);
    ASSERT_EQ(e.str("argv", "probe"), ok());
    // Sync: the failure is known at once and the stub waits for more. Batched: at CMD_EXEC.
    EXPECT_EQ(e.path("cwd", tmp / "missing"), e.sync() ? fails(ENOENT) : ok());
    ASSERT_EQ(e.path("exec", kProbe), ok());
    if (!e.sync()) {
        EXPECT_EQ(e.exec(), fails(ENOENT));
    }
    EXPECT_EQ(e.close(), ok());
    expect_reaped(pid, w.get());
}

TEST_P(Stub, CloseAfterExecLeavesTheProgramRunningAsOurChild) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    Fd hold_r(p[0]), hold_w(p[1]);
    Empty e(GetParam());
    ASSERT_EQ(e.pass("fd.0", hold_r.get()), ok());
    ASSERT_EQ(e.str("argv", "probe"), ok());
    ASSERT_EQ(e.str("argv", "read"), ok());
    ASSERT_EQ(e.str("argv", "0"), ok());
    ASSERT_EQ(e.path("exec", kProbe), ok());
    ASSERT_EQ(e.exec(), ok()) << joined(e.log());
    pid_t pid = e.pid();
    Fd w = watch(pid);
    EXPECT_EQ(e.close(), ok());
    // Still running: it blocks reading fd 0 until we close the pipe's write end.
    pollfd pf{w.get(), POLLIN, 0};
    EXPECT_EQ(poll(&pf, 1, 0), 0) << "ep_close() after the exec must not kill the program";
    EXPECT_NE(proc_state(pid), 'Z');
    hold_w.reset();
    hold_r.reset();
    int status = 0;
    ASSERT_TRUE(wait_exit_ready(w.get(), 10000));
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(no_children());
}

TEST_P(Stub, ClosingThePidfdBehindTheLibrarysBackKillsTheStub) {
    ep_open_how how = GetParam().how();
    int fd = ep_open(&how, sizeof how);
    ASSERT_GE(fd, 0);
    pid_t pid = ep_pid(fd);
    Fd w = watch(pid);
    ASSERT_EQ(close(fd), 0); // not ep_close(): the library notices on the next call
    EXPECT_EQ(rc_of(ep_pid(fd)), fails(EBADF));
    expect_reaped(pid, w.get());
}

TEST_P(Stub, ConfigAfterASuccessfulExecIsEalready) {
    Spawn s(GetParam());
    auto out = s.run({"exit", "0"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(s.str("umask", "022"), fails(EALREADY));
    EXPECT_EQ(s.exec(), fails(EALREADY));
    auto log = s.log();
    EXPECT_TRUE(has_message(log, "e umask: ", "already")) << joined(log);
    EXPECT_TRUE(has_message(log, "e exec: ", "already")) << joined(log);
}

TEST_P(Stub, AThousandSpawnsLeakNoDescriptorAndLeaveNoChild) {
    const int before = fd_count();
    const auto fds_before = open_fds();
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        Empty e(GetParam());
        if (!e.opened() || !(e.str("argv", "probe") == ok()) || !(e.str("argv", "exit") == ok()) ||
            !(e.str("argv", "0") == ok()) || !(e.path("exec", kProbe) == ok()) || !(e.exec() == ok())) {
            ADD_FAILURE() << "spawn " << i << ": " << joined(e.log());
            break;
        }
        Exit x = wait_pidfd(e.fd());
        if (!x.exited(0) && bad++ < 5)
            ADD_FAILURE() << "spawn " << i << ": " << describe(x);
    }
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(fd_count(), before);
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

TEST_P(Stub, TwoHundredFailedSpawnsLeakNothing) {
    const auto fds_before = open_fds();
    for (int i = 0; i < 200; i++) {
        Empty e(GetParam());
        ASSERT_TRUE(e.opened());
        ASSERT_EQ(e.path("exec", tmp / "missing"), ok());
        ASSERT_EQ(e.exec(), fails(ENOENT));
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

TEST_P(Stub, TwoHundredAbandonedStreamsLeakNothing) {
    const auto fds_before = open_fds();
    std::string file = tmp.file("f", "x");
    Fd f(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    for (int i = 0; i < 200; i++) {
        Empty e(GetParam());
        ASSERT_TRUE(e.opened());
        ASSERT_EQ(e.pass("fd.3", f.get()), ok());
        ASSERT_EQ(e.path("open.4", file), ok());
    } // ~Empty: ep_close() before any exec
    f.reset();
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

// Four threads spawning at once: every CMD_EXEC must return 0 for a program that ran. (A stub cloned
// by another thread briefly holds copies of the caller's fds, this handle's socket end among them:
// the exec must be told by the stub's private exec pipe, not by the channel's EOF.)
TEST_P(Stub, ThreadsSpawningAtOnceEachGetTheirOwnProcess) {
    const auto fds_before = open_fds();
    std::atomic<int> wrong{0}, done{0};
    std::mutex mu;
    std::string report;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; i++) {
                Spawn s(GetParam());
                std::string word = "t" + std::to_string(t) + "-" + std::to_string(i);
                Rc r = s.stdout_to_pipe();
                if (r == ok())
                    r = s.args({"write", "1", word});
                if (r == ok())
                    r = s.exec_probe();
                Output out = s.finish();
                if (!(r == ok()) || !(out.exec == ok()) || out.raw != word + "\n" || !out.exit.exited(0)) {
                    if (wrong++ < 5) {
                        std::lock_guard lock(mu);
                        report += word + ": ops " + std::to_string(r.rc) + "/" + errno_name(r.err) + ", exec " +
                                  std::to_string(out.exec.rc) + "/" + errno_name(out.exec.err) + ", output '" +
                                  out.raw + "', " + describe(out.exit) + ", log: " + joined(out.log) + "\n";
                    }
                }
                done++;
            }
        });
    for (auto &th : threads)
        th.join();
    EXPECT_EQ(done.load(), 800);
    EXPECT_EQ(wrong.load(), 0) << report;
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

// Another process holding a copy of the caller's descriptors (a fork() anywhere in the program while
// a handle is open: system(), popen(), another spawner) keeps the stub's socket end open, so the
// channel never reaches EOF at the exec. CMD_EXEC must still return 0 as soon as the exec succeeded.
TEST_P(Stub, ExecSucceedsWhileAForkedProcessHoldsCopiesOfTheCallersDescriptors) {
    int hold[2];
    ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
    Fd hold_r(hold[0]), hold_w(hold[1]);
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened());
    pid_t other = fork(); // holds every descriptor the caller has now, the library's included
    if (other == 0) {
        ::close(hold[1]);
        ::close(s.out_w()); // not the probe's output pipe: the test reads that until EOF
        char c;
        while (read(hold_r.get(), &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    ASSERT_GT(other, 0);
    hold_r.reset();
    auto out = s.run({"write", "1", "ran"});
    hold_w.reset(); // lets the other process go
    int status;
    EXPECT_EQ(waitpid(other, &status, 0), other);
    EXPECT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out.raw, "ran\n");
    if (out.exec == ok()) {
        EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    } else {
        EXPECT_TRUE(wait_pidfd(s.fd()).exited(0)) << "the program did run and exit 0";
    }
    EXPECT_TRUE(no_children());
}

// With a copy of the descriptors held elsewhere, CMD_EXEC must not wait for the program to end.
// The program here waits for its stdin; a watchdog thread closes
// that after 3 s, so the test is bounded. Expected: CMD_EXEC returns 0 at once.
TEST_P(Stub, ExecReturnsWhileTheProgramRunsEvenIfAForkedProcessHoldsDescriptors) {
    int hold[2], input[2], done[2];
    ASSERT_EQ(pipe2(hold, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(input, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(done, O_CLOEXEC), 0);
    Fd hold_r(hold[0]), hold_w(hold[1]), input_r(input[0]), done_r(done[0]), done_w(done[1]);
    std::atomic<int> input_w{input[1]};
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened());
    pid_t other = fork();
    if (other == 0) {
        ::close(hold[1]);
        ::close(input[1]);
        char c;
        while (read(hold_r.get(), &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    ASSERT_GT(other, 0);
    hold_r.reset();
    std::thread watchdog([&] {
        pollfd p{done_r.get(), POLLIN, 0};
        poll(&p, 1, 3000);
        ::close(input_w.exchange(-1)); // the program's stdin ends: it exits
    });
    ASSERT_EQ(s.pass("fd.0", input_r.get()), ok());
    input_r.reset();
    ASSERT_EQ(s.args({"read", "0"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto t0 = std::chrono::steady_clock::now();
    Rc r = s.exec();
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    bool running = proc_state(s.pid()) != 0 && proc_state(s.pid()) != 'Z';
    if (write(done_w.get(), "x", 1) != 1)
        ADD_FAILURE() << "done pipe";
    watchdog.join();
    hold_w.reset();
    EXPECT_EQ(waitpid(other, nullptr, 0), other);
    EXPECT_EQ(r, ok()) << joined(s.log());
    EXPECT_LT(waited.count(), 2000) << "CMD_EXEC waited for the program to exit";
    EXPECT_TRUE(running) << "the program should still have been running when CMD_EXEC returned";
    EXPECT_TRUE(wait_pidfd(s.fd()).exited(0));
    EXPECT_TRUE(no_children());
}

// After a fork() of the caller, the child's spawns are its own: whatever the library had prepared
// in the parent (a pooled stub, the zygote, the slots) is the parent's, and the child's stub must be
// the child's child (waitid works there), while the parent goes on spawning as before.
TEST_P(Stub, AForkedCallerSpawnsItsOwnChildren) {
    auto warm = Spawn(GetParam()).run({"exit", "0"});
    ASSERT_EQ(warm.exec, ok()) << joined(warm.log);
    pid_t child = fork();
    if (child == 0) {
        ep_open_how how = GetParam().how();
        for (int i = 0; i < 3; i++) {
            int fd = ep_open(&how, sizeof how);
            if (fd < 0)
                _exit(10);
            ep_config(fd, EP_CONFIG_SET_STRING, "argv", "probe", 0);
            ep_config(fd, EP_CONFIG_SET_STRING, "argv", "exit", 0);
            ep_config(fd, EP_CONFIG_SET_STRING, "argv", "7", 0);
            ep_config(fd, EP_CONFIG_SET_PATH, "exec", kProbe, AT_FDCWD);
            if (ep_config(fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0) < 0)
                _exit(11);
            siginfo_t info{};
            if (waitid(P_PID, static_cast<id_t>(ep_pid(fd)), &info, WEXITED) < 0)
                _exit(12); // not our child
            if (info.si_code != CLD_EXITED || info.si_status != 7)
                _exit(13);
            ep_close(fd);
        }
        ep_cache_release(0);
        siginfo_t info{};
        _exit(waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WALL) < 0 && errno == ECHILD ? 0 : 14);
    }
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the forked caller failed at step " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    auto again = Spawn(GetParam()).run({"exit", "0"});
    EXPECT_EQ(again.exec, ok()) << joined(again.log);
    EXPECT_TRUE(again.exit.exited(0)) << describe(again.exit);
    EXPECT_TRUE(no_children());
}

// ---- the caller goes away ----------------------------------------------------------------------

// This process becomes the reaper of orphans for the scope, so that a stub whose caller died is
// reparented to us and its end can be seen (and reaped) here.
class Subreaper {
  public:
    Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
    ~Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

enum class CallerEnd { Exits, Killed };

// Fork a caller that opens an empty process, streams some ops, reports the stub's pid, then exits
// without ep_close() or blocks until it is SIGKILLed. Returns how the stub ended.
Exit orphan_stub(const Matrix &m, CallerEnd end, bool before_exec_key) {
    Subreaper reaper;
    int report[2], hold[2];
    if (pipe2(report, O_CLOEXEC) || pipe2(hold, O_CLOEXEC)) {
        ADD_FAILURE() << "pipe";
        return {};
    }
    pid_t caller = fork();
    if (caller == 0) {
        close(report[0]);
        close(hold[1]);
        ep_open_how how = m.how();
        int fd = ep_open(&how, sizeof how);
        pid_t pid = fd >= 0 ? ep_pid(fd) : -1;
        if (fd >= 0) {
            ep_config(fd, EP_CONFIG_SET_STRING, "umask", "022", 0);
            ep_config(fd, EP_CONFIG_SET_STRING, "argv", "probe", 0);
            if (!before_exec_key)
                ep_config(fd, EP_CONFIG_SET_PATH, "exec", kProbe, AT_FDCWD);
        }
        if (write(report[1], &pid, sizeof pid) != sizeof pid)
            _exit(3);
        if (end == CallerEnd::Killed) {
            char c;
            while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
            }
        }
        _exit(0); // no ep_close(), no destructors
    }
    close(report[1]);
    close(hold[0]);
    Fd report_r(report[0]), hold_w(hold[1]);
    Exit result;
    pid_t stub = -1;
    pollfd p{report_r.get(), POLLIN, 0};
    if (poll(&p, 1, 10000) == 1 && read(report_r.get(), &stub, sizeof stub) == sizeof stub && stub > 0) {
        Fd w = watch(stub); // the stub is alive or a zombie nobody reaped: the pid is still ours to watch
        if (end == CallerEnd::Killed)
            kill(caller, SIGKILL);
        int status;
        waitpid(caller, &status, 0);
        if (end == CallerEnd::Killed) {
            EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
        } else {
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        }
        if (!w) {
            ADD_FAILURE() << "pidfd_open(" << stub << "): " << errno_name(errno);
        } else if (wait_exit_ready(w.get(), 5000)) {
            result = wait_pidfd(w.get()); // reparented to us: reap it
        } else {
            ADD_FAILURE() << "the stub " << stub << " is still there 5 s after its caller went away";
            kill(stub, SIGKILL);
            wait_pidfd(w.get());
        }
    } else {
        ADD_FAILURE() << "the forked caller reported no stub pid";
        kill(caller, SIGKILL);
        waitpid(caller, nullptr, 0);
    }
    // What else the dead caller left to us must end too: its zygote (parent-death signal) and its
    // pool's stubs (their channels' EOF). Each is reaped here, and must be gone within 5 s.
    for (;;) {
        siginfo_t info{};
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
            break;              // ECHILD: nothing left
        if (info.si_pid == 0) { // children still running: give them their 5 s, then name them
            pollfd none{-1, 0, 0};
            bool ended = false;
            for (int i = 0; i < 50 && !ended; i++) {
                poll(&none, 0, 100);
                siginfo_t again{};
                ended = waitid(P_ALL, 0, &again, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0 && again.si_pid != 0;
            }
            if (!ended) {
                ADD_FAILURE() << "a process the dead caller left is still running 5 s later";
                break;
            }
            continue;
        }
        std::string comm = proc_comm(info.si_pid);
        EXPECT_TRUE(comm == "ep-zygote" || comm == "ep-stub") << "unexpected orphan " << info.si_pid << " " << comm;
        waitpid(info.si_pid, nullptr, __WALL);
    }
    EXPECT_TRUE(no_children());
    if (stub > 0) {
        EXPECT_EQ(proc_state(stub), 0);
    }
    return result;
}

TEST_P(Stub, StreamEndedWithoutExecKillsTheStubWithSigkill) {
    Exit e = orphan_stub(GetParam(), CallerEnd::Exits, false);
    EXPECT_TRUE(e.killed(SIGKILL)) << describe(e);
}

TEST_P(Stub, CallerKilledMidStreamLeavesNoStub) {
    Exit e = orphan_stub(GetParam(), CallerEnd::Killed, false);
    EXPECT_TRUE(e.killed(SIGKILL)) << describe(e);
}

TEST_P(Stub, CallerKilledBeforeAnExecKeyLeavesNoStub) {
    Exit e = orphan_stub(GetParam(), CallerEnd::Killed, true);
    EXPECT_TRUE(e.killed(SIGKILL)) << describe(e);
}

EP_INSTANTIATE_MATRIX(Lifecycle, Stub);

} // namespace
