// SPDX-License-Identifier: MIT
// sandbox_builder_test.cpp - the sandbox methods of ep::Builder and ep::Options, by what the probe
// sees, in sync and batched mode.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "cpp_probe.hpp"

using ep_test::Probe;
using ep_test::ProbeRun;

namespace {

class CppSandbox : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "namespaces and capabilities need root here";
    }
    ep::Options how() const { return ep::Options{.sync = GetParam()}; }
    static void expect_ok(const ProbeRun &r) {
        ASSERT_FALSE(r.ec) << r.ec.message() << ": " << r.message;
        EXPECT_TRUE(r.status.exited());
        EXPECT_EQ(r.status.code(), 0);
    }
};

TEST_P(CppSandbox, PidNamespaceUserMountHostname) {
    ep::Options o = how();
    o.new_pid_namespace = true;
    Probe p(o);
    p.builder().uid_map("0 0 1").gid_map("0 0 1").unshare("user").unshare("mnt,uts").hostname("cpp").remount_ro("/");
    ProbeRun r = p.run();
    expect_ok(r);
    EXPECT_EQ(r["pid"], "1");
    EXPECT_EQ(r["hostname"], "cpp");
    EXPECT_EQ(r["ro./"], "1");
}

TEST_P(CppSandbox, CapsSeccompAndScheduling) {
    Probe p(how());
    p.builder()
        .nice(4)
        .cpus("0")
        .oom_score_adj(200)
        .ioprio("be:3")
        .personality(0x0040000)
        .cap_drop("all")
        .keep_caps()
        .uid(65534)
        .pdeathsig(SIGKILL)
        .no_new_privs()
        .seccomp_deny("uname");
    ProbeRun r = p.run({"try", "uname", "print"});
    expect_ok(r);
    EXPECT_EQ(r["try.uname"], "EPERM");
    EXPECT_EQ(r["cap.bnd"], "0000000000000000");
    EXPECT_EQ(r["nice"], "4");
    EXPECT_EQ(r["cpus"], "0");
    EXPECT_EQ(r["oom_score_adj"], "200");
    EXPECT_EQ(r["pdeathsig"], "9");
    EXPECT_EQ(r["personality"], "40000");
    EXPECT_EQ(r["nonewprivs"], "1");
}

TEST_P(CppSandbox, LandlockRulesetHelper) {
    char tmpl[] = "/tmp/ep-cpp-ll-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    int rs = ep::landlock_ruleset({"/"}, {dir});
    if (rs < 0) {
        rmdir(dir.c_str());
        GTEST_SKIP() << "Landlock is not available: " << strerror(errno);
    }
    Probe p(how());
    p.builder().no_new_privs().landlock(rs);
    ProbeRun r = p.run({"touch", dir + "/ok"});
    close(rs);
    expect_ok(r);
    EXPECT_EQ(r["touch"], "0");
    Probe q(how());
    rs = ep::landlock_ruleset({"/"}, {dir});
    q.builder().no_new_privs().landlock(rs);
    ProbeRun r2 = q.run({"touch", "/tmp/ep-cpp-ll-denied"});
    close(rs);
    expect_ok(r2);
    EXPECT_EQ(r2["touch"], "EACCES");
    std::system(("rm -rf '" + dir + "'").c_str());
}

INSTANTIATE_TEST_SUITE_P(Modes, CppSandbox, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &i) { return i.param ? "sync" : "batched"; });

} // namespace
