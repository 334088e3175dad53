// SPDX-License-Identifier: MIT
// uring_sqe_test.cpp - stub/uring_sqe.h, the one place that fills io_uring SQEs (docs/io_uring.md):
// its layout against the kernel's struct, and each helper run on real rings.
#include <fcntl.h>
#include <liburing.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include <gtest/gtest.h>

#include "stub/uring_sqe.h"

namespace {

#define SAME_OFFSET(ours, theirs) static_assert(offsetof(ep_sqe, ours) == offsetof(io_uring_sqe, theirs))
SAME_OFFSET(opcode, opcode);
SAME_OFFSET(flags, flags);
SAME_OFFSET(fd, fd);
SAME_OFFSET(off, off);
SAME_OFFSET(off, addr2);
SAME_OFFSET(addr, addr);
SAME_OFFSET(len, len);
SAME_OFFSET(op_flags, rw_flags);
SAME_OFFSET(op_flags, open_flags);
SAME_OFFSET(op_flags, poll32_events);
SAME_OFFSET(op_flags, msg_ring_flags);
SAME_OFFSET(user_data, user_data);
SAME_OFFSET(buf_index, buf_index);
SAME_OFFSET(personality, personality);
SAME_OFFSET(file_index, file_index);
SAME_OFFSET(addr3, addr3);
static_assert(sizeof(ep_sqe) == sizeof(io_uring_sqe) && sizeof(ep_cqe) == sizeof(io_uring_cqe));
static_assert(offsetof(ep_cqe, res) == offsetof(io_uring_cqe, res));
static_assert(EP_IORING_OP_POLL_ADD == IORING_OP_POLL_ADD && EP_IORING_OP_ASYNC_CANCEL == IORING_OP_ASYNC_CANCEL);
static_assert(EP_IORING_OP_OPENAT == IORING_OP_OPENAT && EP_IORING_OP_CLOSE == IORING_OP_CLOSE);
static_assert(EP_IORING_OP_FILES_UPDATE == IORING_OP_FILES_UPDATE && EP_IORING_OP_MSG_RING == IORING_OP_MSG_RING);
static_assert(EP_IORING_MSG_SEND_FD == IORING_MSG_SEND_FD && EP_IORING_MSG_RING_CQE_SKIP == IORING_MSG_RING_CQE_SKIP);
static_assert(EP_IOSQE_IO_HARDLINK == IOSQE_IO_HARDLINK && EP_IOSQE_CQE_SKIP_SUCCESS == IOSQE_CQE_SKIP_SUCCESS);
static_assert(EP_IOSQE_FIXED_FILE == IOSQE_FIXED_FILE && EP_IORING_OFF_SQES == IORING_OFF_SQES);
static_assert(EP_IOSQE_ASYNC == IOSQE_ASYNC);
static_assert(sizeof(ep_io_uring_params) == sizeof(io_uring_params) &&
              offsetof(ep_io_uring_params, sq_off) == offsetof(io_uring_params, sq_off) &&
              offsetof(ep_io_uring_params, cq_off) == offsetof(io_uring_params, cq_off) &&
              offsetof(ep_io_uring_params, features) == offsetof(io_uring_params, features));
static_assert(offsetof(ep_io_uring_params, sq_off.array) == offsetof(io_uring_params, sq_off.array) &&
              offsetof(ep_io_uring_params, cq_off.cqes) == offsetof(io_uring_params, cq_off.cqes));
static_assert(sizeof(ep_io_uring_rsrc_register) == sizeof(io_uring_rsrc_register) &&
              EP_IORING_REGISTER_FILES2 == IORING_REGISTER_FILES2 &&
              EP_IORING_RSRC_REGISTER_SPARSE == IORING_RSRC_REGISTER_SPARSE &&
              EP_IORING_FEAT_SINGLE_MMAP == IORING_FEAT_SINGLE_MMAP && EP_IORING_OFF_SQ_RING == IORING_OFF_SQ_RING);
static_assert(EP_FUTEX_BITSET_MATCH_ANY == FUTEX_BITSET_MATCH_ANY);
// Not in Debian's 6.1 uapi header nor in liburing 2.3 (kernel io_uring.h: FUTEX_WAIT follows
// WAITID 50, FIXED_FD_INSTALL follows FUTEX_WAITV 53); checked by running them below.
static_assert(EP_IORING_OP_FUTEX_WAIT == 51 && EP_IORING_OP_FIXED_FD_INSTALL == 54);

class UringSqe : public ::testing::Test {
  protected:
    void SetUp() override {
        io_uring_probe *p = io_uring_get_probe();
        if (!p)
            GTEST_SKIP() << "io_uring is not available here";
        bool all = io_uring_opcode_supported(p, EP_IORING_OP_FIXED_FD_INSTALL) &&
                   io_uring_opcode_supported(p, EP_IORING_OP_FUTEX_WAIT);
        io_uring_free_probe(p);
        if (!all)
            GTEST_SKIP() << "the kernel lacks IORING_OP_FIXED_FD_INSTALL (6.8) or IORING_OP_FUTEX_WAIT (6.7)";
        ASSERT_EQ(io_uring_queue_init(8, &a, 0), 0);
        ASSERT_EQ(io_uring_queue_init(8, &b, 0), 0);
        ASSERT_EQ(io_uring_register_files_sparse(&a, 4), 0);
        ASSERT_EQ(io_uring_register_files_sparse(&b, 4), 0);
        ready = true;
    }
    void TearDown() override {
        if (ready) {
            io_uring_queue_exit(&a);
            io_uring_queue_exit(&b);
        }
    }
    ep_sqe *sqe(io_uring &r) { return reinterpret_cast<ep_sqe *>(io_uring_get_sqe(&r)); }
    // Submit what r holds and return the next CQE's (user_data, res).
    std::pair<uint64_t, int> run(io_uring &r) {
        io_uring_submit(&r);
        return next(r);
    }
    std::pair<uint64_t, int> next(io_uring &r) {
        io_uring_cqe *c = nullptr;
        EXPECT_EQ(io_uring_wait_cqe(&r, &c), 0);
        if (!c)
            return {0, 0};
        auto out = std::make_pair(c->user_data, c->res);
        io_uring_cqe_seen(&r, c);
        return out;
    }
    io_uring a{}, b{};
    bool ready = false;
};

TEST_F(UringSqe, MsgDataPostsResAndUserDataInTheOtherRing) {
    ep_sqe_msg_data(sqe(a), b.ring_fd, 1234, 0xabcdef, 7);
    EXPECT_EQ(run(a), std::make_pair(uint64_t{7}, 0));
    EXPECT_EQ(next(b), std::make_pair(uint64_t{0xabcdef}, 1234));
}

TEST_F(UringSqe, FilesUpdateSendFdAndFixedFdInstallMoveADescriptor) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    int32_t w = p[1];
    ep_sqe_files_update(sqe(a), &w, 1, 2, 1); // a's slot 2
    EXPECT_EQ(run(a), std::make_pair(uint64_t{1}, 1));
    close(p[1]);
    ep_sqe_msg_send_fd(sqe(a), b.ring_fd, 2, 3, 2); // into b's slot 3, no CQE in b
    EXPECT_EQ(run(a), std::make_pair(uint64_t{2}, 0));
    ep_sqe_fixed_fd_install(sqe(b), 3, 3);
    auto [ud, fd] = run(b);
    EXPECT_EQ(ud, 3u);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(write(fd, "x", 1), 1);
    char c;
    EXPECT_EQ(read(p[0], &c, 1), 1);
    close(fd);
    int32_t none[2] = {-1, -1};
    ep_sqe_files_update(sqe(b), none, 1, 3, 4); // b lets go of slot 3
    EXPECT_EQ(run(b).second, 1);
    ep_sqe_files_update(sqe(a), none, 1, 2, 5);
    EXPECT_EQ(run(a).second, 1);
    EXPECT_EQ(read(p[0], &c, 1), 0); // every copy of the write end is gone: EOF
    ep_sqe_fixed_fd_install(sqe(b), 3, 6);
    EXPECT_EQ(run(b).second, -EBADF);
    close(p[0]);
}

TEST_F(UringSqe, AnOPathFileIsRefusedByTheFixedTable) {
    int o = open("/", O_PATH | O_CLOEXEC);
    ASSERT_GE(o, 0);
    int32_t v = o;
    ep_sqe_files_update(sqe(a), &v, 1, 0, 1);
    EXPECT_EQ(run(a).second, -EBADF); // why such files go by SCM_RIGHTS (docs/io_uring.md)
    close(o);
}

TEST_F(UringSqe, OpenatAndCloseWorkOnNormalDescriptors) {
    ep_sqe_openat(sqe(a), AT_FDCWD, "/dev/null", O_WRONLY | O_CLOEXEC, 0, 1);
    auto [ud, fd] = run(a);
    EXPECT_EQ(ud, 1u);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    ep_sqe_close(sqe(a), fd, 2);
    EXPECT_EQ(run(a), std::make_pair(uint64_t{2}, 0));
    EXPECT_EQ(fcntl(fd, F_GETFD), -1);
}

// Why the stub's OPENAT is IOSQE_ASYNC: inline, io_uring tries the open with O_NONBLOCK added, so a
// FIFO without a reader fails ENXIO where open(2) waits for one.
TEST_F(UringSqe, InlineOpenatOfAFifoWithoutAReaderFailsEnxio) {
    char dir[] = "/tmp/ep-uring-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string fifo = std::string(dir) + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    ep_sqe_openat(sqe(a), AT_FDCWD, fifo.c_str(), O_WRONLY | O_CLOEXEC, 0, 1);
    EXPECT_EQ(run(a), std::make_pair(uint64_t{1}, -ENXIO));
    unlink(fifo.c_str());
    rmdir(dir);
}

TEST_F(UringSqe, AsyncOpenatOfAFifoWaitsForAReaderAsOpenDoes) {
    char dir[] = "/tmp/ep-uring-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string fifo = std::string(dir) + "/fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    ep_sqe *s = sqe(a);
    ep_sqe_openat(s, AT_FDCWD, fifo.c_str(), O_WRONLY | O_CLOEXEC, 0, 1);
    s->flags |= EP_IOSQE_ASYNC;
    io_uring_submit(&a);
    io_uring_cqe *c = nullptr;
    EXPECT_EQ(io_uring_peek_cqe(&a, &c), -EAGAIN); // cannot complete without a reader
    int r = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(r, 0);
    auto [ud, fd] = next(a);
    EXPECT_EQ(ud, 1u);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    close(r);
    unlink(fifo.c_str());
    rmdir(dir);
}

TEST_F(UringSqe, PollAddCompletesWhenThePeerCloses) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    ep_sqe_poll_add(sqe(a), sv[0], EP_POLLRDHUP | EP_POLLHUP | EP_POLLERR, 1);
    io_uring_submit(&a);
    EXPECT_EQ(write(sv[1], "x", 1), 1); // data alone does not complete it
    io_uring_cqe *c = nullptr;
    EXPECT_EQ(io_uring_peek_cqe(&a, &c), -EAGAIN);
    close(sv[1]);
    auto [ud, mask] = next(a);
    EXPECT_EQ(ud, 1u);
    EXPECT_TRUE(mask & EP_POLLHUP) << mask;
    close(sv[0]);
}

TEST_F(UringSqe, FutexWaitSleepsWhileTheWordIsUnchangedAndWakes) {
    static uint32_t word = 5; // shared futex key: any mapping works
    ep_sqe_futex_wait(sqe(a), &word, 4, 1);
    EXPECT_EQ(run(a), std::make_pair(uint64_t{1}, -EAGAIN)); // not 4: returns at once
    ep_sqe_futex_wait(sqe(a), &word, 5, 2);
    io_uring_submit(&a);
    io_uring_cqe *c = nullptr;
    EXPECT_EQ(io_uring_peek_cqe(&a, &c), -EAGAIN);
    __atomic_store_n(&word, 6u, __ATOMIC_SEQ_CST);
    EXPECT_EQ(syscall(SYS_futex, &word, FUTEX_WAKE, 1, nullptr, nullptr, 0), 1); // as the stub wakes
    EXPECT_EQ(next(a), std::make_pair(uint64_t{2}, 0));
}

TEST_F(UringSqe, AsyncCancelEndsAPendingRequest) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    ep_sqe_poll_add(sqe(a), sv[0], EP_POLLHUP, 1);
    io_uring_submit(&a);
    ep_sqe_cancel(sqe(a), 1, 2);
    io_uring_submit(&a);
    auto x = next(a), y = next(a);
    if (x.first == 2)
        std::swap(x, y);
    EXPECT_EQ(x, std::make_pair(uint64_t{1}, -ECANCELED));
    EXPECT_EQ(y, std::make_pair(uint64_t{2}, 0));
    close(sv[0]);
    close(sv[1]);
}

} // namespace
