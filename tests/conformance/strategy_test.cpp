// SPDX-License-Identifier: MIT
// strategy_test.cpp - what a strategy prepares ahead (the pool's stubs, the zygote, the slots) never
// shows: the caller's state the program starts from is the caller's at ep_open(), not at an earlier
// spawn; the stub is the caller's child; the caller's descriptors opened since do not leak.
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Prepared : public MatrixTest {
  protected:
    // One spawn first, so that whatever the strategy prepares (pool, zygote, memfd, slots) exists.
    void warm_up() {
        auto out = Spawn(GetParam()).run({"exit", "0"});
        ASSERT_EQ(out.exec, ok()) << joined(out.log);
    }
};

TEST_P(Prepared, CwdIsTheCallersAtOpenNotAtAnEarlierSpawn) {
    warm_up();
    char old[4096];
    ASSERT_NE(getcwd(old, sizeof old), nullptr);
    ASSERT_EQ(chdir(tmp.path().c_str()), 0);
    Spawn s(GetParam());
    ASSERT_EQ(chdir(old), 0); // at once: what counts is the cwd at ep_open()
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], tmp.path());
}

TEST_P(Prepared, UmaskIsTheCallersAtOpenNotAtAnEarlierSpawn) {
    warm_up();
    mode_t old = umask(0027);
    Spawn s(GetParam());
    umask(old);
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["umask"], "0027");
}

// A pooled stub is told the caller's cwd ahead of the caller's own ops: a relative "cwd" key
// starts from the cwd at ep_open(), as with a stub made then.
TEST_P(Prepared, ARelativeCwdKeyStartsFromTheCallersCwdAtOpen) {
    warm_up();
    ASSERT_EQ(mkdir((tmp.path() + "/sub").c_str(), 0755), 0);
    char old[4096];
    ASSERT_NE(getcwd(old, sizeof old), nullptr);
    ASSERT_EQ(chdir(tmp.path().c_str()), 0);
    Spawn s(GetParam());
    ASSERT_EQ(chdir(old), 0);
    ASSERT_EQ(s.str("cwd", "sub"), ok()) << joined(s.log());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cwd"], tmp.path() + "/sub");
}

// Paused stubs that are this process's children (the pool's, once its refill thread made them).
std::set<pid_t> stub_children_pids() {
    std::set<pid_t> pids;
    DIR *tasks = opendir("/proc/self/task");
    if (!tasks)
        return pids;
    while (dirent *t = readdir(tasks)) {
        std::ifstream children(std::string("/proc/self/task/") + t->d_name + "/children");
        pid_t pid;
        while (children >> pid) {
            std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
            std::string name;
            if (std::getline(comm, name) && name == "ep-stub")
                pids.insert(pid);
        }
    }
    closedir(tasks);
    return pids;
}
int stub_children() {
    return static_cast<int>(stub_children_pids().size());
}

std::string exe_of(pid_t pid) {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

// The stub ep_open() hands out is made by the entry's strategy, or for a pool by its base, and a pool
// hands out one of the stubs it made ahead: what the stub shares with the caller (kcmp(2) KCMP_VM:
// the same memory) and what program it runs tell the strategies apart.
TEST_P(Prepared, TheStubIsMadeByTheStrategyOrThePoolsBase) {
    if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0) != 0)
        GTEST_SKIP() << "kcmp(2) is not available: " << strerror(errno);
    const bool pool = is_pool(GetParam().strategy.id);
    const char *size = getenv("EMPTYPROC_POOL_SIZE");
    if (pool && size && atoi(size) < 2)
        GTEST_SKIP() << "EMPTYPROC_POOL_SIZE=" << size << ": a pool of one may be refilling when ep_open() comes";
    ep_cache_release(0); // only this entry's pool will be refilled: every stub child below is its
    warm_up();
    const uint32_t maker = stub_maker(GetParam().strategy.id);
    // The refill thread makes one stub at a time: of two stub children, one at least is in the queue.
    std::set<pid_t> ready;
    for (int i = 0; i < 2000 && pool && (ready = stub_children_pids()).size() < 2; i++)
        usleep(1000);
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened()) << joined(log_messages(-1));
    const pid_t stub = ep_pid(s.fd());
    ASSERT_GT(stub, 0);
    if (pool) {
        EXPECT_EQ(ready.count(stub), 1u) << "the pool made no stub ahead, or handed out a fresh one";
    }
    const bool shares_memory = syscall(SYS_kcmp, getpid(), stub, KCMP_VM, 0, 0) == 0;
    const std::string exe = exe_of(stub), self = exe_of(getpid());
    switch (maker) {
    case EP_STRATEGY_CLONE_VM:
        EXPECT_TRUE(shares_memory);
        break;
    case EP_STRATEGY_FORK: // a copy of the caller: its program, its own memory
        EXPECT_FALSE(shares_memory);
        EXPECT_EQ(exe, self);
        break;
    case EP_STRATEGY_EXEC_STUB:
    case EP_STRATEGY_ZYGOTE: // the helper program, from its file
        EXPECT_FALSE(shares_memory);
        EXPECT_EQ(exe.substr(exe.rfind('/') + 1), "ep-stub") << exe;
        break;
    case EP_STRATEGY_SAFEEXEC: // the helper's image, from a memfd
        EXPECT_FALSE(shares_memory);
        EXPECT_EQ(exe.rfind("/memfd:", 0), 0u) << exe;
        break;
    default:
        FAIL() << "no expectation for strategy " << maker;
    }
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
}

// In a forked caller that chroot()s after its first spawn: the next program runs in the new root
// (a pooled stub made before the chroot is not used). The new root has a /proc, so that nothing
// but the root itself tells the pool not to hand out a stub made before. The target is the static probe, copied into
// the new root, exec'ed as "/probe": found only if the stub's root is the caller's at ep_open().
TEST_P(Prepared, RootIsTheCallersAtOpenNotAtAnEarlierSpawn) {
    if (stub_maker(GetParam().strategy.id) == EP_STRATEGY_EXEC_STUB)
        GTEST_SKIP() << "exec_stub execs its helper program by path, which the new root does not hold";
    std::string copy = "cp " + std::string(EP_PROBE_STATIC_PATH) + " " + tmp.path() + "/probe";
    ASSERT_EQ(system(copy.c_str()), 0);
    Fd report_r, report_w;
    {
        int p[2];
        ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
        report_r.reset(p[0]);
        report_w.reset(p[1]);
    }
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto say = [&](const std::string &what) {
            (void)!::write(report_w.get(), what.data(), what.size());
            _exit(1);
        };
        // A mount namespace of its own, with /proc inside the new root (the pool reads the umask
        // there); it ends with this process.
        std::string proc = tmp.path() + "/proc";
        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, nullptr) != 0 ||
            mkdir(proc.c_str(), 0755) != 0 || mount("proc", proc.c_str(), "proc", 0, nullptr) != 0)
            say("mount namespace with /proc in the new root: " + std::string(strerror(errno)));
        auto first = Spawn(GetParam()).run({"exit", "0"}); // fills this process's pool, starts its zygote
        if (!(first.exec == ok()))
            say("first spawn: " + joined(first.log));
        // The pool's stubs must exist before the chroot, or this test would not be about them.
        for (int i = 0; i < 2000 && is_pool(GetParam().strategy.id) && stub_children() == 0; i++)
            usleep(1000);
        if (is_pool(GetParam().strategy.id) && stub_children() == 0)
            say("the pool made no stub within 2 s");
        if (chroot(tmp.path().c_str()) != 0 || chdir("/") != 0)
            say("chroot: " + std::string(strerror(errno)));
        Spawn s(GetParam());
        Rc r = s.stdout_to_pipe();
        if (r == ok())
            r = s.args({"print"});
        if (r == ok())
            r = s.path("exec", "/probe");
        if (!(r == ok()))
            say("config: " + joined(s.log()));
        auto out = s.finish();
        if (!(out.exec == ok()))
            say("exec: " + joined(out.log));
        if (out["cwd"] != "/")
            say("cwd=" + out["cwd"]);
        _exit(0);
    }
    report_w.reset();
    std::string why;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(report_r.get(), buf, sizeof buf)) > 0)
        why.append(buf, static_cast<size_t>(n));
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << why;
}

TEST_P(Prepared, RlimitsAreTheCallersAtOpenNotAtAnEarlierSpawn) {
    warm_up();
    rlimit saved;
    ASSERT_EQ(getrlimit(RLIMIT_CORE, &saved), 0);
    rlimit changed = saved;
    changed.rlim_cur = saved.rlim_cur == 4096 ? 8192 : 4096;
    if (changed.rlim_max != RLIM_INFINITY && changed.rlim_cur > changed.rlim_max)
        GTEST_SKIP() << "RLIMIT_CORE's hard limit is too low to change the soft one";
    ASSERT_EQ(setrlimit(RLIMIT_CORE, &changed), 0);
    Spawn s(GetParam());
    setrlimit(RLIMIT_CORE, &saved);
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.core"].substr(0, out["rlimit.core"].find(':')), std::to_string(changed.rlim_cur));
}

TEST_P(Prepared, ADescriptorOpenedSinceAnEarlierSpawnDoesNotLeak) {
    warm_up();
    int fd = ::open("/dev/null", O_RDONLY); // not CLOEXEC: a careless caller's
    ASSERT_GE(fd, 0);
    Fd hold(fd);
    Spawn s(GetParam());
    auto out = s.run(); // fd 1 is the output pipe: nothing else may be open
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1");
}

TEST_P(Prepared, TheProgramIsTheCallersChild) {
    warm_up();
    auto out = Spawn(GetParam()).run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["ppid"], std::to_string(getpid()));
}

EP_INSTANTIATE_MATRIX(Conformance, Prepared);

} // namespace
