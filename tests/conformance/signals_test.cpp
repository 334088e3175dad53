// SPDX-License-Identifier: MIT
// signals_test.cpp - sigmask, sigignore, sigdefault, and that the caller's signal state does not
// reach the child: the probe's SigBlk/SigIgn.
#include <pthread.h>
#include <signal.h>

#include "fixture.hpp"

using namespace ep_test;

namespace {

class Signals : public MatrixTest {};

sigset_t set_of(std::initializer_list<int> sigs) {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : sigs)
        sigaddset(&s, sig);
    return s;
}

TEST_P(Signals, EmptyMaskAndDefaultDispositionsByDefault) {
    Spawn s(GetParam());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), 0u) << out["sigblk"];
    EXPECT_EQ(hex_mask(out["sigign"]), 0u) << out["sigign"];
}

TEST_P(Signals, CallersBlockedAndIgnoredSignalsDoNotReachTheChild) {
    sigset_t block = set_of({SIGUSR1, SIGTERM}), saved_mask;
    ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &saved_mask), 0);
    struct sigaction ign {
    }, saved_usr2{}, saved_pipe{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &ign, &saved_usr2);
    sigaction(SIGPIPE, &ign, &saved_pipe);

    Spawn s(GetParam());
    Output out = s.run();

    pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
    sigaction(SIGUSR2, &saved_usr2, nullptr);
    sigaction(SIGPIPE, &saved_pipe, nullptr);

    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), 0u) << out["sigblk"];
    EXPECT_EQ(hex_mask(out["sigign"]), 0u) << out["sigign"];
}

TEST_P(Signals, SigmaskByNames) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigmask", "USR1,TERM"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), sigbit(SIGUSR1) | sigbit(SIGTERM)) << out["sigblk"];
}

TEST_P(Signals, SigmaskAcceptsSigPrefixesAndNumbers) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigmask", "SIGUSR2,2"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), sigbit(SIGUSR2) | sigbit(SIGINT)) << out["sigblk"];
}

TEST_P(Signals, SigmaskAsBinarySigset) {
    sigset_t set = set_of({SIGHUP, SIGUSR2, SIGCHLD});
    Spawn s(GetParam());
    ASSERT_EQ(s.bin("sigmask", &set, sizeof set), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), sigbit(SIGHUP) | sigbit(SIGUSR2) | sigbit(SIGCHLD)) << out["sigblk"];
}

TEST_P(Signals, SigmaskAsKernelSizedBinary) {
    uint64_t set = sigbit(SIGINT) | sigbit(SIGQUIT);
    Spawn s(GetParam());
    ASSERT_EQ(s.bin("sigmask", &set, 8), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), set) << out["sigblk"];
}

TEST_P(Signals, SigignoreByNames) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigignore", "USR1,PIPE"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigign"]), sigbit(SIGUSR1) | sigbit(SIGPIPE)) << out["sigign"];
    EXPECT_EQ(hex_mask(out["sigblk"]), 0u);
}

TEST_P(Signals, SigignoreAsBinary) {
    sigset_t set = set_of({SIGHUP, SIGINT});
    Spawn s(GetParam());
    ASSERT_EQ(s.bin("sigignore", &set, sizeof set), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigign"]), sigbit(SIGHUP) | sigbit(SIGINT)) << out["sigign"];
}

TEST_P(Signals, SigdefaultUndoesAnIgnore) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigignore", "USR1,USR2,HUP"), ok());
    ASSERT_EQ(s.str("sigdefault", "USR1"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigign"]), sigbit(SIGUSR2) | sigbit(SIGHUP)) << out["sigign"];
}

TEST_P(Signals, SigdefaultAsBinary) {
    sigset_t set = set_of({SIGUSR2, SIGHUP});
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigignore", "USR1,USR2,HUP"), ok());
    ASSERT_EQ(s.bin("sigdefault", &set, sizeof set), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigign"]), sigbit(SIGUSR1)) << out["sigign"];
}

TEST_P(Signals, MaskAndIgnoreTogether) {
    Spawn s(GetParam());
    ASSERT_EQ(s.str("sigmask", "INT"), ok());
    ASSERT_EQ(s.str("sigignore", "QUIT"), ok());
    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(hex_mask(out["sigblk"]), sigbit(SIGINT));
    EXPECT_EQ(hex_mask(out["sigign"]), sigbit(SIGQUIT));
}

EP_INSTANTIATE_MATRIX(Conformance, Signals);

} // namespace
