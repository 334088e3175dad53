// SPDX-License-Identifier: MIT
// strategy_test.cpp - what a strategy prepares ahead (the pool's stubs, the zygote, the slots) never
// shows: the caller's state the program starts from is the caller's at ep_open(), not at an earlier
// spawn; the stub is the caller's child; the caller's descriptors opened since do not leak.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

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
