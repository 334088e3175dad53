// SPDX-License-Identifier: MIT
// posix_spawn_test.cpp - every file action and attribute of posix_spawn(3), checked on what the
// exec'ed probe sees, with glibc's posix_spawn and with ep_posix_spawn (TEST_P over the two): the
// same expectation holds for both, so they agree. Written for this project in the spirit of glibc's
// tst-spawn* tests.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "spawn_support.hpp"

using namespace ep_test;

namespace {

class PosixSpawn : public ::testing::TestWithParam<Impl> {
  protected:
    Result run(Capture &cap, Actions &fa, Attr *attr = nullptr, std::vector<std::string> args = {"probe", "print"},
               std::vector<std::string> env = {"EP_TEST=1"}) {
        return run_with(GetParam().spawn, cap, kSpawnProbe, fa, attr, std::move(args), std::move(env));
    }
    // POSIX has posix_spawn return the error number; ep_posix_spawn leaves errno alone as well,
    // whereas glibc 2.36's leaves errno set to the error when it fails (observed here), so errno is
    // checked on ours only.
    bool untouches_errno() const { return GetParam().spawn == ep_posix_spawn; }
    TempDir tmp;
};

// A descriptor of this process at a fixed number, without FD_CLOEXEC unless asked.
Fd fd_at(const std::string &path, int number, int flags = O_RDONLY, bool cloexec = false) {
    int f = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (f < 0)
        return Fd();
    int g = fcntl(f, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, number);
    ::close(f);
    if (g != number) {
        if (g >= 0)
            ::close(g);
        return Fd();
    }
    return Fd(g);
}

#define EXPECT_SPAWNED(r)                                                                                              \
    do {                                                                                                               \
        ASSERT_EQ((r).err, 0) << spawn_errno_name((r).err);                                                            \
        EXPECT_TRUE((r).exit.exited(0)) << describe((r).exit);                                                         \
    } while (0)

// ---- results and errno ---------------------------------------------------------------------------

TEST_P(PosixSpawn, ArgvAndEnvpReachTheProgramExactly) {
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa, nullptr, {"argv-zero", "print", "two words", ""}, {"A=1", "B=x=y", "EMPTY="});
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["argc"], "4");
    EXPECT_EQ(r["argv.0"], "argv-zero");
    EXPECT_EQ(r["argv.2"], "two words");
    EXPECT_EQ(r["argv.3"], "");
    EXPECT_EQ(r["envc"], "3");
    EXPECT_EQ(r["env.1"], "B=x=y");
    EXPECT_EQ(r["env.2"], "EMPTY=");
}

// execve with an empty argv: since Linux 5.18 the program gets argv = {""}.
TEST_P(PosixSpawn, EmptyArgvGivesTheProgramOneEmptyArgument) {
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa, nullptr, {});
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["argc"], "1");
    EXPECT_EQ(r["argv.0"], "");
}

TEST_P(PosixSpawn, PidIsTheChildsAndErrnoIsUntouched) {
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["pid"], std::to_string(r.pid));
    EXPECT_EQ(r["ppid"], std::to_string(getpid()));
    EXPECT_EQ(r.errno_after, 4242);
}

TEST_P(PosixSpawn, MissingProgramIsReturnedAsENOENT) {
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawn, cap, "/nonexistent/program", fa, nullptr, {"x"});
    EXPECT_EQ(r.err, ENOENT) << spawn_errno_name(r.err);
    if (untouches_errno()) {
        EXPECT_EQ(r.errno_after, 4242);
    }
    EXPECT_EQ(r.raw, "");
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, NonExecutableFileIsReturnedAsEACCES) {
    std::string f = tmp.file("data.txt", "not a program\n", 0644);
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawn, cap, f.c_str(), fa, nullptr, {"x"});
    EXPECT_EQ(r.err, EACCES) << spawn_errno_name(r.err);
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, ScriptWithoutInterpreterLineIsENOEXEC) {
    std::string f = tmp.file("script", "echo hi\n", 0755);
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawn, cap, f.c_str(), fa, nullptr, {"script"});
    EXPECT_EQ(r.err, ENOEXEC) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, SpawnpSearchesTheCallersPathNotEnvps) {
    ASSERT_EQ(symlink(kSpawnProbe, (tmp / "ep-probe-link").c_str()), 0);
    std::string old = std::getenv("PATH") ? std::getenv("PATH") : "";
    setenv("PATH", ("/nonexistent:" + tmp.path()).c_str(), 1);
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawnp, cap, "ep-probe-link", fa, nullptr, {"ep-probe-link", "print"},
                      {"PATH=/definitely/not/here"});
    setenv("PATH", old.c_str(), 1);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["argv.0"], "ep-probe-link");
}

TEST_P(PosixSpawn, SpawnpOfAMissingNameIsENOENT) {
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawnp, cap, "ep-no-such-program-anywhere", fa, nullptr, {"x"});
    EXPECT_EQ(r.err, ENOENT) << spawn_errno_name(r.err);
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, SpawnpWithASlashDoesNotSearch) {
    Capture cap;
    Actions fa(cap);
    auto r = run_with(GetParam().spawnp, cap, kSpawnProbe, fa, nullptr, {"probe", "print"});
    EXPECT_SPAWNED(r);
}

// ---- inheritance -----------------------------------------------------------------------------------

TEST_P(PosixSpawn, InheritsDescriptorsWithoutCloexecOnly) {
    std::string f = tmp.file("inherit", "x");
    Fd plain = fd_at(f, 50);
    Fd cloexec = fd_at(f, 51, O_RDONLY, true);
    ASSERT_TRUE(plain && cloexec);
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.50"]), f);
    EXPECT_FALSE(r.has("fd.51"));
}

TEST_P(PosixSpawn, InheritsTheCallingThreadsSignalMask) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(std::strtoull(r["sigblk"].c_str(), nullptr, 16), 1ull << (SIGUSR2 - 1));
}

TEST_P(PosixSpawn, IgnoredSignalsStayIgnoredCaughtOnesAreReset) {
    struct sigaction ign {
    }, caught{}, old_ign{}, old_caught{};
    ign.sa_handler = SIG_IGN;
    caught.sa_handler = [](int) {};
    sigaction(SIGUSR1, &ign, &old_ign);
    sigaction(SIGUSR2, &caught, &old_caught);
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    sigaction(SIGUSR1, &old_ign, nullptr);
    sigaction(SIGUSR2, &old_caught, nullptr);
    EXPECT_SPAWNED(r);
    uint64_t ignored = std::strtoull(r["sigign"].c_str(), nullptr, 16);
    EXPECT_TRUE(ignored & (1ull << (SIGUSR1 - 1))) << r["sigign"];
    EXPECT_FALSE(ignored & (1ull << (SIGUSR2 - 1))) << r["sigign"];
    EXPECT_EQ(std::strtoull(r["sigcgt"].c_str(), nullptr, 16), 0u);
}

// glibc's child ignores its internal signals 32 (SIGCANCEL) and 33 (SIGSETXID), even when the
// caller has no handler for them: the program starts with exactly those two ignored.
// The kernel's sigaction, for signals glibc's sigaction() refuses (32 and 33).
struct KernelSigaction {
    unsigned long handler, flags, restorer;
    uint64_t mask;
};

TEST_P(PosixSpawn, GlibcsInternalSignalsStartIgnored) {
    // Whatever this process inherited for them (a glibc posix_spawn'd parent has them ignored), make
    // them SIG_DFL here first, so that the child's state comes from the spawn alone.
    KernelSigaction dfl{}, old32{}, old33{};
    ASSERT_EQ(syscall(SYS_rt_sigaction, 32, &dfl, &old32, 8), 0);
    ASSERT_EQ(syscall(SYS_rt_sigaction, 33, &dfl, &old33, 8), 0);
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    syscall(SYS_rt_sigaction, 32, &old32, nullptr, 8);
    syscall(SYS_rt_sigaction, 33, &old33, nullptr, 8);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(std::strtoull(r["sigign"].c_str(), nullptr, 16), (1ull << 31) | (1ull << 32)) << r["sigign"];
}

TEST_P(PosixSpawn, InheritsCwdAndUmask) {
    std::string old = std::filesystem::current_path();
    ASSERT_EQ(chdir(tmp.path().c_str()), 0);
    mode_t m = umask(027);
    Capture cap;
    Actions fa(cap);
    auto r = run(cap, fa);
    umask(m);
    ASSERT_EQ(chdir(old.c_str()), 0);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["cwd"], tmp.path());
    EXPECT_EQ(r["umask"], "0027");
}

// ---- file actions ----------------------------------------------------------------------------------

TEST_P(PosixSpawn, AddcloseClosesAnInheritedDescriptor) {
    Fd plain = fd_at(tmp.file("c", "x"), 50);
    ASSERT_TRUE(plain);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addclose(fa.get(), 50);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_FALSE(r.has("fd.50"));
}

TEST_P(PosixSpawn, AddcloseOfADescriptorThatIsNotOpenSucceeds) {
    ASSERT_LT(fcntl(60, F_GETFD), 0);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addclose(fa.get(), 60);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
}

TEST_P(PosixSpawn, Adddup2InstallsTheDescriptorWithoutCloexec) {
    std::string f = tmp.file("d", "x");
    Fd src = fd_at(f, 51, O_RDONLY, true); // CLOEXEC in the caller
    ASSERT_TRUE(src);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_adddup2(fa.get(), 51, 7);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.7"]), f);
    EXPECT_NE(r["fd.7"].find("cloexec=0"), std::string::npos) << r["fd.7"];
    EXPECT_FALSE(r.has("fd.51"));
}

TEST_P(PosixSpawn, Adddup2OntoItselfClearsCloexec) {
    std::string f = tmp.file("same", "x");
    Fd src = fd_at(f, 52, O_RDONLY, true);
    ASSERT_TRUE(src);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_adddup2(fa.get(), 52, 52);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.52"]), f);
}

TEST_P(PosixSpawn, Adddup2SeesEarlierActionsOfTheChild) {
    // open 9, dup 9 -> 8, close 9: 8 is the file opened in the child, not anything of the caller.
    std::string f = tmp.file("chain", "x");
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addopen(fa.get(), 9, f.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(fa.get(), 9, 8);
    posix_spawn_file_actions_addclose(fa.get(), 9);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.8"]), f);
    EXPECT_FALSE(r.has("fd.9"));
}

TEST_P(PosixSpawn, Adddup2OfADescriptorThatIsNotOpenFailsWithEBADF) {
    ASSERT_LT(fcntl(61, F_GETFD), 0);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_adddup2(fa.get(), 61, 5);
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, EBADF) << spawn_errno_name(r.err);
    if (untouches_errno()) {
        EXPECT_EQ(r.errno_after, 4242);
    }
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, Adddup2OfADescriptorClosedByAnEarlierActionFailsWithEBADF) {
    Fd plain = fd_at(tmp.file("e", "x"), 53);
    ASSERT_TRUE(plain);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addclose(fa.get(), 53);
    posix_spawn_file_actions_adddup2(fa.get(), 53, 5);
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, EBADF) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, AddopenOpensWithTheGivenFlags) {
    std::string f = tmp.file("o", "x");
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addopen(fa.get(), 9, f.c_str(), O_RDWR | O_APPEND, 0);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.9"]), f);
    int flags = static_cast<int>(std::strtol(r["fd.9"].substr(r["fd.9"].find("flags=") + 6).c_str(), nullptr, 8));
    EXPECT_EQ(flags & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
}

TEST_P(PosixSpawn, AddopenCreatesWithTheModeUnderTheUmask) {
    std::string f = tmp / "created";
    mode_t m = umask(022);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addopen(fa.get(), 3, f.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
    auto r = run(cap, fa);
    umask(m);
    EXPECT_SPAWNED(r);
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_P(PosixSpawn, AddopenOfAMissingFileFailsWithENOENT) {
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addopen(fa.get(), 3, (tmp / "missing").c_str(), O_RDONLY, 0);
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, ENOENT) << spawn_errno_name(r.err);
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, AddopenReplacesAnInheritedDescriptor) {
    std::string a = tmp.file("a", "x"), b = tmp.file("b", "y");
    Fd plain = fd_at(a, 54);
    ASSERT_TRUE(plain);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addopen(fa.get(), 54, b.c_str(), O_RDONLY, 0);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.54"]), b);
}

TEST_P(PosixSpawn, AddchdirNpChangesTheWorkingDirectory) {
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addchdir_np(fa.get(), tmp.path().c_str());
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["cwd"], tmp.path());
}

TEST_P(PosixSpawn, AddchdirNpAppliesToLaterRelativeOpens) {
    std::string f = tmp.file("rel", "x");
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addchdir_np(fa.get(), tmp.path().c_str());
    posix_spawn_file_actions_addopen(fa.get(), 5, "rel", O_RDONLY, 0);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(parse_fd_target(r["fd.5"]), f);
}

TEST_P(PosixSpawn, AddchdirNpToAMissingDirectoryFailsWithENOENT) {
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addchdir_np(fa.get(), (tmp / "nope").c_str());
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, ENOENT) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, AddfchdirNpUsesTheChildsDescriptor) {
    std::filesystem::create_directory(tmp / "sub");
    Fd dir = fd_at(tmp / "sub", 55, O_RDONLY | O_DIRECTORY);
    ASSERT_TRUE(dir);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addfchdir_np(fa.get(), 55);
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["cwd"], tmp / "sub");
}

TEST_P(PosixSpawn, AddfchdirNpOfADescriptorThatIsNotOpenFailsWithEBADF) {
    ASSERT_LT(fcntl(62, F_GETFD), 0);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addfchdir_np(fa.get(), 62);
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, EBADF) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, AddclosefromNpClosesEverythingFromN) {
    std::string f = tmp.file("cf", "x");
    Fd a = fd_at(f, 56), b = fd_at(f, 300);
    ASSERT_TRUE(a && b);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addclosefrom_np(fa.get(), 3);
    posix_spawn_file_actions_addopen(fa.get(), 4, f.c_str(), O_RDONLY, 0); // after it: survives
    auto r = run(cap, fa);
    EXPECT_SPAWNED(r);
    EXPECT_FALSE(r.has("fd.56"));
    EXPECT_FALSE(r.has("fd.300"));
    EXPECT_EQ(parse_fd_target(r["fd.4"]), f);
    EXPECT_TRUE(r.has("fd.1"));
}

TEST_P(PosixSpawn, AddtcsetpgrpNpOnANonTerminalFailsWithENOTTY) {
    Fd plain = fd_at(tmp.file("t", "x"), 57);
    ASSERT_TRUE(plain);
    Capture cap;
    Actions fa(cap);
    posix_spawn_file_actions_addtcsetpgrp_np(fa.get(), 57);
    auto r = run(cap, fa);
    EXPECT_EQ(r.err, ENOTTY) << spawn_errno_name(r.err);
}

// The calling process must own a controlling terminal for tcsetpgrp: a forked helper becomes a
// session leader on a fresh pty, then spawns the probe in a new process group that takes the
// terminal's foreground. The helper exits with the spawn's result.
TEST_P(PosixSpawn, AddtcsetpgrpNpMakesTheChildsGroupTheForeground) {
    int master = -1, slave = -1;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) < 0)
        GTEST_SKIP() << "no pty: " << strerror(errno);
    Fd m(master), s(slave);
    Capture cap;
    SpawnFn fn = GetParam().spawn;
    pid_t helper = fork();
    ASSERT_GE(helper, 0);
    if (helper == 0) {
        if (setsid() < 0 || ioctl(s.get(), TIOCSCTTY, 0) < 0)
            _exit(200);
        signal(SIGTTOU, SIG_IGN);
        Actions fa(cap);
        posix_spawn_file_actions_addtcsetpgrp_np(fa.get(), s.get());
        Attr attr;
        attr.add_flags(POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(attr.get(), 0);
        std::vector<std::string> args = {"probe", "print"};
        auto argv = cvec(args);
        char *envp[] = {nullptr};
        pid_t pid;
        int err = fn(&pid, kSpawnProbe, fa.get(), attr.get(), argv.data(), envp);
        if (err == 0)
            waitpid(pid, nullptr, 0);
        _exit(err);
    }
    Result r;
    r.raw = cap.drain();
    parse_lines(r);
    Exit e = wait_child(helper);
    ASSERT_TRUE(e.exited(0)) << describe(e) << " " << spawn_errno_name(e.status);
    EXPECT_EQ(r["pgid"], r["pid"]);
    EXPECT_EQ(r["tpgid"], r["pid"]);
    EXPECT_NE(r["sid"], r["pid"]);
}

// ---- attributes -----------------------------------------------------------------------------------

TEST_P(PosixSpawn, SetpgroupZeroMakesANewGroup) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(attr.get(), 0);
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["pgid"], r["pid"]);
}

TEST_P(PosixSpawn, SetpgroupJoinsAnExistingGroup) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(attr.get(), getpgrp());
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["pgid"], std::to_string(getpgrp()));
}

TEST_P(PosixSpawn, SetpgroupOfAGroupThatDoesNotExistFailsWithEPERM) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(attr.get(), 0x3ffffff0); // no such group in our session
    auto r = run(cap, fa, &attr);
    EXPECT_EQ(r.err, EPERM) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, SetsidStartsASession) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSID);
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["sid"], r["pid"]);
    EXPECT_EQ(r["pgid"], r["pid"]);
}

TEST_P(PosixSpawn, SetsidWithSetpgroupFailsWithEPERM) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSID | POSIX_SPAWN_SETPGROUP);
    auto r = run(cap, fa, &attr);
    EXPECT_EQ(r.err, EPERM) << spawn_errno_name(r.err);
    EXPECT_TRUE(no_children());
}

TEST_P(PosixSpawn, SetsigmaskReplacesTheInheritedMask) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSIGMASK);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGRTMIN + 2);
    posix_spawnattr_setsigmask(attr.get(), &mask);
    auto r = run(cap, fa, &attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(std::strtoull(r["sigblk"].c_str(), nullptr, 16), (1ull << (SIGTERM - 1)) | (1ull << (SIGRTMIN + 2 - 1)));
}

TEST_P(PosixSpawn, SetsigdefResetsIgnoredSignals) {
    struct sigaction ign {
    }, old1{}, old2{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR1, &ign, &old1);
    sigaction(SIGHUP, &ign, &old2);
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSIGDEF);
    sigset_t def;
    sigfillset(&def); // KILL and STOP included: glibc ignores them, so must we
    sigdelset(&def, SIGHUP);
    posix_spawnattr_setsigdefault(attr.get(), &def);
    auto r = run(cap, fa, &attr);
    sigaction(SIGUSR1, &old1, nullptr);
    sigaction(SIGHUP, &old2, nullptr);
    EXPECT_SPAWNED(r);
    uint64_t ignored = std::strtoull(r["sigign"].c_str(), nullptr, 16);
    EXPECT_FALSE(ignored & (1ull << (SIGUSR1 - 1))) << r["sigign"];
    EXPECT_TRUE(ignored & (1ull << (SIGHUP - 1))) << r["sigign"];
}

// SCHED_FIFO needs CAP_SYS_NICE and real-time runtime; detected in a thread of our own.
bool can_use_fifo() {
    bool ok = false;
    std::thread t([&] {
        sched_param p{};
        p.sched_priority = 1;
        ok = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
    });
    t.join();
    return ok;
}

TEST_P(PosixSpawn, SetschedulerSetsPolicyAndPriority) {
    if (!can_use_fifo())
        GTEST_SKIP() << "SCHED_FIFO is not permitted here";
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_SETSCHEDPARAM);
    posix_spawnattr_setschedpolicy(attr.get(), SCHED_FIFO);
    sched_param p{};
    p.sched_priority = 3;
    posix_spawnattr_setschedparam(attr.get(), &p);
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["sched"], std::to_string(SCHED_FIFO) + " 3");
}

TEST_P(PosixSpawn, SetschedulerWithoutSetschedparamUsesTheAttributesParam) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSCHEDULER);
    posix_spawnattr_setschedpolicy(attr.get(), SCHED_OTHER);
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
    EXPECT_EQ(r["sched"], std::to_string(SCHED_OTHER) + " 0");
}

TEST_P(PosixSpawn, SetschedparamAloneKeepsThePolicy) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_SETSCHEDPARAM);
    sched_param p{};
    p.sched_priority = 5; // invalid for SCHED_OTHER, the policy we run with
    posix_spawnattr_setschedparam(attr.get(), &p);
    auto r = run(cap, fa, &attr);
    EXPECT_EQ(r.err, EINVAL) << spawn_errno_name(r.err);
}

TEST_P(PosixSpawn, UsevforkIsAccepted) {
    Capture cap;
    Actions fa(cap);
    Attr attr;
    attr.add_flags(POSIX_SPAWN_USEVFORK);
    auto r = run(cap, fa, &attr);
    EXPECT_SPAWNED(r);
}

// RESETIDS needs an effective uid other than the real one: a forked helper runs with real uid
// 65534 and effective uid 0 (we are root), then spawns with and without the flag.
TEST_P(PosixSpawn, ResetidsSetsTheEffectiveIdsToTheRealOnes) {
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to set a real uid other than the effective one";
    for (bool reset : {false, true}) {
        Capture cap;
        SpawnFn fn = GetParam().spawn;
        pid_t helper = fork();
        ASSERT_GE(helper, 0);
        if (helper == 0) {
            if (setresgid(65534, 0, 0) < 0 || setresuid(65534, 0, 0) < 0)
                _exit(200);
            Actions fa(cap);
            Attr attr;
            if (reset)
                attr.add_flags(POSIX_SPAWN_RESETIDS);
            std::vector<std::string> args = {"probe", "print"};
            auto argv = cvec(args);
            char *envp[] = {nullptr};
            pid_t pid;
            int err = fn(&pid, kSpawnProbe, fa.get(), attr.get(), argv.data(), envp);
            if (err == 0)
                waitpid(pid, nullptr, 0);
            _exit(err);
        }
        Result r;
        r.raw = cap.drain();
        parse_lines(r);
        Exit e = wait_child(helper);
        ASSERT_TRUE(e.exited(0)) << describe(e);
        if (reset) {
            EXPECT_EQ(r["uid"], "65534 65534 65534");
            EXPECT_EQ(r["gid"], "65534 65534 65534");
        } else {
            EXPECT_EQ(r["uid"], "65534 0 0");
            EXPECT_EQ(r["gid"], "65534 0 0");
        }
    }
}

// ---- threads ---------------------------------------------------------------------------------------

TEST_P(PosixSpawn, ConcurrentSpawnsFromManyThreadsAllSucceed) {
    constexpr int kThreads = 4, kEach = 25;
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    SpawnFn fn = GetParam().spawn;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; i++) {
                Capture cap;
                Actions fa(cap);
                std::string word = "t" + std::to_string(t) + "-" + std::to_string(i);
                auto r = run_with(fn, cap, kSpawnProbe, fa, nullptr, {"probe", "write", "1", word});
                if (r.err == 0 && r.exit.exited(0) && r.raw == word + "\n")
                    good++;
            }
        });
    for (auto &th : threads)
        th.join();
    EXPECT_EQ(good.load(), kThreads * kEach);
    EXPECT_TRUE(no_children());
}

INSTANTIATE_TEST_SUITE_P(Spawn, PosixSpawn, ::testing::ValuesIn(kImpls), ImplName{});

} // namespace

namespace {

// One spawn with many actions and attributes at once, run by both implementations from the same
// caller state: everything the probe prints must be equal, except what names the process itself
// (pid, its pid-namespace list, ppid, its group and session ids) and the stdout pipe (a different pipe each run).
TEST(PosixSpawnAgreement, EverythingTheProbeSeesIsTheSameAsWithGlibc) {
    TempDir tmp;
    std::string f = tmp.file("data", "x");
    std::filesystem::create_directory(tmp / "d");
    Fd inherited = fd_at(f, 40), closed = fd_at(f, 41), cloexec = fd_at(f, 42, O_RDONLY, true);
    ASSERT_TRUE(inherited && closed && cloexec);
    struct sigaction ign {
    }, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &ign, &old);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &block, &oldmask);

    std::map<std::string, std::string> seen[2];
    for (int i = 0; i < 2; i++) {
        Capture cap;
        Actions fa(cap);
        posix_spawn_file_actions_addclose(fa.get(), 41);
        posix_spawn_file_actions_addopen(fa.get(), 43, f.c_str(), O_RDWR | O_APPEND, 0);
        posix_spawn_file_actions_adddup2(fa.get(), 43, 44);
        posix_spawn_file_actions_adddup2(fa.get(), 42, 42);
        posix_spawn_file_actions_addchdir_np(fa.get(), tmp.path().c_str());
        posix_spawn_file_actions_addopen(fa.get(), 45, "d", O_RDONLY | O_DIRECTORY, 0);
        posix_spawn_file_actions_addfchdir_np(fa.get(), 45);
        posix_spawn_file_actions_addclose(fa.get(), 45);
        Attr attr;
        attr.add_flags(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
        sigset_t def;
        sigemptyset(&def);
        sigaddset(&def, SIGHUP);
        posix_spawnattr_setsigdefault(attr.get(), &def);
        auto r = run_with(kImpls[i].spawn, cap, kSpawnProbe, fa, &attr, {"probe", "print", "x y"}, {"A=1", "B=2"});
        ASSERT_EQ(r.err, 0) << kImpls[i].name << ": " << spawn_errno_name(r.err);
        EXPECT_TRUE(r.exit.exited(0)) << describe(r.exit);
        EXPECT_EQ(r["pgid"], r["pid"]) << kImpls[i].name;
        seen[i] = r.kv;
        for (const char *k : {"pid", "nspid", "ppid", "pgid", "sid", "tpgid", "fd.1"})
            seen[i].erase(k);
    }
    pthread_sigmask(SIG_SETMASK, &oldmask, nullptr);
    sigaction(SIGHUP, &old, nullptr);
    EXPECT_EQ(seen[1], seen[0]) << "glibc (left) and ep_posix_spawn (right) disagree";
    EXPECT_GT(seen[0].size(), 30u);
}

} // namespace
