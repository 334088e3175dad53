// SPDX-License-Identifier: MIT
// errors_test.cpp - spawn failures: the right std::error_code, a log text naming the key, an
// exception from the throwing overloads, and no process left behind.
#include <sys/resource.h>
#include <unistd.h>

#include <string>

#include "cpp_probe.hpp"

namespace {

class CppErrors : public ::testing::TestWithParam<bool> {
  protected:
    ep::Builder builder() const {
        ep::Builder b(ep::Options{.sync = GetParam()});
        b.arg("probe");
        return b;
    }

    // Spawns b, expects failure with err and a message containing every one of texts.
    static void expect_failure(const ep::Builder &b, std::errc err, std::initializer_list<const char *> texts) {
        std::error_code ec;
        std::string message;
        ep::Child child = b.spawn(ec, &message);
        EXPECT_FALSE(child.valid());
        EXPECT_EQ(ec, err) << ec.message() << ": " << message;
        EXPECT_EQ(ec.category(), std::system_category());
        for (const char *t : texts)
            EXPECT_NE(message.find(t), std::string::npos) << "'" << t << "' not in: " << message;
        EXPECT_EQ(message.rfind("e ", 0), 0u) << message;
    }
};

TEST_P(CppErrors, CwdThatDoesNotExist) {
    expect_failure(builder().cwd("/nonexistent-ep-dir").exec(EP_PROBE_PATH), std::errc::no_such_file_or_directory,
                   {"e cwd: ENOENT"});
}

TEST_P(CppErrors, ExecThatDoesNotExist) {
    expect_failure(builder().exec("/nonexistent-ep-dir/prog"), std::errc::no_such_file_or_directory,
                   {"exec", "ENOENT"});
}

TEST_P(CppErrors, ExecOfAFileThatIsNotExecutable) {
    if (geteuid() == 0 && access("/etc/passwd", X_OK) == 0)
        GTEST_SKIP();
    expect_failure(builder().exec("/etc/passwd"), std::errc::permission_denied, {"exec", "EACCES"});
}

TEST_P(CppErrors, NoProgramToExec) {
    expect_failure(builder(), std::errc::invalid_argument, {"exec"});
}

TEST_P(CppErrors, UnknownRlimitResourceIsNamedInTheKey) {
    expect_failure(builder().rlimit(99, 1, 1).exec(EP_PROBE_PATH), std::errc::invalid_argument,
                   {"rlimit.99", "unknown resource"});
}

TEST_P(CppErrors, SoftLimitAboveHardLimit) {
    expect_failure(builder().rlimit(RLIMIT_NOFILE, 100, 10).exec(EP_PROBE_PATH), std::errc::invalid_argument,
                   {"rlimit.nofile"});
}

TEST_P(CppErrors, GidAfterUidIsRejectedWithTheReason) {
    expect_failure(builder().uid(getuid()).gid(getgid()).exec(EP_PROBE_PATH), std::errc::invalid_argument,
                   {"e gid: ", "before uid"});
}

TEST_P(CppErrors, UnknownUserName) {
    expect_failure(builder().uid("no-such-user-ep-cpp").exec(EP_PROBE_PATH), std::errc::invalid_argument,
                   {"e uid: ", "no-such-user-ep-cpp"});
}

TEST_P(CppErrors, DescriptorThatIsNotOpen) {
    expect_failure(builder().fd(3, 987).exec(EP_PROBE_PATH), std::errc::bad_file_descriptor, {"e fd.3: "});
}

TEST_P(CppErrors, UnknownKeyThroughTheEscapeHatch) {
    expect_failure(builder().config(EP_CONFIG_SET_FLAG, "bogus", nullptr, 0).exec(EP_PROBE_PATH),
                   std::errc::invalid_argument, {"e bogus: unknown key"});
}

TEST_P(CppErrors, ThrowingSpawnCarriesCodeAndLog) {
    try {
        builder().cwd("/nonexistent-ep-dir").exec(EP_PROBE_PATH).spawn();
        FAIL() << "no exception";
    } catch (const ep::spawn_error &e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(e.error().code, e.code());
        EXPECT_NE(e.log().find("e cwd: ENOENT"), std::string::npos) << e.log();
        EXPECT_NE(std::string(e.what()).find("e cwd: ENOENT"), std::string::npos) << e.what();
    }
    // As a std::system_error, for code that knows nothing of ep.
    EXPECT_THROW(builder().exec("/nonexistent-ep-dir/x").spawn(), std::system_error);
}

TEST_P(CppErrors, ErrorOverload) {
    ep::Error err;
    ep::Child c = builder().cwd("/nonexistent-ep-dir").exec(EP_PROBE_PATH).spawn(err);
    EXPECT_TRUE(err);
    EXPECT_FALSE(c);
    EXPECT_EQ(err.code, std::errc::no_such_file_or_directory);
    EXPECT_NE(err.message.find("cwd"), std::string::npos);
}

TEST_P(CppErrors, FailedSpawnsLeakNoDescriptorAndNoProcess) {
    ep::Builder bad = builder().cwd("/nonexistent-ep-dir").exec(EP_PROBE_PATH);
    int before = ep_test::count_fds();
    for (int i = 0; i < 50; i++) {
        std::error_code ec;
        ep::Child c = bad.spawn(ec);
        ASSERT_TRUE(ec);
    }
    EXPECT_EQ(ep_test::count_fds(), before);
    errno = 0;
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1); // no child at all, not even a zombie
    EXPECT_EQ(errno, ECHILD);
}

TEST_P(CppErrors, SuccessfulSpawnsLeakNoDescriptor) {
    ep::Builder good = builder().arg("exit").arg("0").exec(EP_PROBE_PATH);
    int before = ep_test::count_fds();
    for (int i = 0; i < 100; i++) {
        ep::Child c = good.spawn();
        ASSERT_EQ(c.wait().code(), 0);
    }
    EXPECT_EQ(ep_test::count_fds(), before);
}

TEST(CppOpenErrors, UnknownStrategyFailsInOpenWithTheOpenLog) {
    std::error_code ec;
    std::string message;
    ep::EmptyProcess p = ep::EmptyProcess::open(ep::OpenHow{.strategy = static_cast<ep::Strategy>(99)}, ec, &message);
    EXPECT_FALSE(p);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    EXPECT_NE(message.find("strategy"), std::string::npos) << message;

    ep::Error err;
    ep::Child c = ep::Builder(ep::Options{.strategy = static_cast<ep::Strategy>(99)}).exec(EP_PROBE_PATH).spawn(err);
    EXPECT_EQ(err.code, std::errc::invalid_argument);
    EXPECT_NE(err.message.find("strategy"), std::string::npos) << err.message;
    EXPECT_THROW(ep::EmptyProcess::open(ep::OpenHow{.strategy = static_cast<ep::Strategy>(99)}), ep::spawn_error);
}

INSTANTIATE_TEST_SUITE_P(Modes, CppErrors, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "sync" : "batched"; });

} // namespace
