// SPDX-License-Identifier: MIT
// strategy_flags_test.cpp - posix_spawn-style inheritance (EP_STUB_KEEP_*) is honoured only by the
// strategies whose stub starts from the caller's own state (clone_vm, fork); the others refuse it
// in start_stub() with EINVAL and a message, before anything is started.
#include <gtest/gtest.h>

#include "emptyproc/emptyproc.h"
#include "strategy/strategy.hpp"
#include "stub/stub.h"

namespace {

using ep::detail::check_launch_flags;

TEST(StrategyFlags, PristineAndPreparedStrategiesRefuseToKeepTheCallersDescriptors) {
    for (uint32_t s : {EP_STRATEGY_EXEC_STUB, EP_STRATEGY_ZYGOTE, EP_STRATEGY_POOL, EP_STRATEGY_SAFEEXEC}) {
        std::string msg;
        EXPECT_EQ(check_launch_flags(s, EP_STUB_KEEP_CALLER_FDS, msg), -EINVAL) << s;
        EXPECT_NE(msg.find("cannot keep the caller's descriptors"), std::string::npos) << msg;
    }
}

TEST(StrategyFlags, PristineAndPreparedStrategiesRefuseToKeepIgnoredSignals) {
    for (uint32_t s : {EP_STRATEGY_EXEC_STUB, EP_STRATEGY_ZYGOTE, EP_STRATEGY_POOL, EP_STRATEGY_SAFEEXEC}) {
        std::string msg;
        EXPECT_EQ(check_launch_flags(s, EP_STUB_KEEP_SIGIGN, msg), -EINVAL) << s;
        EXPECT_NE(msg.find("ignored signals"), std::string::npos) << msg;
    }
}

TEST(StrategyFlags, CloneVmAndForkHonourThem) {
    for (uint32_t s : {EP_STRATEGY_CLONE_VM, EP_STRATEGY_FORK}) {
        std::string msg;
        EXPECT_EQ(check_launch_flags(s, EP_STUB_KEEP_CALLER_FDS | EP_STUB_KEEP_SIGIGN, msg), 0) << s << ": " << msg;
    }
}

TEST(StrategyFlags, StartStubRefusesBeforeStartingAnything) {
    ep::detail::StubLaunch launch;
    launch.flags = EP_STUB_KEEP_CALLER_FDS;
    launch.nkeep = 1;
    launch.keep[0] = 0;
    ep::detail::StubProcess out;
    std::string msg;
    EXPECT_EQ(ep::detail::start_stub(EP_STRATEGY_EXEC_STUB, launch, out, msg), -EINVAL);
    EXPECT_FALSE(out.pidfd) << "nothing may have been started";
    EXPECT_NE(msg.find("exec_stub"), std::string::npos) << msg;
}

} // namespace
