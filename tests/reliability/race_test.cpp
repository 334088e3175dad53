// SPDX-License-Identifier: MIT
// race_test.cpp - descriptors created by another thread while the caller spawns, without
// O_CLOEXEC, never reach a child: the program sees only what was configured.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "reliability.hpp"

using namespace ep_test;

namespace {

class FdRace : public MatrixTest {};

TEST_P(FdRace, DescriptorsOpenedConcurrentlyByAnotherThreadNeverReachAChild) {
    std::atomic<bool> stop{false};
    std::atomic<long> created{0};
    std::thread opener([&] {
        long n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            int a = ::open("/dev/null", O_RDONLY); // no O_CLOEXEC, on purpose
            int p[2] = {-1, -1}, sv[2] = {-1, -1};
            if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                break;
            int d = dup(a);
            n += 6;
            for (int fd : {a, p[0], p[1], sv[0], sv[1], d})
                ::close(fd);
        }
        created = n;
    });
    int wrong = 0;
    const int kSpawns = 1000;
    for (int i = 0; i < kSpawns && wrong < 5; i++) {
        Spawn s(GetParam());
        if (!s.opened()) {
            wrong++;
            ADD_FAILURE() << "spawn " << i << ": ep_open " << errno_name(s.open_errno());
            continue;
        }
        Fd conf(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        Rc r = s.pass("fd.4", conf.get());
        auto out = r == ok() ? s.run() : Output{};
        if (!(out.exec == ok()) || out["fds"] != "1,4" || !out.exit.exited(0)) {
            wrong++;
            ADD_FAILURE() << "spawn " << i << ": exec " << errno_name(out.exec.err) << ", fds " << out["fds"] << ", "
                          << describe(out.exit) << ", log: " << joined(out.log);
        }
    }
    stop = true;
    opener.join();
    EXPECT_EQ(wrong, 0);
    EXPECT_GT(created.load(), 0);
    EXPECT_TRUE(no_children());
    std::printf("fd race (%s): %d spawns, %ld descriptors created concurrently without O_CLOEXEC, %d leaked\n",
                GetParam().name().c_str(), kSpawns, created.load(), wrong);
}

EP_INSTANTIATE_MATRIX(Reliability, FdRace);

} // namespace
