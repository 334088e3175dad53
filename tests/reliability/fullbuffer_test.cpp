// SPDX-License-Identifier: MIT
// fullbuffer_test.cpp - a stub that does not read: the caller's batched stream fills what the
// transport can hold (the socket's send buffer, or io_uring's slots), and the caller must sleep
// until there is room, then finish; or, if the stub dies meanwhile, stop with ECHILD.
//
// The stub is stopped with SIGSTOP before the stream starts; a second thread sends the stream; this
// thread waits until that thread sleeps in the kernel (poll, ppoll or io_uring_enter, read from
// /proc/self/task/<tid>/syscall) before CMD_EXEC, which in batched mode can only be the wait for
// room. Then it resumes (SIGCONT) or kills (SIGKILL) the stub.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "reliability.hpp"

using namespace ep_test;

namespace {

constexpr int kFds = 600; // fd.3 .. fd.602: three frames of descriptors (io_uring holds two)
constexpr int kArgs = 40; // of 32 KiB: 1.3 MiB, several frames (the socket holds one of 192 KiB)
constexpr long kPoll = 7, kPpoll = 271, kIoUringEnter = 426; // x86_64 system call numbers

std::string fd_list(int from, int to) {
    std::string s = "1";
    for (int n = from; n <= to; n++)
        s += "," + std::to_string(n);
    return s;
}

// The system call the thread is sleeping in, or -1 if it is running (or gone).
long sleeping_in(pid_t tid) {
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
    std::string first;
    if (!(f >> first) || first == "running")
        return -1;
    return std::atol(first.c_str());
}

class FullBuffer : public MatrixTest {
  protected:
    void SetUp() override {
        MatrixTest::SetUp();
        if (IsSkipped())
            return;
        if (GetParam().sync)
            GTEST_SKIP() << "sync mode: every frame waits for its verdict, so the transport never holds more than "
                            "one frame and cannot fill";
    }

    struct Stream {
        std::atomic<pid_t> tid{0};
        std::atomic<bool> at_exec{false};
        std::atomic<bool> done{false};
        Rc failed = ok(); // the first call that failed
        std::string failed_at;
        std::vector<std::string> log;
        Output out;
    };

    // The stream, on its own thread: fds, stdout, arguments, exec key; then CMD_EXEC and the output.
    static void send_stream(Spawn &s, int null, Stream &st, const std::vector<std::string> &words) {
        st.tid = static_cast<pid_t>(syscall(SYS_gettid));
        auto check = [&](const std::string &what, Rc r) {
            if (r == ok())
                return true;
            st.failed = r;
            st.failed_at = what;
            st.log = s.log();
            return false;
        };
        bool go = true;
        for (int n = 3; n < 3 + kFds && go; n++)
            go = check("fd." + std::to_string(n), s.pass("fd." + std::to_string(n), null));
        go = go && check("fd.1", s.stdout_to_pipe()) && check("argv", s.args(words)) && check("exec", s.exec_probe());
        if (go) {
            st.at_exec = true;
            st.out = s.finish();
        }
        st.done = true;
    }

    // Stops the stub, starts the stream, waits until the stream thread sleeps before CMD_EXEC, then
    // sends `then` to the stub. Returns the system call it slept in (-1: it never did).
    long stall_then(Spawn &s, int null, Stream &st, const std::vector<std::string> &words, int then) {
        EXPECT_EQ(sys_pidfd_send_signal(s.fd(), SIGSTOP), 0);
        for (int i = 0; i < 10000 && proc_state(s.pid()) != 'T'; i++)
            std::this_thread::sleep_for(std::chrono::milliseconds(1)); // a bounded wait, not timing
        EXPECT_EQ(proc_state(s.pid()), 'T') << "the stub did not stop";
        std::thread t([&] { send_stream(s, null, st, words); });
        long in = -1;
        for (int i = 0; i < 10000 && !st.at_exec && !st.done; i++) {
            pid_t tid = st.tid;
            long sc = tid ? sleeping_in(tid) : -1;
            if (sc == kPoll || sc == kPpoll || sc == kIoUringEnter) {
                in = sc;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1)); // a bounded wait, not timing
        }
        bool stalled = in >= 0 && !st.at_exec;
        EXPECT_EQ(sys_pidfd_send_signal(s.fd(), then), 0);
        if (then == SIGKILL)
            sys_pidfd_send_signal(s.fd(), SIGCONT); // a stopped task dies only once it runs
        t.join();
        return stalled ? in : -1;
    }

    static std::vector<std::string> words() {
        std::vector<std::string> w{"print"};
        for (int i = 0; i < kArgs; i++)
            w.push_back(std::string(32 * 1024, static_cast<char>('a' + i % 26)));
        return w;
    }
};

TEST_P(FullBuffer, BatchedFramesToAStoppedStubMakeTheCallerWaitThenAllArriveWhenItResumes) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const auto fds_before = open_fds();
    const auto w = words();
    {
        Spawn s(GetParam());
        ASSERT_TRUE(s.opened());
        Stream st;
        long in = stall_then(s, null.get(), st, w, SIGCONT);
        EXPECT_GE(in, 0) << "the caller never waited for room: the stream did not fill the transport";
        std::printf("full (%s): the caller slept in system call %ld until the stub resumed\n",
                    GetParam().name().c_str(), in);
        ASSERT_EQ(st.failed, ok()) << st.failed_at << ": " << joined(st.log);
        ASSERT_EQ(st.out.exec, ok()) << joined(st.out.log);
        EXPECT_TRUE(st.out.exit.exited(0)) << describe(st.out.exit);
        EXPECT_EQ(st.out["fds"], fd_list(3, 2 + kFds));
        EXPECT_EQ(st.out["argc"], std::to_string(kArgs + 2));
        for (int i = 0; i < kArgs; i++)
            EXPECT_EQ(st.out["argv." + std::to_string(i + 2)], w[static_cast<size_t>(i) + 1]) << i;
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
}

TEST_P(FullBuffer, TheStubKilledWhileTheCallerWaitsForRoomEndsTheWaitWithEchild) {
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    const auto fds_before = open_fds();
    {
        Spawn s(GetParam());
        ASSERT_TRUE(s.opened());
        Stream st;
        long in = stall_then(s, null.get(), st, words(), SIGKILL);
        EXPECT_GE(in, 0) << "the caller never waited for room: the stream did not fill the transport";
        EXPECT_FALSE(st.at_exec) << "the stream went on after the stub died";
        EXPECT_EQ(st.failed, fails(ECHILD)) << st.failed_at << ": " << joined(st.log);
        EXPECT_TRUE(has_message(st.log, "e stream: ", "died")) << joined(st.log);
        EXPECT_EQ(s.exec(), fails(ECHILD));
        EXPECT_EQ(s.close(), ok());
    }
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_TRUE(no_children());
    EXPECT_TRUE(live_stubs_of({getpid()}).empty());
}

} // namespace

EP_INSTANTIATE_MATRIX(Reliability, FullBuffer);
