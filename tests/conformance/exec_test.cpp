// SPDX-License-Identifier: MIT
// exec_test.cpp - argv, env, the ways of naming the program, comm, and the pidfd across the exec.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Argv : public MatrixTest {};
class Env : public MatrixTest {};
class Exec : public MatrixTest {};
class Pidfd : public MatrixTest {};

std::string real_probe() {
    char buf[PATH_MAX];
    return realpath(kProbe, buf) ? buf : kProbe;
}

TEST_P(Argv, AsGivenWithArgv0DifferentFromThePath) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print", "two words", ""}, "custom-name"), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "4");
    EXPECT_EQ(out["argv.0"], "custom-name");
    EXPECT_EQ(out["argv.1"], "print");
    EXPECT_EQ(out["argv.2"], "two words");
    EXPECT_EQ(out["argv.3"], "");
}

TEST_P(Argv, DefaultArgv0IsTheProgramPath) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish(); // argc 1: the probe prints everything
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "1");
    EXPECT_EQ(out["argv.0"], kProbe);
}

TEST_P(Argv, DefaultArgv0OfAnExecByFdIsItsPath) {
    Fd prog(::open(kProbe, O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.pass("exec", prog.get()), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "1");
    EXPECT_EQ(out["argv.0"], real_probe());
}

TEST_P(Env, EmptyByDefault) {
    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["envc"], "0");
    EXPECT_FALSE(out.has("env.0"));
}

TEST_P(Env, EntriesAsGivenInOrder) {
    Spawn s(GetParam());
    for (const char *e : {"B=second letter", "A=1", "EMPTY=", "EQ=x=y"})
        ASSERT_EQ(s.str("env", e), ok()) << e;
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["envc"], "4");
    EXPECT_EQ(out["env.0"], "B=second letter");
    EXPECT_EQ(out["env.1"], "A=1");
    EXPECT_EQ(out["env.2"], "EMPTY=");
    EXPECT_EQ(out["env.3"], "EQ=x=y");
}

TEST_P(Exec, ByPathRelativeToDirfd) {
    Fd dir(::open(dir_of(kProbe).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.path("exec", "probe", dir.get()), ok());
    dir.reset();
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["comm"], "probe");
    EXPECT_EQ(out["fds"], "1"); // neither the dirfd nor anything else of the stub's
}

TEST_P(Exec, ByFd) {
    Fd prog(::open(kProbe, O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.pass("exec", prog.get()), ok());
    prog.reset();
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2"); // (comm after execveat(AT_EMPTY_PATH) is the fd number before Linux 6.14)
    EXPECT_EQ(out["fds"], "1");  // the exec fd does not survive into the program
}

TEST_P(Exec, ByOPathFd) {
    Fd prog(::open(kProbe, O_PATH | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.pass("exec", prog.get()), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
    EXPECT_EQ(out["fds"], "1");
}

TEST_P(Exec, ByPathEmptyOnTheFdItself) {
    Fd prog(::open(kProbe, O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.path_empty("exec", "", prog.get()), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
    EXPECT_EQ(out["fds"], "1");
}

TEST_P(Exec, AScriptByPathRuns) {
    std::string script = tmp.file("script", "#!/bin/sh\necho script=ran\necho args=\"$*\"\n", 0755);
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"one", "two"}, "script"), ok());
    ASSERT_EQ(s.path("exec", script), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["script"], "ran");
    EXPECT_EQ(out["args"], "one two");
}

TEST_P(Exec, AScriptByFdFailsWithEnoentAsDocumented) {
    // docs/keys.md: the exec descriptor is CLOEXEC in the stub, so the interpreter cannot open
    // /dev/fd/<n>; execveat() answers ENOENT. Pinned so that a change of this rule is deliberate.
    std::string script = tmp.file("script", "#!/bin/sh\necho script=ran\n", 0755);
    Fd fd(::open(script.c_str(), O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.pass("exec", fd.get()), ok());
    auto out = s.finish();
    EXPECT_EQ(out.exec, fails(ENOENT)) << joined(out.log);
    EXPECT_TRUE(has_message(out.log, "e exec: ", "ENOENT")) << joined(out.log);
    EXPECT_EQ(out.raw, "");
}

TEST_P(Exec, SearchedInTheConfiguredPath) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("env", "PATH=" + tmp.path() + ":/nonexistent:" + dir_of(kProbe)), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.str("exec", "probe"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["comm"], "probe");
    EXPECT_EQ(out["env.0"], "PATH=" + tmp.path() + ":/nonexistent:" + dir_of(kProbe));
}

TEST_P(Exec, SearchSkipsANonExecutableCandidate) {
    tmp.file("probe", "not a program\n", 0644); // first in PATH, but not executable
    Spawn s(GetParam());
    ASSERT_EQ(s.str("env", "PATH=" + tmp.path() + ":" + dir_of(kProbe)), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.str("exec", "probe"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
}

TEST_P(Exec, SearchedInBinAndUsrBinWithoutAPath) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"-c", "echo searched=yes"}, "sh"), ok());
    ASSERT_EQ(s.str("exec", "sh"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["searched"], "yes");
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
}

TEST_P(Exec, SearchOfANameWithASlashIsAPath) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("env", "PATH=/nonexistent"), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.str("exec", kProbe), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
}

TEST_P(Exec, EmptyPathEntryIsTheWorkingDirectory) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("env", "PATH=/nonexistent:"), ok());
    ASSERT_EQ(s.path("cwd", dir_of(kProbe)), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.str("exec", "probe"), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
}

TEST_P(Exec, TheLastExecKeyWins) {
    Spawn s(GetParam());
    ASSERT_EQ(s.path("exec", tmp / "missing"), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
}

// The stub's name, read as soon as ep_open() returns. One exception: safeexec's vfork returns in
// the helper's exec before the kernel names the process after the memfd ("memfd:ep-stub", set after
// the vfork parent is released), until the helper's first instruction names it "ep-stub" again.
// That moment is allowed, and nothing else.
std::string stub_comm(const Matrix &m, pid_t pid) {
    std::string comm = proc_comm(pid);
    for (int i = 0; i < 1000 && m.strategy.id == EP_STRATEGY_SAFEEXEC && comm == "memfd:ep-stub"; i++) {
        usleep(1000);
        comm = proc_comm(pid);
    }
    return comm;
}

TEST_P(Pidfd, CommIsEpStubBeforeExecAndTheProgramsAfter) {
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened());
    EXPECT_EQ(stub_comm(GetParam(), s.pid()), "ep-stub") << "as soon as ep_open() returns";
    ASSERT_EQ(s.str("umask", "022"), ok());
    EXPECT_EQ(stub_comm(GetParam(), s.pid()), "ep-stub");
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["comm"], "probe");
}

TEST_P(Pidfd, RefersToTheSamePidAfterExecAndWaitidWorks) {
    Spawn s(GetParam());
    pid_t before = ep_pid(s.fd());
    ASSERT_GT(before, 0);
    auto out = s.run({"print", "exit", "7"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["pid"], std::to_string(before));
    EXPECT_EQ(out["ppid"], std::to_string(getpid()));
    EXPECT_TRUE(out.exit.exited(7)) << describe(out.exit); // waitid(P_PIDFD) on the handle
    EXPECT_EQ(ep_pid(s.fd()), before);
}

TEST_P(Pidfd, NotReadableWhileTheStubWaits) {
    Empty e(GetParam());
    ASSERT_TRUE(e.opened());
    pollfd p{e.fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 0), 0);
    EXPECT_NE(proc_state(e.pid()), 0) << "the stub is alive and not a zombie";
    EXPECT_NE(proc_state(e.pid()), 'Z');
}

TEST_P(Pidfd, SendSignalBeforeExecKillsTheStub) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "022"), ok());
    ASSERT_EQ(sys_pidfd_send_signal(s.fd(), SIGKILL), 0);
    Exit e = wait_pidfd(s.fd(), true);
    EXPECT_TRUE(e.killed(SIGKILL)) << describe(e);
    auto out = s.run();
    EXPECT_EQ(out.exec, fails(ECHILD)) << joined(out.log);
    EXPECT_EQ(out.raw, "");
    EXPECT_FALSE(out.log.empty());
}

TEST_P(Pidfd, ASignalSentBeforeExecIsNotLost) {
    // The stub blocks every signal until the exec; a SIGTERM sent meanwhile stays pending and is
    // delivered when the (empty) configured mask is set: the program must not start as if nothing
    // happened, and CMD_EXEC must not report success.
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(sys_pidfd_send_signal(s.fd(), SIGTERM), 0);
    pollfd p{s.fd(), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 0), 0) << "a blocked SIGTERM must not kill the stub yet";
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    EXPECT_EQ(out.exec, fails(ECHILD)) << joined(out.log);
    EXPECT_EQ(out.raw, "");
    Exit e = wait_pidfd(s.fd(), true);
    EXPECT_TRUE(e.killed(SIGTERM)) << describe(e);
}

TEST_P(Pidfd, SendSignalAfterExecReachesTheProgram) {
    Spawn s(GetParam());
    ASSERT_EQ(s.args({"sleep", "60"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    ASSERT_EQ(s.exec(), ok()) << joined(s.log());
    ASSERT_EQ(sys_pidfd_send_signal(s.fd(), SIGTERM), 0);
    Exit e = wait_pidfd(s.fd());
    EXPECT_TRUE(e.killed(SIGTERM)) << describe(e);
}

EP_INSTANTIATE_MATRIX(Conformance, Argv);
EP_INSTANTIATE_MATRIX(Conformance, Env);
EP_INSTANTIATE_MATRIX(Conformance, Exec);
EP_INSTANTIATE_MATRIX(Conformance, Pidfd);

} // namespace
