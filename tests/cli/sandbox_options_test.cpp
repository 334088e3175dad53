// SPDX-License-Identifier: MIT
// sandbox_options_test.cpp - the sandbox options of `emptyproc run`, checked by what the probe sees.
#include <unistd.h>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

class SandboxOptions : public CliModeTest {
  protected:
    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "namespaces and capabilities need root here";
    }
};

TEST_P(SandboxOptions, UnsharePidUserMountWithMapsHostnameReadOnlyRoot) {
    CliResult r = run_probe({"--unshare", "user,mnt,pid,net,uts", "--uid-map", "0 0 1", "--gid-map", "0 0 1",
                             "--hostname", "box", "--remount-ro", "/"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["pid"], "1");
    EXPECT_EQ(v["hostname"], "box");
    EXPECT_EQ(v["ro./"], "1");
    EXPECT_EQ(v["uid"], "0 0 0");
}

TEST_P(SandboxOptions, CapDropNoNewPrivsAndSeccompDeny) {
    CliResult r =
        run_probe({"--cap-drop", "all", "--no-new-privs", "--seccomp-deny", "uname"}, {"try", "uname", "print"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["try.uname"], "EPERM");
    EXPECT_EQ(v["cap.bnd"], "0000000000000000");
    EXPECT_EQ(v["nonewprivs"], "1");
    EXPECT_EQ(v["seccomp"], "2");
}

TEST_P(SandboxOptions, AmbientCapabilityAcrossUidWithPdeathsig) {
    CliResult r = run_probe({"--uid", "65534", "--cap-ambient", "net_bind_service", "--pdeathsig", "TERM"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["uid"], "65534 65534 65534");
    EXPECT_EQ(v["cap.amb"], "0000000000000400");
    EXPECT_EQ(v["pdeathsig"], "15");
}

TEST_P(SandboxOptions, SchedulingAndFriends) {
    CliResult r = run_probe({"--nice", "3", "--cpus", "0", "--oom-score-adj", "100", "--ioprio", "idle",
                             "--personality", "addr_no_randomize"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["nice"], "3");
    EXPECT_EQ(v["cpus"], "0");
    EXPECT_EQ(v["oom_score_adj"], "100");
    EXPECT_EQ(v["ioprio"], std::to_string(3 << 13));
    EXPECT_EQ(v["personality"], "40000");
}

TEST_P(SandboxOptions, UnknownCapabilityIsAnErrorNamingTheOption) {
    CliResult r = run_probe({"--cap-drop", "no_such_cap"});
    EXPECT_EQ(r.exit_code(), 2); // a usage error: checked before anything starts
    EXPECT_CONTAINS(r.err, "--cap-drop no_such_cap");
    EXPECT_CONTAINS(r.err, "unknown capability");
}

EP_INSTANTIATE_MODES(SandboxOptions);

} // namespace
} // namespace ep::test
