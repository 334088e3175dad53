// SPDX-License-Identifier: MIT
// clone_fallback_test.cpp - where clone3 gives ENOSYS (valgrind, kernels before 5.3, seccomp
// profiles that refuse it), every strategy makes its children with clone(2) instead
// (strategy/region.cpp, stub/helper_main.c): the program sees what it sees with clone3, no
// handler of the caller's is left in a stub, and what clone(2) cannot do (a cgroup at birth) fails
// with ENOSYS and says why.
//
// Each test runs its body in a forked child of the test process that has installed a seccomp filter
// answering clone3 with ENOSYS. The filter is inherited by everything the child starts (stubs, the
// zygote, the helper programs), as a container's profile would be. The child reports key=value
// lines over a pipe; the test checks them here.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <functional>
#include <sstream>

#include "fixture.hpp"

using namespace ep_test;

namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#endif

using Report = std::map<std::string, std::string>;

// clone3 -> ENOSYS for this process and everything it starts; every other call allowed.
int refuse_clone3() {
    sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(f)), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return -errno;
    return 0;
}

// Runs body in a forked child without clone3 and returns what it reported, plus "clone3" (the
// errno name clone3 gave there) and "status" (the child's end: "0" when it exited 0).
Report without_clone3(const std::function<void(Report &)> &body) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return {{"setup", "pipe2: " + errno_name(errno)}};
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        Report r;
        if (int err = refuse_clone3()) {
            r["setup"] = "seccomp: " + errno_name(-err);
        } else {
            r["clone3"] = syscall(SYS_clone3, nullptr, 0) < 0 ? errno_name(errno) : "succeeded";
            body(r);
        }
        std::string text;
        for (const auto &[k, v] : r)
            text += k + "=" + v + "\n";
        for (size_t off = 0; off < text.size();) {
            ssize_t n = write(p[1], text.data() + off, text.size() - off);
            if (n <= 0)
                break;
            off += static_cast<size_t>(n);
        }
        _exit(0);
    }
    close(p[1]);
    Fd rd(p[0]);
    Report r;
    if (pid < 0)
        return {{"setup", "fork: " + errno_name(errno)}};
    std::string text;
    char buf[4096];
    for (;;) {
        pollfd pf{rd.get(), POLLIN, 0};
        int n = poll(&pf, 1, 30000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            kill(pid, SIGKILL);
            r["setup"] = "the child did not finish in 30 s";
            break;
        }
        ssize_t got = read(rd.get(), buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        text.append(buf, static_cast<size_t>(got));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            r[line.substr(0, eq)] = line.substr(eq + 1);
    }
    r["status"] =
        WIFEXITED(status) ? std::to_string(WEXITSTATUS(status)) : "signal " + std::to_string(WTERMSIG(status));
    return r;
}

std::string rc_text(const Rc &r) {
    return r.rc < 0 ? errno_name(r.err) : std::to_string(r.rc);
}

// A line of /proc/<pid>/status ("SigCgt" -> its hex value).
std::string status_field(pid_t pid, const std::string &name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(name + ":", 0) == 0)
            return line.substr(line.find_first_not_of(" \t", name.size() + 1));
    return "<no " + name + ">";
}

bool stub_born_in_ep_open(const Matrix &m) {
    return m.strategy.id != EP_STRATEGY_ZYGOTE && !is_pool(m.strategy.id);
}
bool inherits(const Matrix &m) { // EP_OPEN_INHERIT_*: the stub starts from the caller's state
    return m.strategy.id == EP_STRATEGY_CLONE_VM || m.strategy.id == EP_STRATEGY_FORK;
}

std::string where(const Report &r) {
    std::string s;
    for (const auto &[k, v] : r)
        s += "\n  " + k + "=" + v;
    return s;
}

void handler(int) {}

class CloneFallback : public MatrixTest {};

TEST_P(CloneFallback, WithoutClone3TheProgramRunsAsWithIt) {
    Matrix m = GetParam();
    auto r = without_clone3([&](Report &rep) {
        rep["self"] = std::to_string(getpid());
        Spawn s(m);
        if (!s.opened()) {
            rep["open"] = errno_name(s.open_errno()) + " " + joined(log_messages(-1));
            return;
        }
        rep["umask.set"] = rc_text(s.str("umask", "027"));
        rep["sigmask.set"] = rc_text(s.str("sigmask", "USR1"));
        auto out = s.run({"print", "exit", "3"});
        rep["exec"] = rc_text(out.exec);
        rep["log"] = joined(out.log);
        rep["exit"] = out.exit.exited(3) ? "3" : describe(out.exit);
        for (const char *k : {"ppid", "fds", "umask", "sigblk", "sigign", "comm"})
            rep[std::string("probe.") + k] = out[k];
        rep["close"] = rc_text(s.close());
        ep_cache_release(0); // the zygote or the pool's prepared stubs
        rep["children.left"] = waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD ? "none" : "some";
    });
    ASSERT_EQ(r["setup"], "") << where(r);
    ASSERT_EQ(r["clone3"], "ENOSYS") << where(r);
    EXPECT_EQ(r["status"], "0") << where(r);
    ASSERT_EQ(r["open"], "") << where(r);
    EXPECT_EQ(r["exec"], "0") << where(r);
    EXPECT_EQ(r["exit"], "3") << where(r);
    EXPECT_EQ(r["probe.ppid"], r["self"]) << where(r); // the caller's child, zygote or not
    EXPECT_EQ(r["probe.fds"], "1") << where(r);
    EXPECT_EQ(r["probe.umask"], "0027") << where(r);
    EXPECT_EQ(hex_mask(r["probe.sigblk"]), sigbit(SIGUSR1)) << where(r);
    EXPECT_EQ(hex_mask(r["probe.sigign"]), 0u) << where(r);
    EXPECT_EQ(r["close"], "0") << where(r);
    EXPECT_EQ(r["children.left"], "none") << where(r);
}

// clone(2) has no CLONE_CLEAR_SIGHAND: the stub starts with copies of the caller's handlers. S0
// must leave none of them (EP_STUB_SIGHAND_INHERITED), ignored signals ignored only when inherited.
TEST_P(CloneFallback, WithoutClone3NoHandlerOfTheCallerIsLeftInTheStub) {
    Matrix m = GetParam();
    for (bool inherit : {false, true}) {
        if (inherit && !inherits(m))
            continue; // refused with EOPNOTSUPP by those strategies, as with clone3
        auto r = without_clone3([&](Report &rep) {
            struct sigaction sa {};
            sa.sa_handler = handler;
            sigaction(SIGUSR1, &sa, nullptr);
            sigaction(SIGTERM, &sa, nullptr);
            signal(SIGUSR2, SIG_IGN);
            rep["caller.sigcgt"] = status_field(getpid(), "SigCgt");
            ep_open_how h = m.how();
            if (inherit)
                h.flags |= EP_OPEN_INHERIT_SIGIGN;
            Empty e(m, h);
            if (!e.opened()) {
                rep["open"] = errno_name(e.open_errno()) + " " + joined(log_messages(-1));
                return;
            }
            // S0 runs on its own: wait (2 s at most) until the stub's dispositions are what they
            // must be. (A helper program's exec already dropped the handlers; its S0 then resets
            // the ignored signals.)
            std::string cgt, ign;
            for (int i = 0; i < 2000; i++) {
                cgt = status_field(e.pid(), "SigCgt");
                ign = status_field(e.pid(), "SigIgn");
                if (hex_mask(cgt) == 0 && (hex_mask(ign) & sigbit(SIGUSR2)) == (inherit ? sigbit(SIGUSR2) : 0u))
                    break;
                usleep(1000);
            }
            rep["stub.sigcgt"] = cgt;
            rep["stub.sigign"] = ign;
            rep["close"] = rc_text(e.close());
        });
        std::string what = inherit ? "EP_OPEN_INHERIT_SIGIGN" : "default";
        ASSERT_EQ(r["setup"], "") << where(r);
        ASSERT_EQ(r["clone3"], "ENOSYS") << where(r);
        ASSERT_EQ(r["open"], "") << what << where(r);
        EXPECT_EQ(hex_mask(r["caller.sigcgt"]) & (sigbit(SIGUSR1) | sigbit(SIGTERM)), sigbit(SIGUSR1) | sigbit(SIGTERM))
            << where(r);
        EXPECT_EQ(hex_mask(r["stub.sigcgt"]), 0u) << what << where(r);
        EXPECT_EQ(hex_mask(r["stub.sigign"]) & sigbit(SIGUSR2), inherit ? sigbit(SIGUSR2) : 0u) << what << where(r);
        EXPECT_EQ(r["close"], "0") << where(r);
        EXPECT_EQ(r["status"], "0") << where(r);
    }
}

// clone(2) cannot make a child inside a cgroup, and moving it there afterwards would let it run
// outside first: ep_open() fails with ENOSYS and the log says why.
TEST_P(CloneFallback, WithoutClone3ACgroupAtBirthFailsWithEnosysAndSaysWhy) {
    Matrix m = GetParam();
    auto r = without_clone3([&](Report &rep) {
        // Any directory: the call fails before the kernel would look at it.
        int dir = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ep_open_how h = m.how();
        h.flags |= EP_OPEN_CGROUP;
        h.cgroup_fd = dir;
        Empty e(m, h);
        rep["open"] = e.opened() ? "opened" : errno_name(e.open_errno());
        rep["log"] = joined(log_messages(-1));
        e.close();
        close(dir);
        ep_cache_release(0);
        rep["children.left"] = waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD ? "none" : "some";
    });
    ASSERT_EQ(r["setup"], "") << where(r);
    ASSERT_EQ(r["clone3"], "ENOSYS") << where(r);
    EXPECT_EQ(r["status"], "0") << where(r);
    EXPECT_EQ(r["children.left"], "none") << where(r);
    if (!stub_born_in_ep_open(m)) { // refused as with clone3: its stubs are not born in ep_open()
        EXPECT_EQ(r["open"], "EOPNOTSUPP") << where(r);
        return;
    }
    EXPECT_EQ(r["open"], "ENOSYS") << where(r);
    std::vector<std::string> log{r["log"]};
    EXPECT_TRUE(has_message(log, "e strategy: clone3(", "CLONE_INTO_CGROUP")) << where(r);
    EXPECT_TRUE(has_message(log, "e strategy:", "fallback clone(2) cannot make a child in a cgroup")) << where(r);
}

// CLONE_NEWPID is a clone(2) flag too: a pid namespace at birth still works.
TEST_P(CloneFallback, WithoutClone3APidNamespaceAtBirthStillMakesTheProgramPid1) {
    Matrix m = GetParam();
    if (geteuid() != 0)
        GTEST_SKIP() << "a new pid namespace needs root here";
    if (!stub_born_in_ep_open(m))
        GTEST_SKIP() << "refused at ep_open() with or without clone3 (sandbox_test.cpp)";
    auto r = without_clone3([&](Report &rep) {
        ep_open_how h = m.how();
        h.namespaces = CLONE_NEWPID;
        Spawn s(m, h);
        if (!s.opened()) {
            rep["open"] = errno_name(s.open_errno()) + " " + joined(log_messages(-1));
            return;
        }
        auto out = s.run({"print", "sandbox"});
        rep["exec"] = rc_text(out.exec);
        rep["log"] = joined(out.log);
        rep["probe.pid"] = out["pid"];
    });
    ASSERT_EQ(r["setup"], "") << where(r);
    ASSERT_EQ(r["clone3"], "ENOSYS") << where(r);
    ASSERT_EQ(r["open"], "") << where(r);
    EXPECT_EQ(r["exec"], "0") << where(r);
    EXPECT_EQ(r["probe.pid"], "1") << where(r);
    EXPECT_EQ(r["status"], "0") << where(r);
}

// The stub's own clone3 (the helper that writes a new user namespace's id maps) falls back too.
TEST_P(CloneFallback, WithoutClone3AUserNamespaceGetsItsIdMaps) {
    Matrix m = GetParam();
    if (geteuid() != 0)
        GTEST_SKIP() << "id maps of other ids need root here";
    auto r = without_clone3([&](Report &rep) {
        Spawn s(m);
        if (!s.opened()) {
            rep["open"] = errno_name(s.open_errno()) + " " + joined(log_messages(-1));
            return;
        }
        rep["uid_map.set"] = rc_text(s.str("uid_map", "0 100000 65536"));
        rep["gid_map.set"] = rc_text(s.str("gid_map", "0 100000 65536"));
        rep["unshare.set"] = rc_text(s.str("unshare", "user"));
        auto out = s.run({"print", "sandbox"});
        rep["exec"] = rc_text(out.exec);
        rep["log"] = joined(out.log);
        rep["probe.uid_map"] = out["uid_map"];
    });
    ASSERT_EQ(r["setup"], "") << where(r);
    ASSERT_EQ(r["clone3"], "ENOSYS") << where(r);
    ASSERT_EQ(r["open"], "") << where(r);
    EXPECT_EQ(r["uid_map.set"], "0") << where(r);
    EXPECT_EQ(r["unshare.set"], "0") << where(r);
    EXPECT_EQ(r["exec"], "0") << where(r);
    std::string map = r["probe.uid_map"];
    EXPECT_EQ(map.substr(map.find_first_not_of(' ')), "0     100000      65536") << where(r);
    EXPECT_EQ(r["status"], "0") << where(r);
}

EP_INSTANTIATE_MATRIX(Conformance, CloneFallback);

} // namespace
