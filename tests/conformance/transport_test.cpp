// SPDX-License-Identifier: MIT
// transport_test.cpp - nothing of the transport reaches the exec'ed program: no descriptor and no
// mapping of a ring, an arena or a socket (docs/io_uring.md), whichever transport carried the stream.
#include "fixture.hpp"

using namespace ep_test;

namespace {

class Transport : public MatrixTest {};

TEST_P(Transport, NoRingArenaOrSocketIsMappedInTheProgram) {
    Spawn s(GetParam());
    auto out = s.run({"maps"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    std::string maps = out["maps"];
    EXPECT_NE(maps.find("probe"), std::string::npos) << maps; // the probe's own image is listed
    EXPECT_EQ(maps.find("io_uring"), std::string::npos) << maps;
    EXPECT_EQ(maps.find("ep-uring-arena"), std::string::npos) << maps;
    EXPECT_EQ(maps.find("memfd:"), std::string::npos) << maps;
}

TEST_P(Transport, NoRingArenaOrSocketIsOpenInTheProgram) {
    Spawn s(GetParam());
    auto out = s.run({"print"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["fds"], "1") << out.raw;
    EXPECT_EQ(out.raw.find("io_uring"), std::string::npos) << out.raw;
    EXPECT_EQ(out.raw.find("socket:"), std::string::npos) << out.raw;
    EXPECT_EQ(out.raw.find("memfd:"), std::string::npos) << out.raw;
}

TEST_P(Transport, TheProgramStartsWithNoSignalPending) {
    Spawn s(GetParam());
    auto out = s.run({"print"});
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["sigpnd"], "0000000000000000"); // e.g. no SIGPIPE from a verdict the stub sent
    EXPECT_EQ(out["shdpnd"], "0000000000000000");
}

EP_INSTANTIATE_MATRIX(Conformance, Transport);

} // namespace
