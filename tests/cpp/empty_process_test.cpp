// SPDX-License-Identifier: MIT
// empty_process_test.cpp - ep::EmptyProcess: the fsconfig-style dialogue, its log, and a
// destructor that kills the stub that never exec'd.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cpp_probe.hpp"

using ep_test::gone;

namespace {

std::string comm_of(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string s;
    std::getline(f, s);
    return s;
}

TEST(CppEmptyProcess, OpenGivesAPausedStub) {
    ep::EmptyProcess p = ep::EmptyProcess::open();
    ASSERT_TRUE(p);
    EXPECT_GT(p.pid(), 0);
    EXPECT_EQ(ep_pid(p.pidfd()), p.pid());
    // The stub names itself in its prologue, which ep_open() does not wait for: allow it a moment.
    std::string comm;
    for (int i = 0; i < 200 && (comm = comm_of(p.pid())) != "ep-stub"; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(comm, "ep-stub");
    EXPECT_FALSE(p.execd());
}

TEST(CppEmptyProcess, DestructorKillsTheStubThatDidNotExec) {
    pid_t pid;
    {
        ep::EmptyProcess p = ep::EmptyProcess::open();
        pid = p.pid();
        p.config(EP_CONFIG_SET_PATH, "exec", EP_PROBE_PATH, AT_FDCWD);
        ASSERT_EQ(kill(pid, 0), 0);
    }
    EXPECT_TRUE(gone(pid));
}

TEST(CppEmptyProcess, ConfigExecReleaseWait) {
    ep::EmptyProcess p = ep::EmptyProcess::open();
    pid_t pid = p.pid();
    p.config(EP_CONFIG_SET_STRING, "argv", "probe", 0);
    p.config(EP_CONFIG_SET_STRING, "argv", "exit", 0);
    p.config(EP_CONFIG_SET_STRING, "argv", "9", 0);
    p.config(EP_CONFIG_SET_PATH, "exec", EP_PROBE_PATH, AT_FDCWD);
    p.exec();
    EXPECT_TRUE(p.execd());
    ep::Child c = p.release();
    EXPECT_FALSE(p);
    ASSERT_TRUE(c);
    EXPECT_EQ(c.pid(), pid); // the stub became the program: same process
    EXPECT_EQ(c.wait().code(), 9);
}

TEST(CppEmptyProcess, ReleaseBeforeExecGivesNothing) {
    ep::EmptyProcess p = ep::EmptyProcess::open();
    ep::Child c = p.release();
    EXPECT_FALSE(c);
    EXPECT_TRUE(p); // still open, still killable by its destructor
}

TEST(CppEmptyProcess, ExecdButNotReleasedIsKilledLikeAChild) {
    pid_t pid;
    {
        ep::EmptyProcess p = ep::EmptyProcess::open();
        pid = p.pid();
        p.config(EP_CONFIG_SET_STRING, "argv", "probe", 0);
        p.config(EP_CONFIG_SET_STRING, "argv", "sleep", 0);
        p.config(EP_CONFIG_SET_STRING, "argv", "30", 0);
        p.config(EP_CONFIG_SET_PATH, "exec", EP_PROBE_PATH, AT_FDCWD);
        p.exec();
    }
    EXPECT_TRUE(gone(pid));
}

TEST(CppEmptyProcess, RejectedConfigLeavesItsMessageOnTheLog) {
    ep::EmptyProcess p = ep::EmptyProcess::open();
    std::error_code ec;
    p.config(EP_CONFIG_SET_FLAG, "bogus", nullptr, 0, ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    std::vector<std::string> log = p.log();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0], "e bogus: unknown key");
    EXPECT_TRUE(p.log().empty()); // drained

    try {
        p.config(EP_CONFIG_SET_STRING, "umask", "9", 0);
        FAIL() << "no exception";
    } catch (const ep::spawn_error &e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_EQ(e.log().rfind("e umask: ", 0), 0u) << e.log();
    }
}

TEST(CppEmptyProcess, SyncModeFailedExecLeavesItConfigurable) {
    ep::EmptyProcess p = ep::EmptyProcess::open(ep::OpenHow{.sync = true});
    std::error_code ec;
    p.config(EP_CONFIG_SET_STRING, "argv", "probe", 0);
    p.config(EP_CONFIG_SET_PATH, "exec", "/nonexistent-ep-dir/prog", AT_FDCWD);
    p.exec(ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_FALSE(p.execd());
    std::vector<std::string> log = p.log();
    ASSERT_FALSE(log.empty());
    EXPECT_NE(log.back().find("ENOENT"), std::string::npos) << log.back();

    p.config(EP_CONFIG_SET_PATH, "exec", EP_PROBE_PATH, AT_FDCWD); // try another target
    p.exec(ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(p.release().wait().code(), 0);
}

TEST(CppEmptyProcess, ExecTwiceIsEalready) {
    ep::EmptyProcess p = ep::EmptyProcess::open();
    p.config(EP_CONFIG_SET_PATH, "exec", EP_PROBE_PATH, AT_FDCWD);
    p.config(EP_CONFIG_SET_STRING, "argv", "probe", 0);
    p.config(EP_CONFIG_SET_STRING, "argv", "exit", 0);
    p.config(EP_CONFIG_SET_STRING, "argv", "0", 0);
    p.exec();
    std::error_code ec;
    p.exec(ec);
    EXPECT_EQ(ec, std::errc::connection_already_in_progress);
    EXPECT_EQ(p.release().wait().code(), 0);
}

TEST(CppEmptyProcess, MoveTransfersTheHandleWithoutDoubleClose) {
    ep::EmptyProcess a = ep::EmptyProcess::open();
    int handle = a.pidfd();
    pid_t pid = a.pid();
    ep::EmptyProcess b;
    {
        ep::EmptyProcess moved(std::move(a));
        EXPECT_FALSE(a); // NOLINT(bugprone-use-after-move): the moved-from state is specified
        b = std::move(moved);
    } // moved's destructor must not ep_close() the handle b now owns
    EXPECT_EQ(b.pidfd(), handle);
    EXPECT_EQ(ep_pid(handle), pid); // still a live handle
    EXPECT_EQ(kill(pid, 0), 0);

    ep::EmptyProcess other = ep::EmptyProcess::open();
    pid_t other_pid = other.pid();
    other = std::move(b); // the stub other held is killed and reaped
    EXPECT_TRUE(gone(other_pid));
    EXPECT_EQ(other.pid(), pid);
    other = ep::EmptyProcess();
    EXPECT_TRUE(gone(pid));
}

} // namespace
