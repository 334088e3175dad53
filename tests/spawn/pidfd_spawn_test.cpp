// SPDX-License-Identifier: MIT
// pidfd_spawn_test.cpp - what glibc 2.36 does not have, so only ep_ is tested: ep_pidfd_spawn(p),
// the cgroup attribute (ep_posix_spawnattr_setcgroup_np), ep_posix_spawnattr_setflags, and the
// inheritance flags of ep_open() used directly.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "spawn_support.hpp"

using namespace ep_test;

namespace {

// ---- pidfd_spawn -------------------------------------------------------------------------------

TEST(PidfdSpawn, GivesAPlainPidfdOfTheChild) {
    Capture cap;
    Actions fa(cap);
    std::vector<std::string> args = {"probe", "print", "exit", "7"};
    auto argv = cvec(args);
    char *envp[] = {nullptr};
    int pidfd = -1;
    errno = 4242;
    ASSERT_EQ(ep_pidfd_spawn(&pidfd, kSpawnProbe, fa.get(), nullptr, argv.data(), envp), 0);
    EXPECT_EQ(errno, 4242);
    ASSERT_GE(pidfd, 0);
    EXPECT_TRUE(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
    Result r;
    r.raw = cap.drain();
    parse_lines(r);
    // fdinfo names the pid the descriptor refers to: the probe's.
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(pidfd));
    std::string line, pid;
    while (std::getline(info, line))
        if (line.rfind("Pid:", 0) == 0)
            pid = line.substr(line.find_first_not_of(" \t", 4));
    EXPECT_EQ(pid, r["pid"]);
    Exit e = wait_pidfd(pidfd);
    EXPECT_TRUE(e.exited(7)) << describe(e);
    EXPECT_EQ(::close(pidfd), 0); // a plain descriptor: close(2), not ep_close
}

TEST(PidfdSpawn, SpawnpSearchesPath) {
    Capture cap;
    Actions fa(cap);
    std::vector<std::string> args = {"true"};
    auto argv = cvec(args);
    char *envp[] = {nullptr};
    int pidfd = -1;
    ASSERT_EQ(ep_pidfd_spawnp(&pidfd, "true", fa.get(), nullptr, argv.data(), envp), 0);
    Exit e = wait_pidfd(pidfd);
    EXPECT_TRUE(e.exited(0)) << describe(e);
    ::close(pidfd);
}

TEST(PidfdSpawn, FailureReturnsTheErrorAndLeavesPidfdAlone) {
    Actions fa;
    char *argv[] = {const_cast<char *>("x"), nullptr};
    int pidfd = -77;
    int before = fd_count();
    EXPECT_EQ(ep_pidfd_spawn(&pidfd, "/nonexistent", fa.get(), nullptr, argv, nullptr), ENOENT);
    EXPECT_EQ(pidfd, -77);
    EXPECT_EQ(fd_count(), before);
    EXPECT_TRUE(no_children());
}

TEST(PidfdSpawn, NullPidfdIsEINVAL) {
    char *argv[] = {const_cast<char *>("x"), nullptr};
    EXPECT_EQ(ep_pidfd_spawn(nullptr, kSpawnProbe, nullptr, nullptr, argv, nullptr), EINVAL);
}

// ---- attributes glibc 2.36 lacks ----------------------------------------------------------------

TEST(SpawnAttrExt, SetflagsTakesTheCgroupFlagGlibc236Refuses) {
    Attr attr;
    EXPECT_EQ(posix_spawnattr_setflags(attr.get(), EP_POSIX_SPAWN_SETCGROUP), EINVAL); // glibc 2.36
    EXPECT_EQ(ep_posix_spawnattr_setflags(attr.get(), EP_POSIX_SPAWN_SETCGROUP | POSIX_SPAWN_SETSID), 0);
    EXPECT_EQ(attr.flags(), EP_POSIX_SPAWN_SETCGROUP | POSIX_SPAWN_SETSID);
    EXPECT_EQ(ep_posix_spawnattr_setflags(attr.get(), 0x4000), EINVAL);
}

TEST(SpawnAttrExt, CgroupDescriptorRoundTrips) {
    Attr attr;
    EXPECT_EQ(ep_posix_spawnattr_setcgroup_np(attr.get(), 42), 0);
    int fd = -1;
    EXPECT_EQ(ep_posix_spawnattr_getcgroup_np(attr.get(), &fd), 0);
    EXPECT_EQ(fd, 42);
    // It lives in the padding: glibc's own fields are untouched.
    short flags = -1;
    posix_spawnattr_getflags(attr.get(), &flags);
    EXPECT_EQ(flags, 0);
}

TEST(SpawnAttrExt, SetcgroupPutsTheChildIntoTheCgroup) {
    const char *root = "/sys/fs/cgroup/unified";
    struct stat st {};
    if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
        root = "/sys/fs/cgroup";
    else if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) != 0)
        GTEST_SKIP() << "no cgroup v2 hierarchy mounted";
    std::string dir = std::string(root) + "/ep-spawn-test-" + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) < 0)
        GTEST_SKIP() << "cannot create " << dir << ": " << strerror(errno);
    Fd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(cg);
    Capture cap;
    Actions fa(cap);
    Attr attr;
    ASSERT_EQ(ep_posix_spawnattr_setcgroup_np(attr.get(), cg.get()), 0);
    ASSERT_EQ(ep_posix_spawnattr_setflags(attr.get(), EP_POSIX_SPAWN_SETCGROUP), 0);
    auto r = run_with(ep_posix_spawn, cap, "/bin/cat", fa, &attr, {"cat", "/proc/self/cgroup"});
    ASSERT_EQ(r.err, 0) << spawn_errno_name(r.err);
    EXPECT_TRUE(r.exit.exited(0)) << describe(r.exit);
    EXPECT_NE(r.raw.find("0::/ep-spawn-test-" + std::to_string(getpid())), std::string::npos) << r.raw;
    rmdir(dir.c_str());
}

// ---- ep_open's inheritance flags, without the posix_spawn layer -------------------------------------

struct Opened {
    int fd = -1;
    explicit Opened(uint64_t flags) {
        ep_open_how how{};
        how.flags = flags;
        fd = ep_open(&how, sizeof how);
    }
    ~Opened() {
        if (fd >= 0)
            ep_close(fd);
    }
};

// Run the probe in an opened empty process, stdout to a pipe; returns its key=value lines.
Result run_opened(Opened &o, int out_fd_key_aux, Capture &cap) {
    Result r;
    r.err = 0;
    if (out_fd_key_aux >= 0 && ep_config(o.fd, EP_CONFIG_SET_FD, "fd.1", nullptr, out_fd_key_aux) < 0)
        r.err = errno;
    if (!r.err && ep_config(o.fd, EP_CONFIG_SET_STRING, "argv", "probe", 0) < 0)
        r.err = errno;
    if (!r.err && ep_config(o.fd, EP_CONFIG_SET_PATH, "exec", kSpawnProbe, AT_FDCWD) < 0)
        r.err = errno;
    if (!r.err && ep_config(o.fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0) < 0)
        r.err = errno;
    r.raw = cap.drain();
    parse_lines(r);
    if (!r.err)
        r.exit = wait_pidfd(o.fd);
    return r;
}

TEST(InheritFlags, WithoutFlagsNothingIsInherited) {
    Fd plain(fcntl(0, F_DUPFD, 70));
    ASSERT_TRUE(plain);
    Capture cap;
    Opened o(0);
    ASSERT_GE(o.fd, 0);
    auto r = run_opened(o, cap.w(), cap);
    ASSERT_EQ(r.err, 0) << spawn_errno_name(r.err);
    EXPECT_EQ(r["fds"], "1");
}

TEST(InheritFlags, InheritFdsKeepsDescriptorsWithoutCloexec) {
    Fd plain(fcntl(0, F_DUPFD, 70));
    Fd cloexec(fcntl(0, F_DUPFD_CLOEXEC, 71));
    ASSERT_TRUE(plain && cloexec);
    Capture cap;
    Opened o(EP_OPEN_INHERIT_FDS);
    ASSERT_GE(o.fd, 0);
    auto r = run_opened(o, cap.w(), cap);
    ASSERT_EQ(r.err, 0) << spawn_errno_name(r.err);
    EXPECT_TRUE(r.has("fd.70"));
    EXPECT_FALSE(r.has("fd.71"));
}

TEST(InheritFlags, InheritFdsLetsCloseAndDupActOnTheInheritedTable) {
    Fd plain(fcntl(0, F_DUPFD, 72));
    ASSERT_TRUE(plain);
    Capture cap;
    Opened o(EP_OPEN_INHERIT_FDS);
    ASSERT_GE(o.fd, 0);
    ASSERT_EQ(ep_config(o.fd, EP_CONFIG_SET_STRING, "dup.73", "72", 0), 0);
    ASSERT_EQ(ep_config(o.fd, EP_CONFIG_SET_FLAG, "close.72", nullptr, 0), 0);
    auto r = run_opened(o, cap.w(), cap);
    ASSERT_EQ(r.err, 0) << spawn_errno_name(r.err);
    EXPECT_FALSE(r.has("fd.72"));
    EXPECT_TRUE(r.has("fd.73"));
}

TEST(InheritFlags, DupOfADescriptorTheStubHoldsIsEBADF) {
    // Without inheritance the stub's table holds only its channel, so the exec pipe's write end, which
    // rides the last frame, arrives as descriptor 0. It is the stub's, not the program's: "dup.20" =
    // "0" must see a closed descriptor, as the program would, not hand the pipe to the program.
    Opened o(0);
    ASSERT_GE(o.fd, 0);
    ASSERT_EQ(ep_config(o.fd, EP_CONFIG_SET_STRING, "dup.20", "0", 0), 0);
    ASSERT_EQ(ep_config(o.fd, EP_CONFIG_SET_PATH, "exec", kSpawnProbe, AT_FDCWD), 0);
    EXPECT_EQ(ep_config(o.fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST(InheritFlags, InheritSigignKeepsIgnoredSignals) {
    struct sigaction ign {
    }, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR1, &ign, &old);
    Capture cap;
    Opened with(EP_OPEN_INHERIT_SIGIGN);
    Opened without(0);
    sigaction(SIGUSR1, &old, nullptr);
    ASSERT_GE(with.fd, 0);
    ASSERT_GE(without.fd, 0);
    auto r = run_opened(with, cap.w(), cap);
    ASSERT_EQ(r.err, 0) << spawn_errno_name(r.err);
    EXPECT_TRUE(std::strtoull(r["sigign"].c_str(), nullptr, 16) & (1ull << (SIGUSR1 - 1))) << r["sigign"];
    Capture cap2;
    auto r2 = run_opened(without, cap2.w(), cap2);
    ASSERT_EQ(r2.err, 0) << spawn_errno_name(r2.err);
    EXPECT_EQ(std::strtoull(r2["sigign"].c_str(), nullptr, 16), 0u) << r2["sigign"];
}

TEST(InheritFlags, UnknownOpenFlagIsStillEINVAL) {
    ep_open_how how{};
    how.flags = 1ull << 40;
    EXPECT_EQ(ep_open(&how, sizeof how), -1);
    EXPECT_EQ(errno, EINVAL);
}

} // namespace
