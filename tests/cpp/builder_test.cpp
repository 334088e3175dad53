// SPDX-License-Identifier: MIT
// builder_test.cpp - every ep::Builder method shows up in what the exec'd probe sees, in sync and
// batched mode.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "cpp_probe.hpp"

using ep_test::Probe;
using ep_test::ProbeRun;

namespace {

class CppBuilder : public ::testing::TestWithParam<bool> {
  protected:
    ep::Options how() const { return ep::Options{.sync = GetParam()}; }

    static void expect_ok(const ProbeRun &r) {
        ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.message;
        EXPECT_TRUE(r.status.exited());
        EXPECT_EQ(r.status.code(), 0);
    }

    // A scratch directory, removed with what is in it.
    std::string scratch() {
        char tmpl[] = "/tmp/ep-cpp-XXXXXX";
        const char *dir = mkdtemp(tmpl);
        EXPECT_NE(dir, nullptr);
        dirs_.push_back(dir ? dir : "/tmp");
        return dirs_.back();
    }
    void TearDown() override {
        for (const auto &d : dirs_)
            std::system(("rm -rf '" + d + "'").c_str());
    }

  private:
    std::vector<std::string> dirs_;
};

std::string dir_of(const std::string &path) {
    return path.substr(0, path.rfind('/'));
}

std::string hex16(unsigned long long v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%016llx", v);
    return buf;
}

TEST_P(CppBuilder, ArgsAppendInOrderAndFirstIsArgv0) {
    Probe p(how());
    ProbeRun r = p.run({"print", "two words", ""});
    expect_ok(r);
    EXPECT_EQ(r["argc"], "4");
    EXPECT_EQ(r["argv.0"], "probe");
    EXPECT_EQ(r["argv.2"], "two words");
    EXPECT_EQ(r["argv.3"], "");
}

TEST_P(CppBuilder, ArgsVectorAndDefaultArgv0) {
    Probe p(how());
    p.builder().exec(EP_PROBE_PATH); // no arg(): the library makes argv[0] the program
    ProbeRun r = p.run({}, false);
    expect_ok(r);
    EXPECT_EQ(r["argc"], "1");
    EXPECT_EQ(r["argv.0"], EP_PROBE_PATH);

    Probe q(how());
    q.builder().args({"p0", "print", "x"}).exec(EP_PROBE_PATH);
    r = q.run({}, false);
    expect_ok(r);
    EXPECT_EQ(r["argv.0"], "p0");
    EXPECT_EQ(r["argv.2"], "x");
}

TEST_P(CppBuilder, EnvironmentStartsEmptyAndGetsWhatIsAdded) {
    Probe empty(how());
    ProbeRun r = empty.run();
    expect_ok(r);
    EXPECT_EQ(r["envc"], "0");

    Probe p(how());
    p.builder()
        .env("A", "1")
        .environment(std::map<std::string, std::string>{{"B", "2"}, {"C", "x=y"}})
        .environment(std::vector<std::string>{"D=4"});
    r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["envc"], "4");
    EXPECT_EQ(r["env.0"], "A=1");
    EXPECT_EQ(r["env.1"], "B=2");
    EXPECT_EQ(r["env.2"], "C=x=y");
    EXPECT_EQ(r["env.3"], "D=4");
}

TEST_P(CppBuilder, InheritEnvironmentCopiesOurs) {
    setenv("EP_CPP_TEST_MARK", "inherited", 1);
    Probe p(how());
    p.builder().inherit_environment();
    ProbeRun r = p.run();
    expect_ok(r);
    bool found = false;
    for (const auto &[k, v] : r.out)
        found |= k.rfind("env.", 0) == 0 && v == "EP_CPP_TEST_MARK=inherited";
    EXPECT_TRUE(found);
    unsetenv("EP_CPP_TEST_MARK");
}

TEST_P(CppBuilder, FdMapsOurDescriptorWithoutCloexec) {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(null, 0);
    Probe p(how());
    p.builder().fd(5, null);
    ProbeRun r = p.run();
    close(null);
    expect_ok(r);
    EXPECT_EQ(r["fds"], "1,5");
    EXPECT_EQ(r["fd.5"].rfind("/dev/null ", 0), 0u) << r["fd.5"];
    EXPECT_NE(r["fd.5"].find("cloexec=0"), std::string::npos) << r["fd.5"];
}

TEST_P(CppBuilder, InheritStdioGivesZeroOneTwo) {
    Probe p(how());
    ep::Builder &b = p.builder();
    b.inherit_stdio().fd(1, p.write_end()); // the probe's stdout stays our pipe
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["fds"], "0,1,2");
}

TEST_P(CppBuilder, OpenEncodesFlagsAndMode) {
    std::string dir = scratch();
    std::string file = dir + "/created";
    Probe p(how());
    p.builder().umask(0).open(3, file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0640).open(4, "/dev/null");
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["fds"], "1,3,4");
    EXPECT_EQ(r["fd.3"].rfind(file + " ", 0), 0u) << r["fd.3"];
    size_t at = r["fd.3"].find("flags=");
    ASSERT_NE(at, std::string::npos) << r["fd.3"];
    long flags = std::strtol(r["fd.3"].c_str() + at + 6, nullptr, 8); // O_CREAT and O_TRUNC do not stay
    EXPECT_EQ(flags & (O_ACCMODE | O_APPEND), O_WRONLY | O_APPEND) << r["fd.3"];
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(r["fd.4"].rfind("/dev/null ", 0), 0u) << r["fd.4"];
}

TEST_P(CppBuilder, OpenIsRelativeToTheCwdAtThatPoint) {
    std::string dir = scratch();
    Probe p(how());
    p.builder().cwd(dir).open(3, "rel", O_RDWR | O_CREAT, 0600);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["fd.3"].rfind(dir + "/rel ", 0), 0u) << r["fd.3"];
}

TEST_P(CppBuilder, OpenAtUsesOurDirfd) {
    std::string dir = scratch();
    int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dirfd, 0);
    Probe p(how());
    p.builder().open_at(dirfd, 3, "at", O_WRONLY | O_CREAT, 0600);
    ProbeRun r = p.run();
    close(dirfd);
    expect_ok(r);
    EXPECT_EQ(r["fd.3"].rfind(dir + "/at ", 0), 0u) << r["fd.3"];
}

TEST_P(CppBuilder, CloseAndClosefrom) {
    Probe p(how());
    p.builder()
        .open(3, "/dev/null")
        .open(4, "/dev/null")
        .open(6, "/dev/null")
        .open(7, "/dev/null")
        .close(3)
        .closefrom(6);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["fds"], "1,4");
}

TEST_P(CppBuilder, CwdByPathAndByDescriptor) {
    Probe p(how());
    p.builder().cwd("/usr");
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["cwd"], "/usr");

    int dirfd = open("/var", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dirfd, 0);
    Probe q(how());
    q.builder().cwd_fd(dirfd);
    r = q.run();
    close(dirfd);
    expect_ok(r);
    EXPECT_EQ(r["cwd"], "/var");
}

TEST_P(CppBuilder, RootChrootsAndMovesToItsTop) {
    if (geteuid() != 0)
        GTEST_SKIP() << "chroot needs CAP_SYS_CHROOT";
    Probe p(how());
    p.builder().cwd("/usr").root("/");
    ProbeRun r = p.run();
    // cwd before root is rejected by the library: root resets the working directory.
    EXPECT_EQ(r.ec, std::errc::invalid_argument);

    Probe q(how());
    q.builder().root("/").cwd("/usr");
    r = q.run();
    expect_ok(r);
    EXPECT_EQ(r["root"], "/");
    EXPECT_EQ(r["cwd"], "/usr");
}

TEST_P(CppBuilder, UmaskIsOctal) {
    Probe p(how());
    p.builder().umask(027);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["umask"], "0027");
}

TEST_P(CppBuilder, RlimitMapsEveryResourceName) {
    static const struct {
        int resource;
        const char *name;
    } kAll[] = {{RLIMIT_AS, "as"},           {RLIMIT_CORE, "core"},         {RLIMIT_CPU, "cpu"},
                {RLIMIT_DATA, "data"},       {RLIMIT_FSIZE, "fsize"},       {RLIMIT_LOCKS, "locks"},
                {RLIMIT_MEMLOCK, "memlock"}, {RLIMIT_MSGQUEUE, "msgqueue"}, {RLIMIT_NICE, "nice"},
                {RLIMIT_NOFILE, "nofile"},   {RLIMIT_NPROC, "nproc"},       {RLIMIT_RSS, "rss"},
                {RLIMIT_RTPRIO, "rtprio"},   {RLIMIT_RTTIME, "rttime"},     {RLIMIT_SIGPENDING, "sigpending"},
                {RLIMIT_STACK, "stack"}};
    auto text = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
    Probe p(how());
    std::map<std::string, std::string> expected;
    for (const auto &l : kAll) {
        struct rlimit cur;
        ASSERT_EQ(getrlimit(l.resource, &cur), 0);
        // Lower the soft limit where that cannot hurt the probe, so that a mix-up of names shows.
        rlim_t soft = cur.rlim_cur;
        if (l.resource == RLIMIT_CORE)
            soft = 0;
        else if (l.resource == RLIMIT_NOFILE)
            soft = std::min<rlim_t>(cur.rlim_max, 123);
        else if (l.resource == RLIMIT_CPU)
            soft = std::min<rlim_t>(cur.rlim_max, 3600);
        else if (l.resource == RLIMIT_MSGQUEUE)
            soft = std::min<rlim_t>(cur.rlim_max, 4096);
        p.builder().rlimit(l.resource, soft, cur.rlim_max);
        expected[std::string("rlimit.") + l.name] = text(soft) + ":" + text(cur.rlim_max);
    }
    ProbeRun r = p.run();
    expect_ok(r);
    for (const auto &[key, value] : expected)
        EXPECT_EQ(r[key], value) << key;
}

TEST_P(CppBuilder, CredentialsByNumberAndByName) {
    if (geteuid() != 0)
        GTEST_SKIP() << "changing ids needs CAP_SETUID and CAP_SETGID";
    Probe p(how());
    p.builder().groups({65534, 1}).gid(65534).uid(65534);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["uid"], "65534 65534 65534");
    EXPECT_EQ(r["gid"], "65534 65534 65534");
    EXPECT_EQ(r["groups"], "1,65534"); // the kernel sorts them

    struct passwd *pw = getpwuid(65534);
    struct group *gr = getgrgid(65534);
    if (!pw || !gr)
        GTEST_SKIP() << "no user or group 65534 by name";
    std::string user = pw->pw_name, group = gr->gr_name;
    Probe q(how());
    q.builder().groups({}).gid(group).uid(user);
    r = q.run();
    expect_ok(r);
    EXPECT_EQ(r["uid"], "65534 65534 65534");
    EXPECT_EQ(r["gid"], "65534 65534 65534");
    EXPECT_EQ(r["groups"], "");
}

TEST_P(CppBuilder, SigmaskFromSetAndFromList) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    Probe p(how());
    p.builder().sigmask(set);
    ProbeRun r = p.run();
    expect_ok(r);
    unsigned long long bits = (1ull << (SIGUSR1 - 1)) | (1ull << (SIGTERM - 1));
    EXPECT_EQ(r["sigblk"], hex16(bits));

    Probe q(how());
    q.builder().sigmask({SIGHUP});
    r = q.run();
    expect_ok(r);
    EXPECT_EQ(r["sigblk"], hex16(1ull << (SIGHUP - 1)));
}

TEST_P(CppBuilder, SigignoreThenSigdefault) {
    Probe p(how());
    p.builder().sigignore({SIGHUP, SIGUSR2, SIGPIPE}).sigdefault({SIGPIPE});
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["sigign"], hex16((1ull << (SIGHUP - 1)) | (1ull << (SIGUSR2 - 1))));

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    Probe q(how());
    q.builder().sigignore(set).sigdefault(set);
    r = q.run();
    expect_ok(r);
    EXPECT_EQ(r["sigign"], hex16(0));
}

TEST_P(CppBuilder, SetsidMakesASessionLeader) {
    Probe p(how());
    p.builder().setsid();
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["sid"], r["pid"]);
    EXPECT_EQ(r["pgid"], r["pid"]);
}

TEST_P(CppBuilder, PgidZeroMakesAGroupInOurSession) {
    Probe p(how());
    p.builder().pgid(0);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["pgid"], r["pid"]);
    EXPECT_EQ(r["sid"], std::to_string(getsid(0)));
}

TEST_P(CppBuilder, ExecBySearchAndByDescriptor) {
    std::string probe = EP_PROBE_PATH;
    std::string name = probe.substr(probe.rfind('/') + 1);
    Probe p(how());
    p.builder().env("PATH", "/nonexistent:" + dir_of(probe)).arg("probe").arg("print").exec_search(name);
    ProbeRun r = p.run({}, false);
    expect_ok(r);
    EXPECT_EQ(r["argv.1"], "print");

    int fd = open(EP_PROBE_PATH, O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    Probe q(how());
    q.builder().arg("probe").arg("print").exec_fd(fd);
    r = q.run({}, false);
    close(fd);
    expect_ok(r);
    EXPECT_EQ(r["argv.1"], "print");
}

TEST_P(CppBuilder, RawConfigIsTheEscapeHatch) {
    Probe p(how());
    p.builder().config(EP_CONFIG_SET_STRING, "umask", "0077", 0).config(EP_CONFIG_SET_STRING, "env", "RAW=1", 0);
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["umask"], "0077");
    EXPECT_EQ(r["env.0"], "RAW=1");
}

TEST_P(CppBuilder, ABuilderSpawnsAgainAndOpsAreRecorded) {
    ep::Builder b(how());
    b.arg("probe").arg("exit").arg("3").exec(EP_PROBE_PATH);
    ASSERT_EQ(b.ops().size(), 4u);
    EXPECT_EQ(b.ops()[3].key, "exec");
    EXPECT_EQ(b.ops()[3].cmd, static_cast<unsigned>(EP_CONFIG_SET_PATH));
    for (int i = 0; i < 3; i++) {
        ep::Child c = b.spawn();
        EXPECT_EQ(c.wait().code(), 3);
    }
}

// ep::pool_of(base) is EP_STRATEGY_POOL_OF: a pool of that base's stubs, which spawns as any other.
TEST_P(CppBuilder, APoolOfExecStubStubsSpawns) {
    static_assert(ep::pool_of(ep::Strategy::clone_vm) == ep::Strategy::pool);
    ep::Options o = how();
    o.strategy = ep::pool_of(ep::Strategy::exec_stub);
    EXPECT_EQ(static_cast<uint32_t>(o.strategy), EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB));
    Probe p(o);
    ProbeRun r = p.run({"print"});
    expect_ok(r);
    EXPECT_EQ(r["comm"], "probe");
    ep_cache_release(0); // the pool's stubs are children of ours: end them for the tests after this one
}

INSTANTIATE_TEST_SUITE_P(Modes, CppBuilder, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "sync" : "batched"; });

} // namespace
