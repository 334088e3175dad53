// SPDX-License-Identifier: MIT
// security_test.cpp - what a dropped program must not get back or get at: the uid it was dropped
// from (nor a capability), the caller's supplementary groups, the caller's descriptors; and exec by
// descriptor must run the file that was opened, whatever the path names by then.
#include <fcntl.h>
#include <grp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "reliability.hpp"

using namespace ep_test;

namespace {

constexpr const char *kRegain = EP_REGAIN_PATH;
constexpr const char *kNoCaps = "0000000000000000";

class Security : public MatrixTest {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "needs root: the tests drop from uid 0";
    }
    // Run regain with the given credential ops first.
    Output regain(const std::vector<std::pair<const char *, std::string>> &creds) {
        Spawn s(GetParam());
        EXPECT_TRUE(s.opened()) << errno_name(s.open_errno());
        EXPECT_EQ(s.stdout_to_pipe(), ok());
        for (const auto &[key, value] : creds)
            EXPECT_EQ(s.str(key, value), ok()) << key << " " << joined(s.log());
        EXPECT_EQ(s.path("exec", kRegain), ok());
        return s.finish();
    }
};

TEST_P(Security, ADroppedUidCannotBeRegainedByTheTarget) {
    auto out = regain({{"gid", "65534"}, {"uid", "65534"}});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    // Real, effective, saved and filesystem ids: all four dropped, before the tries and after them.
    for (const std::string when : {"status.", "after."}) {
        EXPECT_EQ(out[when + "Uid"], "65534 65534 65534 65534");
        EXPECT_EQ(out[when + "Gid"], "65534 65534 65534 65534");
        EXPECT_EQ(out[when + "Groups"], "") << "no group kept from the root caller";
        EXPECT_EQ(out[when + "CapPrm"], kNoCaps);
        EXPECT_EQ(out[when + "CapEff"], kNoCaps);
        EXPECT_EQ(out[when + "CapAmb"], kNoCaps);
        EXPECT_EQ(out[when + "CapInh"], kNoCaps);
    }
    for (const char *call :
         {"setuid", "setresuid", "setreuid", "seteuid", "setfsuid", "setgid", "setresgid", "setgroups", "capset"})
        EXPECT_EQ(out[std::string("try.") + call], "EPERM") << call;
}

TEST_P(Security, AUidDropWithoutGroupsClearsTheCallersSupplementaryGroups) {
    // The caller has groups of its own; a program dropped to another uid must not keep them.
    std::vector<gid_t> saved(static_cast<size_t>(getgroups(0, nullptr)));
    ASSERT_EQ(getgroups(static_cast<int>(saved.size()), saved.data()), static_cast<int>(saved.size()));
    const gid_t mine[] = {1234, 5678};
    ASSERT_EQ(setgroups(2, mine), 0) << errno_name(errno);
    auto out = regain({{"uid", "65534"}});
    auto kept = regain({{"groups", "100,200"}, {"uid", "65534"}});
    auto as_is = regain({});
    ASSERT_EQ(setgroups(saved.size(), saved.data()), 0);

    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["status.Groups"], "") << "groups are cleared unless set";
    EXPECT_EQ(out["status.Uid"], "65534 65534 65534 65534");
    EXPECT_EQ(out["try.setgroups"], "EPERM");
    EXPECT_EQ(out["after.Groups"], "");
    ASSERT_EQ(kept.exec, ok()) << joined(kept.log);
    EXPECT_EQ(kept["status.Groups"], "100 200") << "groups given before uid are kept";
    EXPECT_EQ(kept["try.setgroups"], "EPERM");
    EXPECT_EQ(kept["after.Groups"], "100 200");
    ASSERT_EQ(as_is.exec, ok()) << joined(as_is.log);
    EXPECT_EQ(as_is["status.Groups"], "1234 5678") << "without a uid change the caller's groups stay (semantics.md)";
}

// Credentials are per thread in the kernel; glibc's setgroups() changes every thread's, the raw
// system call only the calling thread's. A program spawned after such a change has the calling
// thread's groups, or (zygote: its zygote is started by a thread of the library's, which kept the old
// ones) ep_open() refuses with EOPNOTSUPP and says why: never a program with the other thread's.
TEST_P(Security, GroupsChangedOnTheCallingThreadOnlyReachTheProgramOrTheSpawnIsRefused) {
    auto before = regain({}); // the library's threads (zygote keeper, pool refill) exist from here on
    ASSERT_EQ(before.exec, ok()) << joined(before.log);
    std::vector<gid_t> saved(static_cast<size_t>(getgroups(0, nullptr)));
    ASSERT_EQ(getgroups(static_cast<int>(saved.size()), saved.data()), static_cast<int>(saved.size()));
    const gid_t mine[] = {4321, 8765};
    ASSERT_EQ(syscall(SYS_setgroups, 2, mine), 0) << errno_name(errno); // this thread only
    Spawn s(GetParam());
    Output out;
    if (s.opened()) {
        EXPECT_EQ(s.stdout_to_pipe(), ok());
        EXPECT_EQ(s.path("exec", kRegain), ok());
        out = s.finish();
    }
    const int open_errno = s.opened() ? 0 : s.open_errno();
    const auto open_log = log_messages(-1);
    ASSERT_EQ(syscall(SYS_setgroups, saved.size(), saved.data()), 0);

    if (GetParam().strategy.id == EP_STRATEGY_ZYGOTE) {
        EXPECT_EQ(open_errno, EOPNOTSUPP);
        EXPECT_TRUE(has_message(open_log, "e strategy:", "raw system call")) << joined(open_log);
        return;
    }
    ASSERT_EQ(open_errno, 0) << errno_name(open_errno) << " " << joined(open_log);
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["status.Groups"], "4321 8765") << "the calling thread's groups, not the library's thread's";
}

TEST_P(Security, NoneOfFiftyInheritableCallerDescriptorsReachesTheChild) {
    // 50 descriptors without O_CLOEXEC, of every common kind.
    std::vector<Fd> open;
    for (int i = 0; i < 10; i++) {
        open.emplace_back(::open("/dev/null", O_RDWR));
        open.emplace_back(::open("/tmp", O_RDONLY | O_DIRECTORY));
        open.emplace_back(eventfd(0, 0));
        int p[2], sv[2];
        ASSERT_EQ(pipe(p), 0);
        open.emplace_back(p[0]);
        open.emplace_back(p[1]);
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        open.emplace_back(sv[0]);
        ::close(sv[1]);
    }
    ASSERT_EQ(open.size(), 60u);
    open.resize(50);
    for (const Fd &f : open)
        ASSERT_TRUE(f);
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.7", open[0].get()), ok()); // one of them, configured: that one only
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,7");
    EXPECT_EQ(parse_fd_line(out["fd.7"]).target, "/dev/null");
}

// Exec by descriptor avoids the race between checking a path and executing it: whatever the path
// names by the time of the exec, the file that was opened runs.
struct ByFd {
    const char *name;
    int flags;
    bool replace; // rename another program onto the path (else: unlink the path)
};
void PrintTo(const ByFd &c, std::ostream *os) {
    *os << c.name;
}
const ByFd kByFd[] = {
    {"OPathRenamedAndReplaced", O_PATH, true},
    {"ORdonlyRenamedAndReplaced", O_RDONLY, true},
    {"OPathUnlinked", O_PATH, false},
    {"ORdonlyUnlinked", O_RDONLY, false},
};

class ExecByFd : public ::testing::TestWithParam<std::tuple<Matrix, ByFd>> {};

TEST_P(ExecByFd, RunsTheFileThatWasOpenedWhateverThePathNamesByThen) {
    const auto &[m, c] = GetParam();
    TempDir tmp;
    std::string prog = tmp / "prog";
    tmp.file("prog", read_file(kRegain), 0755);
    Fd exe(::open(prog.c_str(), c.flags | O_CLOEXEC));
    ASSERT_TRUE(exe) << errno_name(errno);
    Spawn s(m);
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.str("argv", "prog"), ok());
    ASSERT_EQ(s.pass("exec", exe.get()), ok()) << joined(s.log());
    exe.reset(); // the library holds its own copy
    // The path changes after the exec key was given (in sync mode: after the stub has the fd).
    if (c.replace) {
        ASSERT_EQ(rename(prog.c_str(), (tmp / "old").c_str()), 0);
        tmp.file("prog", read_file(kProbe), 0755);
    } else {
        ASSERT_EQ(unlink(prog.c_str()), 0);
    }
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    EXPECT_TRUE(out.has("try.setuid")) << "the program that ran is not the one opened:\n" << out.raw;
    EXPECT_FALSE(out.has("argc")) << "the probe (now at the path) ran";
    EXPECT_EQ(out["exe"], c.replace ? tmp / "old" : prog + " (deleted)");
}

EP_INSTANTIATE_MATRIX(Reliability, Security);
INSTANTIATE_TEST_SUITE_P(Reliability, ExecByFd, ::testing::ValuesIn(matrix_times(kByFd)), MatrixCaseName{});

} // namespace
