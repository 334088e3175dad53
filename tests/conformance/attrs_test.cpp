// SPDX-License-Identifier: MIT
// attrs_test.cpp - rlimits, credentials, umask, session and process group: what the probe sees.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Rlimit : public MatrixTest {};
class Creds : public MatrixTest {
  protected:
    void SetUp() override {
        MatrixTest::SetUp();
        if (IsSkipped())
            return;
        if (geteuid() != 0)
            GTEST_SKIP() << "credential changes need root";
    }
};
class Umask : public MatrixTest {};
class Session : public MatrixTest {};

// Lower this process's own soft limit for the scope (so that "unlimited" in the child is visible).
class ScopedSoftLimit {
  public:
    ScopedSoftLimit(int res, rlim_t soft) : res_(res) {
        getrlimit(res_, &saved_);
        rlimit r = saved_;
        r.rlim_cur = soft;
        setrlimit(res_, &r);
    }
    ~ScopedSoftLimit() { setrlimit(res_, &saved_); }

  private:
    int res_;
    rlimit saved_;
};

Output run_with_limit(const Matrix &m, const char *key, const char *value) {
    Spawn s(m);
    Rc r = s.str(key, value);
    EXPECT_EQ(r, ok()) << key << "=" << value << ": " << joined(s.log());
    return s.run();
}

TEST_P(Rlimit, NofileSoftHard) {
    auto out = run_with_limit(GetParam(), "rlimit.nofile", "100:200");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.nofile"], "100:200");
}

TEST_P(Rlimit, CoreSingleValueSetsBoth) {
    auto out = run_with_limit(GetParam(), "rlimit.core", "1234");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.core"], "1234:1234");
}

TEST_P(Rlimit, CoreUnlimited) {
    ScopedSoftLimit low(RLIMIT_CORE, 0);
    auto out = run_with_limit(GetParam(), "rlimit.core", "unlimited");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.core"], "unlimited:unlimited");
}

TEST_P(Rlimit, NprocSoftHard) {
    auto out = run_with_limit(GetParam(), "rlimit.nproc", "5000:6000");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.nproc"], "5000:6000");
}

TEST_P(Rlimit, FsizeSoftHard) {
    auto out = run_with_limit(GetParam(), "rlimit.fsize", "1048576:2097152");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.fsize"], "1048576:2097152");
}

TEST_P(Rlimit, FsizeInfinityIsUnlimited) {
    ScopedSoftLimit low(RLIMIT_FSIZE, 1 << 30);
    auto out = run_with_limit(GetParam(), "rlimit.fsize", "infinity:unlimited");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.fsize"], "unlimited:unlimited");
}

TEST_P(Rlimit, StackSoftHard) {
    auto out = run_with_limit(GetParam(), "rlimit.stack", "4194304:16777216");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.stack"], "4194304:16777216");
}

TEST_P(Rlimit, AsSoftWithUnlimitedHard) {
    auto out = run_with_limit(GetParam(), "rlimit.as", "4294967296:unlimited");
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.as"], "4294967296:unlimited");
}

TEST_P(Rlimit, UnconfiguredLimitsAreTheCallers) {
    rlimit r;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &r), 0);
    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["rlimit.nofile"], std::to_string(r.rlim_cur) + ":" + std::to_string(r.rlim_max));
}

TEST_P(Creds, UidSetsAllThreeAndClearsGroups) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["uid"], "65534 65534 65534");
    EXPECT_EQ(out["gid"], "0 0 0");
    EXPECT_EQ(out["groups"], ""); // dropped automatically: no "groups" op came before the uid
}

TEST_P(Creds, GidThenUid) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("gid", "65534"), ok());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["uid"], "65534 65534 65534");
    EXPECT_EQ(out["gid"], "65534 65534 65534");
    EXPECT_EQ(out["groups"], "");
}

TEST_P(Creds, GroupsBeforeUidAreKept) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("groups", "1,2,3"), ok());
    ASSERT_EQ(s.str("gid", "65534"), ok());
    ASSERT_EQ(s.str("uid", "65534"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["groups"], "1,2,3");
    EXPECT_EQ(out["uid"], "65534 65534 65534");
}

TEST_P(Creds, EmptyGroupsClearsThem) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("groups", ""), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["groups"], "");
    EXPECT_EQ(out["uid"], "0 0 0");
}

TEST_P(Creds, GidAloneKeepsTheUid) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("gid", "65534"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["gid"], "65534 65534 65534");
    EXPECT_EQ(out["uid"], "0 0 0");
}

TEST_P(Creds, NamesAreLookedUp) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("groups", "nogroup"), ok());
    ASSERT_EQ(s.str("gid", "nogroup"), ok());
    ASSERT_EQ(s.str("uid", "nobody"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["uid"], "65534 65534 65534");
    EXPECT_EQ(out["gid"], "65534 65534 65534");
    EXPECT_EQ(out["groups"], "65534");
}

TEST_P(Umask, SetsTheMask) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "027"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["umask"], "0027");
}

TEST_P(Umask, ZeroAndTheMaximum) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("umask", "0"), ok());
    ASSERT_EQ(s.str("umask", "0777"), ok()); // the last one wins
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["umask"], "0777");
}

TEST_P(Umask, DefaultIsTheCallers) {
    mode_t old = umask(0023);
    Spawn s(GetParam());
    umask(old);
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["umask"], "0023");
}

TEST_P(Session, DefaultIsTheCallersGroupAndSession) {
    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["pgid"], std::to_string(getpgid(0)));
    EXPECT_EQ(out["sid"], std::to_string(getsid(0)));
    EXPECT_EQ(out["ppid"], std::to_string(getpid()));
}

TEST_P(Session, SetsidMakesASessionLeader) {
    Spawn s(GetParam());
    ASSERT_EQ(s.flag("setsid"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["sid"], out["pid"]);
    EXPECT_EQ(out["pgid"], out["pid"]);
    EXPECT_EQ(out["pid"], std::to_string(out.pid));
}

TEST_P(Session, PgidZeroMakesItsOwnGroup) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("pgid", "0"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["pgid"], out["pid"]);
    EXPECT_EQ(out["pid"], std::to_string(out.pid));
    EXPECT_EQ(out["sid"], std::to_string(getsid(0))); // same session as the caller
}

EP_INSTANTIATE_MATRIX(Conformance, Rlimit);
EP_INSTANTIATE_MATRIX(Conformance, Creds);
EP_INSTANTIATE_MATRIX(Conformance, Umask);
EP_INSTANTIATE_MATRIX(Conformance, Session);

} // namespace
