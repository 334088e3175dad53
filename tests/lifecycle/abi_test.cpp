// SPDX-License-Identifier: MIT
// abi_test.cpp - the C ABI's edges: non-handles, the log's read rules, ep_open()'s size and
// argument rules and its thread log.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Log : public MatrixTest {};

std::vector<int> non_handles(int pipe_fd, int foreign_pidfd, int closed) {
    return {-1, closed, 1000000, pipe_fd, foreign_pidfd};
}

TEST(LifecycleAbi, EveryEntryPointRejectsANonHandleWithEbadf) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    Fd pr(p[0]), pw(p[1]);
    Fd foreign(sys_pidfd_open(getpid())); // a real pidfd, but not one of ours
    ASSERT_TRUE(foreign);
    int closed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::close(closed);
    for (int fd : non_handles(pr.get(), foreign.get(), closed)) {
        char buf[EP_LOG_MSG_MAX];
        EXPECT_EQ(rc_of(ep_pid(fd)), fails(EBADF)) << fd;
        EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_SET_STRING, "umask", "022", 0)), fails(EBADF)) << fd;
        EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0)), fails(EBADF)) << fd;
        if (fd != -1) { // -1 is the open log, a valid target for ep_log_read()
            EXPECT_EQ(rc_of(ep_log_read(fd, buf, sizeof buf)), fails(EBADF)) << fd;
        }
        EXPECT_EQ(rc_of(ep_close(fd)), fails(EBADF)) << fd;
    }
    // The pipe and the foreign pidfd are untouched.
    EXPECT_GE(fcntl(pr.get(), F_GETFD), 0);
    EXPECT_GE(fcntl(foreign.get(), F_GETFD), 0);
}

TEST(LifecycleAbi, AClosedHandleIsNoHandle) {
    int fd = ep_open(nullptr, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(rc_of(ep_close(fd)), ok());
    EXPECT_EQ(rc_of(ep_pid(fd)), fails(EBADF));
    EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_SET_STRING, "umask", "022", 0)), fails(EBADF));
    EXPECT_EQ(rc_of(ep_close(fd)), fails(EBADF));
    EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "ep_close() closes the pidfd";
    EXPECT_TRUE(no_children());
}

TEST(LifecycleAbi, OpenWithNullHowIsBatchedAndWorks) {
    int fd = ep_open(nullptr, 0);
    ASSERT_GE(fd, 0) << joined(log_messages(-1));
    EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "the pidfd is O_CLOEXEC";
    // Batched: an op failing in the stub is reported at CMD_EXEC, not by ep_config().
    EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_SET_PATH, "cwd", "/nonexistent-ep-dir", AT_FDCWD)), ok());
    EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_SET_PATH, "exec", kProbe, AT_FDCWD)), ok());
    EXPECT_EQ(rc_of(ep_config(fd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0)), fails(ENOENT));
    EXPECT_EQ(rc_of(ep_close(fd)), ok());
    EXPECT_TRUE(no_children());
}

struct HowPlus {
    ep_open_how how;
    uint64_t tail;
};

TEST(LifecycleAbi, OpenSizeRules) {
    log_messages(-1);
    ep_open_how how{};
    EXPECT_EQ(rc_of(ep_open(&how, 8)), fails(EINVAL));
    EXPECT_TRUE(has_message(log_messages(-1), "e open: ", "size")) << "size 8";
    EXPECT_EQ(rc_of(ep_open(&how, EP_OPEN_HOW_SIZE_VER0 - 1)), fails(EINVAL));
    log_messages(-1);

    HowPlus big{};
    big.tail = 1;
    EXPECT_EQ(rc_of(ep_open(&big.how, sizeof big)), fails(E2BIG));
    EXPECT_TRUE(has_message(log_messages(-1), "e open: ")) << "nonzero tail";

    big.tail = 0;
    int fd = ep_open(&big.how, sizeof big);
    EXPECT_GE(fd, 0) << "a zero tail is accepted: " << joined(log_messages(-1));
    if (fd >= 0) {
        EXPECT_GT(ep_pid(fd), 0);
        EXPECT_EQ(rc_of(ep_close(fd)), ok());
    }
    EXPECT_TRUE(no_children());
}

// exec_stub and zygote exec the helper program ep-stub: without it ep_open() fails with ENOENT and
// a message naming the path it looked at (here the override $EMPTYPROC_STUB).
TEST(LifecycleAbi, AMissingStubHelperFailsOpenWithEnoentNamingThePath) {
    ep_cache_release(0); // no zygote from before
    const char *missing = "/nonexistent-ep-dir/ep-stub";
    ASSERT_EQ(setenv("EMPTYPROC_STUB", missing, 1), 0);
    for (uint32_t strategy : {EP_STRATEGY_EXEC_STUB, EP_STRATEGY_ZYGOTE, EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB)}) {
        log_messages(-1);
        ep_open_how how{};
        how.strategy = strategy;
        EXPECT_EQ(rc_of(ep_open(&how, sizeof how)), fails(ENOENT)) << strategy;
        EXPECT_TRUE(has_message(log_messages(-1), "e strategy: ", missing)) << strategy;
    }
    ep_cache_release(0); // the pool's refill thread reads $EMPTYPROC_STUB too: it is done now
    unsetenv("EMPTYPROC_STUB");
    ep_open_how how{};
    how.strategy = EP_STRATEGY_EXEC_STUB;
    int fd = ep_open(&how, sizeof how); // found next to the library again
    EXPECT_GE(fd, 0) << joined(log_messages(-1));
    if (fd >= 0) {
        EXPECT_EQ(rc_of(ep_close(fd)), ok());
    }
    EXPECT_TRUE(no_children());
}

// A pool's base (EP_STRATEGY_POOL_OF) is clone_vm, fork or exec_stub; any other, or a base given to a
// strategy that is not a pool, is EINVAL naming it, and nothing is started.
TEST(LifecycleAbi, APoolOfABaseNotOfferedIsEinvalNamingIt) {
    struct Case {
        uint32_t strategy;
        const char *says;
    } cases[] = {
        {EP_STRATEGY_POOL_OF(EP_STRATEGY_ZYGOTE), "a pool of zygote stubs is not offered"},
        {EP_STRATEGY_POOL_OF(EP_STRATEGY_SAFEEXEC), "a pool of safeexec stubs is not offered"},
        {EP_STRATEGY_POOL_OF(EP_STRATEGY_POOL), "a pool of pool stubs is not offered"},
        {EP_STRATEGY_POOL_OF(4000), "a pool of 4000 stubs is not offered"},
        {EP_STRATEGY_FORK | (EP_STRATEGY_EXEC_STUB << 8), "strategy fork has no base"},
    };
    for (const Case &c : cases) {
        log_messages(-1);
        ep_open_how how{};
        how.strategy = c.strategy;
        EXPECT_EQ(rc_of(ep_open(&how, sizeof how)), fails(EINVAL)) << c.strategy;
        EXPECT_TRUE(has_message(log_messages(-1), "e strategy: ", c.says)) << c.strategy;
    }
    EXPECT_TRUE(no_children());
}

TEST(LifecycleAbi, CacheReleaseTakesNoFlags) {
    EXPECT_EQ(rc_of(ep_cache_release(1)), fails(EINVAL));
    EXPECT_EQ(rc_of(ep_cache_release(0)), ok());
}

TEST(LifecycleAbi, IoUringOpensOrFailsWithEopnotsuppNamingWhatIsMissing) {
    log_messages(-1);
    ep_open_how how{};
    how.transport = EP_TRANSPORT_IO_URING;
    int fd = ep_open(&how, sizeof how);
    if (fd < 0) { // never a silent fallback to another transport
        EXPECT_EQ(errno, EOPNOTSUPP);
        auto log = log_messages(-1);
        EXPECT_TRUE(has_message(log, "e transport: ", "io_uring: ")) << joined(log);
        GTEST_SKIP() << "io_uring transport unavailable here: " << joined(log);
    }
    EXPECT_EQ(ep_close(fd), 0);
}

TEST(LifecycleAbi, OpenFailuresAreLoggedOnTheThreadsOpenLog) {
    log_messages(-1);
    char buf[EP_LOG_MSG_MAX];
    EXPECT_EQ(rc_of(ep_log_read(-1, buf, sizeof buf)), fails(ENODATA));

    ep_open_how how{};
    how.strategy = 99;
    EXPECT_EQ(rc_of(ep_open(&how, sizeof how)), fails(EINVAL));
    auto log = log_messages(-1);
    ASSERT_EQ(log.size(), 1u) << joined(log);
    EXPECT_EQ(log[0].rfind("e strategy: ", 0), 0u) << log[0];
    EXPECT_NE(log[0].find("99"), std::string::npos) << log[0];

    how = {};
    how.transport = 77;
    EXPECT_EQ(rc_of(ep_open(&how, sizeof how)), fails(EINVAL));
    EXPECT_TRUE(has_message(log_messages(-1), "e transport: ", "77"));

    how = {};
    how.flags = 1ull << 40;
    EXPECT_EQ(rc_of(ep_open(&how, sizeof how)), fails(EINVAL));
    EXPECT_TRUE(has_message(log_messages(-1), "e open: ", "flags"));

    EXPECT_EQ(rc_of(ep_log_read(-1, buf, sizeof buf)), fails(ENODATA));
    EXPECT_TRUE(no_children());
}

TEST_P(Log, EmptyLogIsEnodata) {
    Empty e(GetParam());
    char buf[EP_LOG_MSG_MAX];
    EXPECT_EQ(rc_of(ep_log_read(e.fd(), buf, sizeof buf)), fails(ENODATA));
}

TEST_P(Log, TooSmallABufferIsEmsgsizeAndKeepsTheMessage) {
    Empty e(GetParam());
    ASSERT_EQ(e.str("umask", "0999"), fails(EINVAL));
    ASSERT_EQ(e.str("nosuchkey", "x"), fails(EINVAL));
    char small[4], buf[EP_LOG_MSG_MAX];
    EXPECT_EQ(rc_of(ep_log_read(e.fd(), small, sizeof small)), fails(EMSGSIZE));
    EXPECT_EQ(rc_of(ep_log_read(e.fd(), nullptr, 0)), fails(EMSGSIZE));
    ssize_t n = ep_log_read(e.fd(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    EXPECT_EQ(static_cast<size_t>(n), strlen(buf));
    EXPECT_EQ(std::string(buf).rfind("e umask: ", 0), 0u) << buf;
    // Exactly the message's length plus its NUL is enough.
    ssize_t need = 0;
    {
        // The second message: find its size with EMSGSIZE probing, then read it with a tight buffer.
        std::vector<char> tight;
        for (size_t size = 1; size <= EP_LOG_MSG_MAX; size++) {
            tight.assign(size, 'x');
            need = ep_log_read(e.fd(), tight.data(), size);
            if (need >= 0) {
                EXPECT_EQ(static_cast<size_t>(need) + 1, size);
                EXPECT_EQ(std::string(tight.data()).rfind("e nosuchkey: ", 0), 0u);
                break;
            }
            ASSERT_EQ(errno, EMSGSIZE);
        }
    }
    EXPECT_GT(need, 0);
    EXPECT_EQ(rc_of(ep_log_read(e.fd(), buf, sizeof buf)), fails(ENODATA));
}

TEST_P(Log, KeepsTheLastEightMessages) {
    Empty e(GetParam());
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(e.str(("nosuchkey" + std::to_string(i)).c_str(), "x"), fails(EINVAL));
    auto log = e.log();
    ASSERT_EQ(log.size(), 8u) << joined(log);
    EXPECT_EQ(log.front().rfind("e nosuchkey2: ", 0), 0u) << log.front();
    EXPECT_EQ(log.back().rfind("e nosuchkey9: ", 0), 0u) << log.back();
}

TEST_P(Log, HandlesHaveTheirOwnLogs) {
    Empty a(GetParam()), b(GetParam());
    ASSERT_EQ(a.str("umask", "9"), fails(EINVAL));
    EXPECT_EQ(b.log(), std::vector<std::string>{});
    EXPECT_EQ(a.log().size(), 1u);
    EXPECT_EQ(log_messages(-1), std::vector<std::string>{}) << "handle errors do not go to the open log";
}

EP_INSTANTIATE_MATRIX(Lifecycle, Log);

} // namespace
