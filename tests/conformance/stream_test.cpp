// SPDX-License-Identifier: MIT
// stream_test.cpp - long streams: more ops, descriptors and bytes than one frame carries, and the
// largest values. The probe must see all of it, in order.
#include <fcntl.h>
#include <unistd.h>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Stream : public MatrixTest {};

TEST_P(Stream, MoreDescriptorsThanAFrameCarries) {
    std::string file = tmp.file("f", "x");
    Fd f(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    Spawn s(GetParam());
    std::string expect = "1";
    for (int n = 3; n < 603; n++) {
        ASSERT_EQ(s.pass("fd." + std::to_string(n), f.get()), ok()) << n << ": " << joined(s.log());
        expect += "," + std::to_string(n);
    }
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], expect);
    EXPECT_EQ(parse_fd_line(out["fd.602"]).target, file);
    EXPECT_EQ(parse_fd_line(out["fd.602"]).cloexec, 0);
}

TEST_P(Stream, MoreBytesThanAFrameCarries) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.str("argv", "probe"), ok());
    ASSERT_EQ(s.str("argv", "print"), ok());
    for (int i = 0; i < 600; i++) // ~600 KB of argv and env, several frames
        ASSERT_EQ(s.str("argv", std::to_string(i) + std::string(500, 'a')), ok()) << i;
    for (int i = 0; i < 600; i++)
        ASSERT_EQ(s.str("env", "V" + std::to_string(i) + "=" + std::string(500, 'e')), ok()) << i;
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "602");
    EXPECT_EQ(out["argv.2"], "0" + std::string(500, 'a'));
    EXPECT_EQ(out["argv.601"], "599" + std::string(500, 'a'));
    EXPECT_EQ(out["envc"], "600");
    EXPECT_EQ(out["env.599"], "V599=" + std::string(500, 'e'));
}

TEST_P(Stream, TheLargestValue) {
    std::string big(EP_VALUE_MAX - 1, 'z'); // MAX_ARG_STRLEN with its NUL
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.args({"print", big}), ok());
    ASSERT_EQ(s.exec_probe(), ok());
    auto out = s.finish();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argv.2"].size(), big.size());
    EXPECT_EQ(out["argv.2"], big);
}

TEST_P(Stream, AnEarlyFailureInALongStreamStopsEverything) {
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    Rc first = s.path("cwd", tmp / "missing");
    EXPECT_EQ(first, s.sync() ? fails(ENOENT) : ok());
    if (s.sync())
        return; // sync: reported at once (the failure suite covers what follows)
    // Batched: the frames that follow may already report it; once one does, every later call does.
    bool failed = false;
    for (int i = 0; i < 600; i++) {
        Rc r = s.str("argv", std::string(500, 'a'));
        if (failed) {
            EXPECT_EQ(r, fails(ENOENT)) << i;
        } else if (!(r == ok())) {
            EXPECT_EQ(r, fails(ENOENT)) << i;
            failed = true;
        }
    }
    // (emptyproc.h: the error "may" come back early; it is not required to.)
    EXPECT_EQ(s.exec_probe(), failed ? fails(ENOENT) : ok());
    auto out = s.finish();
    EXPECT_EQ(out.exec, fails(ENOENT));
    EXPECT_TRUE(has_message(out.log, "e cwd: ", "ENOENT")) << joined(out.log);
    EXPECT_EQ(out.raw, "");
    EXPECT_TRUE(out.exit.killed(SIGKILL)) << describe(out.exit);
}

EP_INSTANTIATE_MATRIX(Conformance, Stream);

} // namespace
