// SPDX-License-Identifier: MIT
// failure_test.cpp - each kind of op failing in the stub.
//
// Batched mode: CMD_EXEC returns -1 with the op's errno, the log names the op, the stub was killed
// by SIGKILL, no later op was applied and the program never ran (nothing arrived on its stdout).
// Sync mode: the failing ep_config() itself returns the errno and the process stays configurable:
// the same stream then execs the probe, which runs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <functional>
#include <tuple>

#include "fixture.hpp"

using namespace ep_test;

namespace {

struct FailCase {
    const char *name;
    // Adds the op(s) that fail; returns what the last ep_config() call returned.
    std::function<Rc(Spawn &, const TempDir &)> bad;
    int err;
    const char *key;      // the key the log message names
    bool at_exec = false; // the failure is the exec itself: CMD_EXEC reports it in both modes
};

void PrintTo(const FailCase &c, std::ostream *os) {
    *os << c.name;
}

long nr_open() {
    return std::stol(read_file("/proc/sys/fs/nr_open"));
}

const FailCase kCases[] = {
    {"CwdMissingDirectory", [](Spawn &s, const TempDir &t) { return s.path("cwd", t / "missing"); }, ENOENT, "cwd"},
    {"CwdNotADirectory", [](Spawn &s, const TempDir &t) { return s.path("cwd", t.file("file", "x")); }, ENOTDIR, "cwd"},
    {"CwdDeniedAfterUidDrop",
     [](Spawn &s, const TempDir &t) {
         std::string d = t.dir("private", 0700);
         Rc r = s.str("uid", "65534");
         return r == ok() ? s.path("cwd", d) : r;
     },
     EACCES, "cwd"},
    {"OpenMissingFile", [](Spawn &s, const TempDir &t) { return s.path("open.3", t / "missing"); }, ENOENT, "open.3"},
    {"OpenExclOfAnExistingFile",
     [](Spawn &s, const TempDir &t) { return s.path("open.3:wronly,creat,excl", t.file("exists", "x")); }, EEXIST,
     "open.3:wronly,creat,excl"},
    {"OpenDirectoryForWriting", [](Spawn &s, const TempDir &t) { return s.path("open.4:wronly", t.path()); }, EISDIR,
     "open.4:wronly"},
    {"RlimitNofileAboveNrOpen",
     [](Spawn &s, const TempDir &) {
         std::string v = std::to_string(nr_open() + 1);
         return s.str("rlimit.nofile", v + ":" + v);
     },
     EPERM, "rlimit.nofile"},
    {"FdAboveTheNofileLimit",
     [](Spawn &s, const TempDir &t) {
         Fd f(::open(t.file("f", "x").c_str(), O_RDONLY | O_CLOEXEC));
         Rc r = s.str("rlimit.nofile", "64:64");
         return r == ok() ? s.pass("fd.100", f.get()) : r;
     },
     EBADF, "fd.100"},
    {"RootMissingDirectory", [](Spawn &s, const TempDir &t) { return s.path("root", t / "missing"); }, ENOENT, "root"},
    {"PgidOfNoSuchGroup", [](Spawn &s, const TempDir &) { return s.str("pgid", std::to_string(INT_MAX)); }, EPERM,
     "pgid"},
    {"ExecMissingFile", [](Spawn &s, const TempDir &t) { return s.path("exec", t / "missing"); }, ENOENT, "exec", true},
    {"ExecNotExecutable", [](Spawn &s, const TempDir &t) { return s.path("exec", t.file("data", "x\n", 0644)); },
     EACCES, "exec", true},
    {"ExecGarbageContent",
     [](Spawn &s, const TempDir &t) { return s.path("exec", t.file("garbage", std::string(256, '\x01'), 0755)); },
     ENOEXEC, "exec", true},
    {"ExecDirectory", [](Spawn &s, const TempDir &t) { return s.path("exec", t.path()); }, EACCES, "exec", true},
    {"ExecSearchNotFound", [](Spawn &s, const TempDir &) { return s.str("exec", "ep-no-such-program-anywhere"); },
     ENOENT, "exec", true},
    {"ExecSearchFindsOnlyNonExecutable",
     [](Spawn &s, const TempDir &t) {
         t.file("prog", "x\n", 0644);
         Rc r = s.str("env", "PATH=/nonexistent:" + t.path());
         return r == ok() ? s.str("exec", "prog") : r;
     },
     EACCES, "exec", true},
};

using Param = std::tuple<Matrix, FailCase>;

class Failure : public ::testing::TestWithParam<Param> {
  protected:
    TempDir tmp;
};

TEST_P(Failure, ReportedNamedAndNothingRuns) {
    const auto &[m, c] = GetParam();
    Spawn s(m);
    ASSERT_TRUE(s.opened()) << errno_name(s.open_errno());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    std::string marker = tmp / "applied-after-the-failure";
    std::string prefix = std::string("e ") + c.key + ": ";

    Rc r = c.bad(s, tmp);
    if (m.sync && !c.at_exec) {
        // The stub's own verdict, at once; the process stays configurable.
        EXPECT_EQ(r, fails(c.err));
        auto log = s.log();
        EXPECT_TRUE(has_message(log, prefix, errno_name(c.err))) << joined(log);
        ASSERT_EQ(s.exec_probe(), ok());
        auto out = s.finish();
        ASSERT_EQ(out.exec, ok()) << joined(out.log);
        EXPECT_EQ(out["argc"], "2") << "the probe runs after a failed sync op";
        EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
        return;
    }
    ASSERT_EQ(r, ok()) << joined(s.log()); // queued, or (sync) stored as the target
    if (!c.at_exec) {
        ASSERT_EQ(s.path("open.9:wronly,creat", marker), ok()); // must never be applied
        ASSERT_EQ(s.exec_probe(), ok());
    }
    auto out = s.finish();
    EXPECT_EQ(out.exec, fails(c.err));
    EXPECT_TRUE(has_message(out.log, prefix, errno_name(c.err))) << joined(out.log);
    EXPECT_EQ(out.raw, "") << "the program must not have run";
    if (!m.sync) {
        EXPECT_TRUE(out.exit.killed(SIGKILL)) << describe(out.exit);
        EXPECT_NE(access(marker.c_str(), F_OK), 0) << "an op after the failing one was applied";
        // The stream is over: a further call reports the same failure.
        EXPECT_EQ(s.exec(), fails(c.err));
        return;
    }
    // Sync, failed exec: the stub is still there and can exec something else.
    EXPECT_EQ(out.exit.code, 0) << describe(out.exit);
    pollfd p{s.fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 0), 0) << "the stub must still be alive";
    ASSERT_EQ(s.exec_probe(), ok());
    auto again = s.finish();
    ASSERT_EQ(again.exec, ok()) << joined(again.log);
    EXPECT_EQ(again["argc"], "2");
    EXPECT_TRUE(again.exit.exited(0)) << describe(again.exit);
}

INSTANTIATE_TEST_SUITE_P(Conformance, Failure, ::testing::ValuesIn(matrix_times(kCases)), MatrixCaseName{});

} // namespace
