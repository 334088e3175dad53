// SPDX-License-Identifier: MIT
// transport_test.cpp - nothing of the transport reaches the exec'ed program: no descriptor and no
// mapping of a ring, an arena or a socket (docs/io_uring.md), whichever transport carried the stream.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

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

// Whether thread `tid` of this process sleeps in the transport's wait for a slow stub: poll() on the
// socket (socketpair), or io_uring_enter submitting the FUTEX_WAIT + pidfd poll pair (io_uring).
bool waits_for_the_stub(pid_t tid) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
    std::string line;
    std::getline(f, line);
    std::istringstream in(line);
    long nr = -1;
    std::string a0, a1;
    in >> nr >> a0 >> a1;
    return nr == SYS_poll || nr == SYS_ppoll || (nr == SYS_io_uring_enter && a1 == "0x2");
}

// A batched stream longer than the transport buffers (the socket's buffer; the io_uring arena's 16
// frames in flight) while the stub is stuck: the caller waits for it, then everything arrives.
TEST_P(Transport, ALongStreamWaitsForAStuckStubThenArrivesWhole) {
    if (GetParam().sync)
        GTEST_SKIP() << "sync mode never has more than one frame in flight";
    std::string fifo = tmp.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    pid_t me = static_cast<pid_t>(syscall(SYS_gettid));
    std::atomic<bool> stop{false};
    std::thread release([&] { // unsticks the stub once we wait for it (or once the stream is sent)
        while (!stop && !waits_for_the_stub(me))
            std::this_thread::yield();
        for (;;) { // ENXIO until the stub is in its open of the FIFO
            int w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (w >= 0) {
                close(w);
                break;
            }
            if (stop.load() && errno != ENXIO)
                break;
            std::this_thread::yield();
        }
    });
    Spawn s(GetParam());
    ASSERT_EQ(s.stdout_to_pipe(), ok());
    ASSERT_EQ(s.str("open.3", fifo), ok()); // the stub blocks here until a writer opens the FIFO
    Rc r = ok();
    for (int i = 0; i < 25 * 4096 && r == ok(); i++) // 25 full frames of records
        r = s.str("umask", i % 2 ? "022" : "027");
    if (r == ok())
        r = s.args({"print"});
    if (r == ok())
        r = s.exec_probe();
    stop = true; // all sent: release now if not yet
    auto out = r == ok() ? s.finish() : Output{};
    release.join();
    ASSERT_EQ(r, ok()) << joined(s.log());
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["umask"], "0022"); // the last one (i odd) of all 102400 ops
}

// open(2) of a FIFO for writing waits for a reader, and the program gets a blocking descriptor,
// whatever carries the open (openat(2), or IORING_OP_OPENAT sent to an io-wq worker; the kernel
// behaviour that makes the worker necessary is pinned in tests/unit/uring_sqe_test.cpp).
TEST_P(Transport, OpenOfAFifoForWritingWaitsForAReaderAsOpenDoes) {
    std::string fifo = tmp.path() + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    pid_t me = static_cast<pid_t>(syscall(SYS_gettid));
    std::atomic<bool> stop{false};
    std::thread reader([&] { // comes only once we wait for the stub, which waits in its open
        while (!stop && !waits_for_the_stub(me))
            std::this_thread::yield();
        if (stop)
            return;
        int r = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); // never waits: a reader now
        char buf[64];
        struct pollfd p = {r, POLLIN, 0};
        while (r >= 0 && poll(&p, 1, -1) > 0 && read(r, buf, sizeof buf) > 0) {
        }
        if (r >= 0)
            close(r);
    });
    Spawn s(GetParam());
    Rc r = s.stdout_to_pipe();
    if (r == ok())
        r = s.str("open.3:wronly", fifo);
    if (r == ok())
        r = s.args({"print"});
    if (r == ok())
        r = s.exec_probe();
    auto out = r == ok() ? s.finish() : Output{};
    stop = true;
    reader.join();
    ASSERT_EQ(r, ok()) << joined(s.log());
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    FdLine l = parse_fd_line(out["fd.3"]);
    EXPECT_EQ(l.target, fifo);
    EXPECT_EQ(l.flags & O_NONBLOCK, 0) << out["fd.3"];
}

// An open after a uid change is checked against the new user, whatever carries it (over io_uring
// the open runs in an io-wq worker, which must act with the stub's credentials of that moment).
TEST_P(Transport, OpenAfterUidIsCheckedAgainstTheNewUser) {
    if (geteuid() != 0)
        GTEST_SKIP() << "a uid change needs root";
    ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
    std::string open_to_all = tmp.file("all", "x", 0644), root_only = tmp.file("root", "x", 0600);
    for (const auto &[file, want] : {std::make_pair(open_to_all, ok()), std::make_pair(root_only, fails(EACCES))}) {
        Spawn s(GetParam());
        Rc r = s.stdout_to_pipe();
        if (r == ok())
            r = s.str("uid", "65534");
        if (r == ok())
            r = s.str("open.3", file);
        if (r == ok())
            r = s.args({"print"});
        if (r == ok())
            r = s.exec_probe();
        if (!GetParam().sync || r == ok()) {
            auto out = s.finish();
            r = out.exec;
        }
        EXPECT_EQ(r, want) << file << ": " << joined(s.log());
    }
}

EP_INSTANTIATE_MATRIX(Conformance, Transport);

} // namespace
