// SPDX-License-Identifier: MIT
// limits_test.cpp - streams at the size limits: one frame near EP_WIRE_FRAME_MAX with 250
// descriptors, a stream of many frames that fills the socket buffer (the sender waits for room), and
// streams over the argument limits, which fail with E2BIG and a message and leak nothing.
#include <fcntl.h>
#include <unistd.h>

#include "reliability.hpp"

using namespace ep_test;

namespace {

// The wire protocol's limits (docs/protocol.md): descriptors per frame, bytes per frame.
constexpr int kFrameFds = 250;
constexpr size_t kFrameBytes = 192 * 1024;

class Limits : public MatrixTest {};

std::string fd_list(int first, int last, bool with_stdout = true) {
    std::string s = with_stdout ? "1" : "";
    for (int n = first; n <= last; n++)
        s += (s.empty() ? "" : ",") + std::to_string(n);
    return s;
}

// 249 fd.<N> records, an argument and an environment string of over 60 KiB each: with the EXEC
// record and its exec pipe that is 250 descriptors and ~190 KiB, one frame just under the limits in
// batched mode (one frame per call in sync mode). The program sees every one of them.
TEST_P(Limits, AFrameNearTheSizeLimitWith250DescriptorsArrivesWhole) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    ASSERT_TRUE(s.opened());
    const int nfds = kFrameFds - 1; // the exec pipe is the 250th
    for (int n = 3; n < 3 + nfds - 1; n++)
        ASSERT_EQ(s.pass("fd." + std::to_string(n), null.get()), ok()) << n << " " << joined(s.log());
    ASSERT_EQ(s.stdout_to_pipe(), ok()); // the 249th
    const std::string big_arg(120000, 'a'), big_env = "BIG=" + std::string(60000, 'e');
    ASSERT_EQ(s.args({"print", big_arg}), ok());
    ASSERT_EQ(s.str("env", big_env), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    // 40-byte records, payloads padded to 8; the header is 16 bytes.
    size_t bytes = 16 + 40 * (static_cast<size_t>(nfds) + 5) + big_arg.size() + big_env.size() + 64;
    ASSERT_LT(bytes, kFrameBytes);
    ASSERT_GT(bytes, kFrameBytes - 8192) << "near the limit";
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    EXPECT_EQ(out["fds"], fd_list(3, 3 + nfds - 2));
    for (int n = 3; n < 3 + nfds - 1; n++)
        EXPECT_EQ(parse_fd_line(out["fd." + std::to_string(n)]).target, "/dev/null") << n;
    EXPECT_EQ(out["argv.2"], big_arg);
    EXPECT_EQ(out["env.0"], big_env);
    EXPECT_TRUE(no_children());
}

// 600 descriptors and 40 arguments of 32 KiB: several frames, more than the socket buffer holds, so
// in batched mode the sender finds the buffer full and waits for the stub to drain it.
TEST_P(Limits, AStreamOfManyFramesFillingTheSocketBufferArrivesWhole) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const auto fds_before = open_fds();
    {
        Spawn s(GetParam());
        ASSERT_TRUE(s.opened());
        for (int n = 3; n < 603; n++)
            ASSERT_EQ(s.pass("fd." + std::to_string(n), null.get()), ok()) << n << " " << joined(s.log());
        ASSERT_EQ(s.stdout_to_pipe(), ok());
        std::vector<std::string> words{"print"};
        for (int i = 0; i < 40; i++)
            words.push_back(std::string(32 * 1024, static_cast<char>('a' + i % 26)));
        ASSERT_EQ(s.args(words), ok());
        ASSERT_EQ(s.exec_probe(), ok());
        auto out = s.finish();
        ASSERT_EQ(out.exec, ok()) << joined(out.log);
        EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
        EXPECT_EQ(out["fds"], fd_list(3, 602));
        EXPECT_EQ(out["argc"], "42");
        for (int i = 0; i < 40; i++)
            EXPECT_EQ(out["argv." + std::to_string(i + 2)], words[static_cast<size_t>(i) + 1]) << i;
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

// Over a limit: the arguments exceed what execve takes (ARG_MAX: 3 MiB here) or what the stub can
// hold (its 4 MiB string arena). Either way E2BIG, a message naming the step, no program, no leak.
struct Over {
    const char *name;
    int args;          // arguments of 128 KiB - 1 each
    const char *where; // the log message's prefix
};
void PrintTo(const Over &o, std::ostream *os) {
    *os << o.name;
}
const Over kOver[] = {
    {"OverArgMaxAtTheExec", 24, "e exec: "},
    {"OverTheStubsArenaAtAnArgument", 40, "e argv: "},
};

class OverLimit : public ::testing::TestWithParam<std::tuple<Matrix, Over>> {};

TEST_P(OverLimit, IsRefusedWithE2bigAndAMessageAndLeaksNothing) {
    const auto &[m, o] = GetParam();
    const auto fds_before = open_fds();
    {
        Spawn s(m);
        ASSERT_TRUE(s.opened());
        ASSERT_EQ(s.stdout_to_pipe(), ok());
        const std::string arg(EP_VALUE_MAX - 1, 'x');
        Rc failed = ok();
        int at = 0;
        for (; at < o.args && failed == ok(); at++)
            failed = s.str("argv", arg);
        std::vector<std::string> log;
        if (failed == ok()) {
            ASSERT_EQ(s.exec_probe(), ok());
            auto out = s.finish();
            failed = out.exec;
            log = out.log;
            EXPECT_EQ(out.raw, "") << "the program must not run";
        } else {
            log = s.log();
        }
        EXPECT_EQ(failed, fails(E2BIG));
        EXPECT_TRUE(has_message(log, o.where, "E2BIG")) << joined(log);
        if (m.sync && std::string(o.where) == "e argv: ") {
            EXPECT_LT(at, o.args) << "sync: the argument that does not fit fails at once";
        }
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

EP_INSTANTIATE_MATRIX(Reliability, Limits);
INSTANTIATE_TEST_SUITE_P(Reliability, OverLimit, ::testing::ValuesIn(matrix_times(kOver)), MatrixCaseName{});

} // namespace
