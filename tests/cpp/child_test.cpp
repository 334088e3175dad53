// SPDX-License-Identifier: MIT
// child_test.cpp - ep::Child: wait() and exit statuses, signal(), try_wait(), detach(), the
// destructor that kills and reaps, moves that never double-close.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cpp_probe.hpp"

using ep_test::gone;

namespace {

ep::Child spawn_probe(std::initializer_list<std::string> words) {
    ep::Builder b;
    b.arg("probe");
    for (const auto &w : words)
        b.arg(w);
    return b.exec(EP_PROBE_PATH).spawn();
}

TEST(CppChild, WaitGivesTheExitCode) {
    ep::Child c = spawn_probe({"exit", "7"});
    ASSERT_TRUE(c);
    EXPECT_GT(c.pid(), 0);
    ep::ExitStatus st = c.wait();
    EXPECT_TRUE(st.exited());
    EXPECT_FALSE(st.signaled());
    EXPECT_EQ(st.code(), 7);
    EXPECT_EQ(st.shell_code(), 7);
    EXPECT_EQ(st.cld_code(), CLD_EXITED);
    EXPECT_EQ(c.wait(), st); // cached: a second wait reaps nothing
    ASSERT_TRUE(c.status());
    EXPECT_EQ(*c.status(), st);
}

TEST(CppChild, WaitGivesTheSignal) {
    ep::Child c = spawn_probe({"kill", std::to_string(SIGTERM)});
    ep::ExitStatus st = c.wait();
    EXPECT_FALSE(st.exited());
    EXPECT_TRUE(st.signaled());
    EXPECT_EQ(st.signal(), SIGTERM);
    EXPECT_EQ(st.code(), -1);
    EXPECT_EQ(st.shell_code(), 128 + SIGTERM);
}

TEST(CppChild, SignalGoesThroughThePidfd) {
    ep::Child c = spawn_probe({"sleep", "30"});
    std::error_code ec;
    EXPECT_FALSE(c.try_wait(ec).has_value()); // still running
    EXPECT_FALSE(ec);
    c.signal(SIGUSR1);
    ep::ExitStatus st = c.wait();
    EXPECT_EQ(st.signal(), SIGUSR1);
    // Reaped: the pidfd refuses to signal, whatever now has that pid.
    c.signal(SIGKILL, ec);
    EXPECT_EQ(ec, std::errc::no_such_process);
    EXPECT_THROW(c.signal(SIGKILL), std::system_error);
}

TEST(CppChild, SignalFromAnotherThreadWhileWaiting) {
    ep::Child c = spawn_probe({"sleep", "30"});
    std::thread watchdog([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        c.signal(SIGTERM);
    });
    ep::ExitStatus st = c.wait();
    watchdog.join();
    EXPECT_EQ(st.signal(), SIGTERM);
}

TEST(CppChild, PidfdPollsReadableWhenTheProgramEnds) {
    ep::Child c = spawn_probe({"exit", "0"});
    struct pollfd pfd = {c.pidfd(), POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 10000), 1);
    std::error_code ec;
    auto st = c.try_wait(ec);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->code(), 0);
}

TEST(CppChild, DestructorKillsAndReapsARunningProgram) {
    pid_t pid;
    auto start = std::chrono::steady_clock::now();
    {
        ep::Child c = spawn_probe({"sleep", "30"});
        pid = c.pid();
        ASSERT_EQ(kill(pid, 0), 0);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_TRUE(gone(pid)); // no process, no zombie
}

TEST(CppChild, DestructorReapsAProgramThatEndedUnwaited) {
    pid_t pid;
    {
        ep::Child c = spawn_probe({"exit", "0"});
        pid = c.pid();
        struct pollfd pfd = {c.pidfd(), POLLIN, 0};
        ASSERT_EQ(poll(&pfd, 1, 10000), 1); // a zombie now
    }
    EXPECT_TRUE(gone(pid));
}

TEST(CppChild, DetachLetsTheProgramRun) {
    pid_t pid;
    {
        ep::Child c = spawn_probe({"exit", "5"});
        pid = c.detach();
        EXPECT_FALSE(c);
        EXPECT_EQ(c.pidfd(), -1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid); // not killed, and ours to reap
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 5);
}

TEST(CppChild, MoveTransfersOwnershipWithoutDoubleClose) {
    ep::Child a = spawn_probe({"exit", "4"});
    int fd = a.pidfd();
    pid_t pid = a.pid();
    ep::Child b;
    {
        ep::Child moved = std::move(a);
        EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): the moved-from state is specified
        EXPECT_EQ(a.pidfd(), -1);
        b = std::move(moved);
    } // moved's destructor: nothing to do
    EXPECT_EQ(b.pidfd(), fd);
    EXPECT_EQ(b.pid(), pid);
    EXPECT_GE(fcntl(fd, F_GETFD), 0); // still open
    EXPECT_EQ(b.wait().code(), 4);
}

TEST(CppChild, MoveAssignmentKillsWhatItReplaces) {
    ep::Child c = spawn_probe({"sleep", "30"});
    pid_t old = c.pid();
    c = spawn_probe({"exit", "0"});
    EXPECT_TRUE(gone(old));
    EXPECT_EQ(c.wait().code(), 0);
}

TEST(CppChild, EmptyChildReportsEbadf) {
    ep::Child c;
    std::error_code ec;
    c.wait(ec);
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
    c.signal(SIGTERM, ec);
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
    EXPECT_THROW(c.wait(), std::system_error);
}

} // namespace
