// SPDX-License-Identifier: MIT
// sandbox_test.cpp - namespaces, id maps, hostname, cgroup, no_new_privs, seccomp, Landlock,
// capabilities, pdeathsig, ctty, nice, cpus, oom_score_adj, ioprio, personality: what the probe sees.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <cstring>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "fixture.hpp"

using namespace ep_test;

namespace {

std::string ns_inode(const char *type) {
    struct stat st;
    std::string path = std::string("/proc/self/ns/") + type;
    return stat(path.c_str(), &st) == 0 ? std::to_string(st.st_ino) : "?";
}

class RootTest : public MatrixTest {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "namespaces, capabilities and cgroups need root here";
    }
};

class Namespaces : public RootTest {};
class Caps : public RootTest {};
class Seccomp : public MatrixTest {};
class Landlock : public MatrixTest {};
class Cgroup : public RootTest {};
class Sched : public MatrixTest {};
class SandboxOrder : public MatrixTest {};

// ---- namespaces -----------------------------------------------------------------------------------

TEST_P(Namespaces, UnshareNetUtsIpcGivesNewOnes) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "net,uts,ipc"), ok()) << joined(s.log());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_NE(out["ns.net"], ns_inode("net"));
    EXPECT_NE(out["ns.uts"], ns_inode("uts"));
    EXPECT_NE(out["ns.ipc"], ns_inode("ipc"));
    EXPECT_EQ(out["ns.mnt"], ns_inode("mnt"));
    EXPECT_EQ(out["ns.user"], ns_inode("user"));
}

TEST_P(Namespaces, HostnameInNewUts) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "uts"), ok());
    ASSERT_EQ(s.str("hostname", "sandboxed"), ok()) << joined(s.log());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["hostname"], "sandboxed");
    char ours[128] = {};
    gethostname(ours, sizeof ours - 1);
    EXPECT_NE(std::string(ours), "sandboxed");
}

TEST_P(Namespaces, UserNamespaceMapsWrittenBeforeLaterOps) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid_map", "0 100000 65536"), ok()) << joined(s.log());
    ASSERT_EQ(s.str("gid_map", "0 100000 65536"), ok()) << joined(s.log());
    ASSERT_EQ(s.str("unshare", "user"), ok()) << joined(s.log());
    ASSERT_EQ(s.str("gid", "0"), ok()); // setresgid(0) inside: needs the map already in place
    ASSERT_EQ(s.str("uid", "0"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_NE(out["ns.user"], ns_inode("user"));
    EXPECT_EQ(out["uid_map"].substr(out["uid_map"].find_first_not_of(' ')), "0     100000      65536");
    EXPECT_EQ(out["uid"], "0 0 0");
    EXPECT_EQ(out["gid"], "0 0 0");
}

TEST_P(Namespaces, TimeAndCgroupNamespacesReachTheProgram) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "time,cgroup"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_NE(out["ns.time"], ns_inode("time")); // unshare moves children only: the exec moves it
    EXPECT_NE(out["ns.cgroup"], ns_inode("cgroup"));
}

TEST_P(Namespaces, AMapTheKernelRefusesFailsTheUnshare) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid_map", "0 100000 10,5 100000 10"), ok()); // overlapping ranges
    if (s.sync()) {                                               // the verdict of the op itself
        EXPECT_EQ(s.str("unshare", "user"), fails(EINVAL));
        EXPECT_TRUE(has_message(s.log(), "e unshare:", "EINVAL"));
        return;
    }
    ASSERT_EQ(s.str("unshare", "user"), ok());
    auto out = s.run();
    EXPECT_EQ(out.exec, fails(EINVAL));
    EXPECT_TRUE(has_message(out.log, "e unshare:", "EINVAL")) << joined(out.log);
    EXPECT_TRUE(out.lines.empty()); // the program never ran
}

TEST_P(Namespaces, UserNamespaceWithoutMapsIsOverflowId) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "user"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["uid"], "65534 65534 65534");
    EXPECT_EQ(out["uid_map"], "");
}

TEST_P(Namespaces, UserThenMountNamespaceRemountReadOnly) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid_map", "0 0 1"), ok());
    ASSERT_EQ(s.str("gid_map", "0 0 1"), ok());
    ASSERT_EQ(s.str("unshare", "user,mnt"), ok());
    ASSERT_EQ(s.path("remount_ro", "/"), ok()) << joined(s.log());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["ro./"], "1");
    EXPECT_NE(out["ns.mnt"], ns_inode("mnt"));
    struct statvfs sv;
    ASSERT_EQ(statvfs("/", &sv), 0);
    EXPECT_EQ(sv.f_flag & ST_RDONLY, 0u) << "the caller's / stays writable";
}

// The zygote's stubs are cloned by another process and the pool's before ep_open(): neither can be
// born in a namespace or a cgroup, and ep_open() says so instead of ignoring the request.
bool stub_born_in_ep_open(const Matrix &p) {
    return p.strategy.id != EP_STRATEGY_ZYGOTE && !is_pool(p.strategy.id);
}

void expect_birth_refused(const Spawn &s) {
    EXPECT_FALSE(s.opened());
    EXPECT_EQ(s.open_errno(), EOPNOTSUPP);
    EXPECT_TRUE(has_message(log_messages(-1), "e strategy:", "at birth")) << joined(log_messages(-1));
}

TEST_P(Namespaces, PidNamespaceAtBirthMakesTheProgramPid1) {
    ep_open_how h = GetParam().how();
    h.namespaces = CLONE_NEWPID;
    Spawn s(GetParam(), h);
    if (!stub_born_in_ep_open(GetParam()))
        return expect_birth_refused(s);
    ASSERT_TRUE(s.opened()) << errno_name(s.open_errno()) << " " << joined(log_messages(-1));
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["pid"], "1");
    EXPECT_EQ(out["nspid"], std::to_string(out.pid) + "\t1");
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit); // the pidfd is the program: its own status
}

TEST_P(Namespaces, SetnsJoinsTheCallersNet) {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "net"), ok());
    ASSERT_EQ(s.pass("setns", fd), ok()) << joined(s.log()); // back to ours
    close(fd);
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["ns.net"], ns_inode("net"));
}

TEST_P(Namespaces, PidInUnshareIsRejectedWithTheReason) {
    Spawn s(GetParam());
    EXPECT_EQ(s.str("unshare", "pid"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e unshare:", "ep_open")) << joined(s.log());
}

// ---- no_new_privs, seccomp, Landlock -------------------------------------------------------------

TEST_P(Seccomp, NoNewPrivsIsSet) {
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("no_new_privs"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["nonewprivs"], "1");
}

// The filter applies to every later op, so it comes last: the descriptors go first.
TEST_P(Seccomp, DenyListFailsThoseCallsWithEperm) {
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("no_new_privs"), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.str("seccomp_deny", "uname,getcwd"), ok()) << joined(s.log());
    ASSERT_EQ(s.args({"try", "uname", "try", "getcwd", "try", "getpid", "print"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["try.uname"], "EPERM");
    EXPECT_EQ(out["try.getcwd"], "EPERM");
    EXPECT_EQ(out["try.getpid"], "0");
    EXPECT_EQ(out["seccomp"], "2");
}

TEST_P(Seccomp, RawProgramIsInstalled) {
    sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, 0x7fff0000u /* SECCOMP_RET_ALLOW */)};
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("no_new_privs"), ok());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.bin("seccomp", allow, sizeof allow), ok());
    ASSERT_EQ(s.args({"print"}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["seccomp"], "2");
}

TEST_P(Seccomp, OpAfterSeccompIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("seccomp_deny", "uname"), ok());
    EXPECT_EQ(s.str("umask", "077"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e umask:", "seccomp comes last")) << joined(s.log());
}

TEST_P(Seccomp, UnknownSyscallIsRejected) {
    Spawn s(GetParam());
    EXPECT_EQ(s.str("seccomp_deny", "no_such_call"), fails(EINVAL));
}

int landlock_ruleset(const std::string &rw_dir) {
    int abi = static_cast<int>(syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION));
    if (abi < 1)
        return -1;
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
    int rs = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
    if (rs < 0)
        return -1;
    landlock_path_beneath_attr pb{};
    pb.allowed_access = attr.handled_access_fs;
    pb.parent_fd = open(rw_dir.c_str(), O_PATH | O_CLOEXEC);
    syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    close(pb.parent_fd);
    return rs;
}

TEST_P(Landlock, WritesOnlyWhereTheRulesetAllows) {
    std::string rw = tmp.path() + "/rw";
    ASSERT_EQ(mkdir(rw.c_str(), 0755), 0);
    int rs = landlock_ruleset(rw);
    if (rs < 0)
        GTEST_SKIP() << "Landlock is not enabled in this kernel";
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("no_new_privs"), ok());
    ASSERT_EQ(s.pass("landlock", rs), ok());
    close(rs);
    auto out = s.run({"touch", tmp.path() + "/outside"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["touch"], "EACCES");

    Spawn s2(GetParam());
    rs = landlock_ruleset(rw);
    ASSERT_EQ(s2.flag("no_new_privs"), ok());
    ASSERT_EQ(s2.pass("landlock", rs), ok());
    close(rs);
    auto out2 = s2.run({"touch", rw + "/inside"});
    ASSERT_EQ(out2.exec, ok()) << joined(out2.log);
    EXPECT_EQ(out2["touch"], "0");
}

// ---- capabilities ---------------------------------------------------------------------------------

TEST_P(Caps, DropAllEmptiesEverySetOfARootProgram) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("cap_drop", "all"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["cap.bnd"]), 0u);
    EXPECT_EQ(hex_mask(out["cap.prm"]), 0u);
    EXPECT_EQ(hex_mask(out["cap.eff"]), 0u);
    EXPECT_EQ(hex_mask(out["cap.inh"]), 0u);
    EXPECT_EQ(out["uid"], "0 0 0");
}

TEST_P(Caps, DropListRemovesOnlyThose) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("cap_drop", "net_raw,CAP_SYS_ADMIN"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    uint64_t bnd = hex_mask(out["cap.bnd"]);
    EXPECT_EQ(bnd & (1ull << 13), 0u); // CAP_NET_RAW
    EXPECT_EQ(bnd & (1ull << 21), 0u); // CAP_SYS_ADMIN
    EXPECT_NE(bnd & (1ull << 12), 0u); // CAP_NET_ADMIN stays
    EXPECT_EQ(hex_mask(out["cap.eff"]), bnd);
}

TEST_P(Caps, AmbientSurvivesTheUidChange) {
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("keep_caps"), ok());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    ASSERT_EQ(s.str("cap_ambient", "net_bind_service"), ok()) << joined(s.log());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["uid"], "65534 65534 65534");
    EXPECT_EQ(hex_mask(out["cap.amb"]), 1ull << 10);
    EXPECT_EQ(hex_mask(out["cap.eff"]), 1ull << 10);
    EXPECT_EQ(hex_mask(out["cap.prm"]), 1ull << 10);
}

TEST_P(Caps, AmbientAfterUidWithoutKeepCapsIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    EXPECT_EQ(s.str("cap_ambient", "net_bind_service"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e cap_ambient:", "keep_caps before uid")) << joined(s.log());
}

TEST_P(Caps, DropAfterUidIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    EXPECT_EQ(s.str("cap_drop", "all"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e cap_drop:", "CAP_SETPCAP")) << joined(s.log());
}

TEST_P(Caps, PdeathsigStillArmedAfterTheUidChange) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    ASSERT_EQ(s.str("pdeathsig", "KILL"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["pdeathsig"], std::to_string(SIGKILL));
}

// A holder process opens the program with pdeathsig KILL (after a uid change) and exits: the
// program, asleep, must die of SIGKILL.
TEST_P(Caps, PdeathsigKillsTheProgramWhenItsParentDies) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t holder = fork();
    ASSERT_GE(holder, 0);
    if (holder == 0) {
        ep_open_how h = GetParam().how();
        int fd = ep_open(&h, sizeof h);
        bool good = fd >= 0 && ep_config(fd, EP_CONFIG_SET_STRING, "uid", "65534", 0) == 0 &&
                    ep_config(fd, EP_CONFIG_SET_STRING, "pdeathsig", "KILL", 0) == 0 &&
                    ep_config(fd, EP_CONFIG_SET_STRING, "argv", "probe", 0) == 0 &&
                    ep_config(fd, EP_CONFIG_SET_STRING, "argv", "sleep", 0) == 0 &&
                    ep_config(fd, EP_CONFIG_SET_STRING, "argv", "60", 0) == 0 &&
                    ep_config(fd, EP_CONFIG_SET_PATH, "exec", kProbe, AT_FDCWD) == 0 &&
                    ep_config(fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0) == 0;
        pid_t pid = good ? ep_pid(fd) : -1;
        (void)!write(p[1], &pid, sizeof pid);
        _exit(good ? 0 : 1); // the program's parent thread is gone now
    }
    close(p[1]);
    pid_t pid = -1;
    ASSERT_EQ(read(p[0], &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
    close(p[0]);
    int st = 0;
    ASSERT_EQ(waitpid(holder, &st, 0), holder);
    ASSERT_GT(pid, 0) << "the holder could not start the program";
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        EXPECT_EQ(errno, ESRCH); // already gone and reaped by init: it died
        return;
    }
    pollfd pf{pidfd, POLLIN, 0};
    int ready = poll(&pf, 1, 30000); // a bound against hanging, not a timing assertion
    close(pidfd);
    EXPECT_EQ(ready, 1) << "the program outlived its parent: pdeathsig was not armed";
    if (ready != 1)
        kill(pid, SIGKILL);
}

TEST_P(Caps, UidAfterPdeathsigIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("pdeathsig", "TERM"), ok());
    EXPECT_EQ(s.str("uid", "65534"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e uid:", "parent-death signal")) << joined(s.log());
}

// ---- cgroup ---------------------------------------------------------------------------------------

// A writable cgroup v2 directory of our own under the unified hierarchy, removed at the end.
class ScopedCgroup {
  public:
    ScopedCgroup() {
        std::ifstream mi("/proc/self/mountinfo");
        std::string line;
        while (std::getline(mi, line)) {
            size_t dash = line.find(" - ");
            if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0)
                continue;
            std::istringstream f(line);
            std::string id, parent, dev, root, mnt;
            f >> id >> parent >> dev >> root >> mnt;
            base_ = mnt;
            break;
        }
        if (base_.empty()) {
            why_ = "no cgroup v2 hierarchy is mounted";
            return;
        }
        dir_ = base_ + "/ep-test-" + std::to_string(getpid()) + "-" + std::to_string(counter()++);
        if (mkdir(dir_.c_str(), 0755) != 0) {
            why_ = "cannot create " + dir_ + ": " + strerror(errno);
            dir_.clear();
        }
    }
    ~ScopedCgroup() {
        if (!dir_.empty())
            rmdir(dir_.c_str()); // the program has exited and was reaped: the cgroup is empty
    }
    const std::string &dir() const { return dir_; }
    const std::string &why() const { return why_; }
    std::string relative() const { return dir_.substr(base_.size()); } // "/ep-test-..." as /proc/pid/cgroup says

  private:
    static int &counter() {
        static int c = 0;
        return c;
    }
    std::string base_, dir_, why_;
};

Output run_cgroup_probe(Spawn &s) {
    // /proc/self/cgroup has several lines on a hybrid system: print it whole.
    Rc r = s.stdout_to_pipe();
    if (r == ok())
        r = s.str("argv", "cat");
    if (r == ok())
        r = s.str("argv", "/proc/self/cgroup");
    if (r == ok())
        r = s.str("exec", "cat");
    if (r == ok())
        r = s.str("env", "PATH=/usr/bin:/bin");
    if (!(r == ok())) {
        Output o;
        o.exec = r;
        return o;
    }
    return s.finish();
}

std::string v2_path(const Output &out) {
    for (const auto &l : out.lines)
        if (l.rfind("0::", 0) == 0)
            return l.substr(3);
    return "?";
}

TEST_P(Cgroup, KeyMovesTheProgramBeforeExec) {
    ScopedCgroup cg;
    if (cg.dir().empty())
        GTEST_SKIP() << cg.why();
    {
        Spawn s(GetParam());
        ASSERT_EQ(s.path("cgroup", cg.dir()), ok());
        auto out = run_cgroup_probe(s);
        ASSERT_EQ(out.exec, ok()) << joined(out.log);
        EXPECT_EQ(v2_path(out), cg.relative());
    }
}

TEST_P(Cgroup, AtBirthWithCloneIntoCgroup) {
    ScopedCgroup cg;
    if (cg.dir().empty())
        GTEST_SKIP() << cg.why();
    int fd = open(cg.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    {
        ep_open_how h = GetParam().how();
        h.flags |= EP_OPEN_CGROUP;
        h.cgroup_fd = fd;
        Spawn s(GetParam(), h);
        if (!stub_born_in_ep_open(GetParam())) {
            close(fd);
            return expect_birth_refused(s);
        }
        ASSERT_TRUE(s.opened()) << errno_name(s.open_errno()) << " " << joined(log_messages(-1));
        // The stub itself is in the cgroup already, before any op.
        std::ifstream stub_cg("/proc/" + std::to_string(s.pid()) + "/cgroup");
        std::string line, stub_v2;
        while (std::getline(stub_cg, line))
            if (line.rfind("0::", 0) == 0)
                stub_v2 = line.substr(3);
        EXPECT_EQ(stub_v2, cg.relative());
        auto out = run_cgroup_probe(s);
        ASSERT_EQ(out.exec, ok()) << joined(out.log);
        EXPECT_EQ(v2_path(out), cg.relative());
    }
    close(fd);
}

// ---- scheduling and friends -----------------------------------------------------------------------

TEST_P(Sched, NiceIsSet) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("nice", "7"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["nice"], "7");
}

TEST_P(Sched, CpusSetsTheAffinity) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("cpus", "0"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["cpus"], "0");
}

TEST_P(Sched, OomScoreAdjIsWritten) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("oom_score_adj", "500"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["oom_score_adj"], "500");
}

TEST_P(Sched, IoprioIsSet) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("ioprio", "be:6"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["ioprio"], std::to_string((2 << 13) | 6));
}

TEST_P(Sched, PersonalityIsSet) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("personality", "addr_no_randomize"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["personality"], "40000");
}

TEST_P(Sched, CttyNeedsSetsidFirst) {
    Spawn s(GetParam());
    EXPECT_EQ(s.str("ctty", "0"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e ctty:", "setsid must come before ctty")) << joined(s.log());
}

TEST_P(Sched, CttyMakesThePtyTheControllingTerminal) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave, 0);
    struct stat st;
    ASSERT_EQ(fstat(slave, &st), 0);
    Spawn s(GetParam());
    ASSERT_EQ(s.pass("fd.0", slave), ok());
    ASSERT_EQ(s.flag("setsid"), ok());
    ASSERT_EQ(s.str("ctty", "0"), ok());
    close(slave);
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["tty_nr"], std::to_string(static_cast<int>(st.st_rdev)));
    close(master);
}

// ---- order ----------------------------------------------------------------------------------------

TEST_P(SandboxOrder, HostnameWithoutUtsNamespaceIsRejected) {
    Spawn s(GetParam());
    EXPECT_EQ(s.str("hostname", "x"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e hostname:", "UTS")) << joined(s.log());
}

TEST_P(SandboxOrder, MapAfterUnshareUserIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "user"), ok());
    EXPECT_EQ(s.str("uid_map", "0 0 1"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e uid_map:", "before unshare user")) << joined(s.log());
}

TEST_P(SandboxOrder, UserAfterOtherNamespacesIsRejected) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("unshare", "net"), ok());
    EXPECT_EQ(s.str("unshare", "user"), fails(EINVAL));
    EXPECT_TRUE(has_message(s.log(), "e unshare:", "owned by")) << joined(s.log());
}

TEST_P(SandboxOrder, RemountWithoutMountNamespaceIsRejected) {
    Spawn s(GetParam());
    EXPECT_EQ(s.path("remount_ro", "/"), fails(EINVAL));
}

TEST_P(SandboxOrder, MalformedValuesAreRejected) {
    Spawn s(GetParam());
    EXPECT_EQ(s.str("nice", "20"), fails(EINVAL));
    EXPECT_EQ(s.str("cpus", "3-1"), fails(EINVAL));
    EXPECT_EQ(s.str("oom_score_adj", "1001"), fails(EINVAL));
    EXPECT_EQ(s.str("uid_map", "0 0"), fails(EINVAL));
    EXPECT_EQ(s.str("cap_drop", "no_such_cap"), fails(EINVAL));
    EXPECT_EQ(s.str("ioprio", "rt:9"), fails(EINVAL));
    EXPECT_EQ(s.str("unshare", "bogus"), fails(EINVAL));
}

EP_INSTANTIATE_MATRIX(Conformance, Namespaces);
EP_INSTANTIATE_MATRIX(Conformance, Caps);
EP_INSTANTIATE_MATRIX(Conformance, Seccomp);
EP_INSTANTIATE_MATRIX(Conformance, Landlock);
EP_INSTANTIATE_MATRIX(Conformance, Cgroup);
EP_INSTANTIATE_MATRIX(Conformance, Sched);
EP_INSTANTIATE_MATRIX(Conformance, SandboxOrder);

} // namespace
