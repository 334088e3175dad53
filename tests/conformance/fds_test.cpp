// SPDX-License-Identifier: MIT
// fds_test.cpp - fd.<N>, open.<N>, close.<N>, closefrom, and that no caller fd leaks: what the
// exec'ed probe sees of its own descriptor table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Fds : public MatrixTest {};

int open_cloexec(const std::string &path, int flags = O_RDONLY) {
    return ::open(path.c_str(), flags | O_CLOEXEC);
}

TEST_P(Fds, OnlyTheConfiguredDescriptorsAreOpen) {
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened()) << errno_name(s.open_errno());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1");
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
}

TEST_P(Fds, NoCallerDescriptorLeaksCloexecOrNot) {
    // Descriptors of every kind, without CLOEXEC, at low and high numbers.
    std::string file = tmp.file("leak", "x");
    Fd plain(::open(file.c_str(), O_RDONLY));
    Fd dir(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    Fd pr(p[0]), pw(p[1]);
    Fd high(fcntl(plain.get(), F_DUPFD, 200));
    Fd cloexec(open_cloexec(file));
    ASSERT_TRUE(plain && dir && high && cloexec);

    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1");
    EXPECT_FALSE(out.has("fd.200"));
    EXPECT_FALSE(out.has("fd.0"));
    EXPECT_FALSE(out.has("fd.2"));
}

TEST_P(Fds, FdInstallsCallerDescriptorWithoutCloexec) {
    std::string file = tmp.file("data", "hello from the caller\n");
    Fd f(open_cloexec(file)); // CLOEXEC in the caller: the child's copy must not be
    ASSERT_TRUE(f);
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.5", f.get()), ok());
    f.reset(); // the library keeps its own copy
    auto out = s.run({"print", "read", "5"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,5");
    FdLine l = parse_fd_line(out["fd.5"]);
    EXPECT_EQ(l.target, file);
    EXPECT_EQ(l.cloexec, 0);
    EXPECT_EQ(out["read"], "hello from the caller");
}

TEST_P(Fds, FdAtALargeNumber) {
    std::string file = tmp.file("data", "x");
    Fd f(open_cloexec(file));
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.100", f.get()), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,100");
    EXPECT_EQ(parse_fd_line(out["fd.100"]).target, file);
    EXPECT_EQ(parse_fd_line(out["fd.100"]).cloexec, 0);
}

TEST_P(Fds, ShuffleWhereNumbersCollide) {
    // The stub receives descriptors at the lowest free numbers (0, 1, 2, ...): installing the pipe
    // as fd 1 first lands on the slot where b arrived, then b goes to 0 where the pipe arrived.
    std::string a = tmp.file("a", "content of a\n"), b = tmp.file("b", "content of b\n");
    Fd fa(open_cloexec(a)), fb(open_cloexec(b));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(1), ok());
    ASSERT_EQ(s.pass("fd.0", fb.get()), ok());
    ASSERT_EQ(s.pass("fd.2", fa.get()), ok());
    ASSERT_EQ(s.args({"print", "read", "0"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "0,1,2");
    EXPECT_EQ(parse_fd_line(out["fd.0"]).target, b);
    EXPECT_EQ(parse_fd_line(out["fd.2"]).target, a);
    EXPECT_EQ(parse_fd_line(out["fd.1"]).target.rfind("pipe:", 0), 0u) << out["fd.1"];
    EXPECT_EQ(out["read"], "content of b");
}

TEST_P(Fds, LaterFdReplacesEarlierAtTheSameNumber) {
    std::string a = tmp.file("a", "A\n"), b = tmp.file("b", "B\n");
    Fd fa(open_cloexec(a)), fb(open_cloexec(b));
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.3", fa.get()), ok());
    ASSERT_EQ(s.pass("fd.4", fb.get()), ok());
    ASSERT_EQ(s.pass("fd.3", fb.get()), ok());
    ASSERT_EQ(s.pass("fd.4", fa.get()), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,3,4");
    EXPECT_EQ(parse_fd_line(out["fd.3"]).target, b);
    EXPECT_EQ(parse_fd_line(out["fd.4"]).target, a);
}

TEST_P(Fds, EveryLowNumberIncludingTheStubsOwn) {
    // Fill 0..15: one of these is the number the stub's channel has; it must move out of the way.
    std::string file = tmp.file("data", "x");
    Fd f(open_cloexec(file));
    Spawn s(GetParam());
    for (int n = 0; n < 16; n++) {
        if (n != 1) {
            ASSERT_EQ(s.pass("fd." + std::to_string(n), f.get()), ok()) << n;
        }
    }
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15");
    for (int n = 0; n < 16; n++) {
        FdLine l = parse_fd_line(out["fd." + std::to_string(n)]);
        EXPECT_EQ(l.cloexec, 0) << n;
        if (n != 1) {
            EXPECT_EQ(l.target, file) << n;
        }
    }
}

TEST_P(Fds, OpenIsReadOnlyByDefault) {
    std::string file = tmp.file("ro", "read me\n");
    Spawn s(GetParam());
    ASSERT_EQ(s.path("open.3", file), ok());
    auto out = s.run({"print", "read", "3"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,3");
    FdLine l = parse_fd_line(out["fd.3"]);
    EXPECT_EQ(l.target, file);
    EXPECT_EQ(l.flags & O_ACCMODE, O_RDONLY);
    EXPECT_EQ(l.cloexec, 0);
    EXPECT_EQ(out["read"], "read me");
}

TEST_P(Fds, OpenCreatesWithModeUnderUmask) {
    std::string file = tmp / "created";
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "027"), ok());
    ASSERT_EQ(s.path("open.3:wronly,creat,trunc:0666", file), ok());
    auto out = s.run({"print", "write", "3", "written by the probe"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    FdLine l = parse_fd_line(out["fd.3"]);
    EXPECT_EQ(l.target, file);
    EXPECT_EQ(l.flags & O_ACCMODE, O_WRONLY);
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(read_file(file), "written by the probe\n");
}

TEST_P(Fds, OpenWithModeTruncatesExistingFile) {
    std::string file = tmp.file("existing", "old content that must go away\n");
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "0"), ok());
    ASSERT_EQ(s.path("open.3:wronly,creat,trunc:0640", file), ok());
    auto out = s.run({"write", "3", "new"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    EXPECT_EQ(read_file(file), "new\n");
}

TEST_P(Fds, OpenCreatModeAppliesToNewFile) {
    std::string file = tmp / "mode0640";
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "0"), ok());
    ASSERT_EQ(s.path("open.3:wronly,creat,trunc:0640", file), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(out["umask"], "0000");
}

TEST_P(Fds, OpenRelativeToDirfd) {
    tmp.file("rel", "relative\n");
    Fd dir(::open(tmp.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.path("open.7:rdwr", "rel", dir.get()), ok());
    dir.reset();
    auto out = s.run({"print", "read", "7"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    FdLine l = parse_fd_line(out["fd.7"]);
    EXPECT_EQ(l.target, tmp / "rel");
    EXPECT_EQ(l.flags & O_ACCMODE, O_RDWR);
    EXPECT_EQ(out["read"], "relative");
    EXPECT_EQ(out["fds"], "1,7");
}

TEST_P(Fds, OpenWithCloexecIsClosedAtTheExec) {
    std::string file = tmp.file("c", "x\n");
    Spawn s(GetParam());
    ASSERT_EQ(s.path("open.3:rdonly,cloexec", file), ok());
    ASSERT_EQ(s.path("open.4", file), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,4");
}

TEST_P(Fds, OpenByString) {
    std::string file = tmp.file("s", "x\n");
    Spawn s(GetParam());
    ASSERT_EQ(s.str("open.4:rdonly", file), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(parse_fd_line(out["fd.4"]).target, file);
}

TEST_P(Fds, CloseRemovesAnInstalledDescriptor) {
    std::string file = tmp.file("data", "x");
    Fd f(open_cloexec(file));
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.3", f.get()), ok());
    ASSERT_EQ(s.pass("fd.4", f.get()), ok());
    ASSERT_EQ(s.flag("close.3"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,4");
}

TEST_P(Fds, CloseOfANumberThatIsNotOpenIsNoError) {
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("close.42"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1");
}

TEST_P(Fds, ClosefromClosesEverythingFromN) {
    std::string file = tmp.file("data", "x");
    Fd f(open_cloexec(file));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    for (int n : {3, 4, 7, 100})
        ASSERT_EQ(s.pass("fd." + std::to_string(n), f.get()), ok());
    ASSERT_EQ(s.str("closefrom", "4"), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,3");
}

TEST_P(Fds, ClosefromThenInstallAgain) {
    std::string file = tmp.file("data", "x");
    Fd f(open_cloexec(file));
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.5", f.get()), ok());
    ASSERT_EQ(s.str("closefrom", "0"), ok());
    ASSERT_EQ(s.pass("fd.6", f.get()), ok());
    auto out = s.run(); // fd.1 comes after the closefrom
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1,6");
}

EP_INSTANTIATE_MATRIX(Conformance, Fds);

} // namespace
