// SPDX-License-Identifier: MIT
// socketpair.cpp - the stream over an AF_UNIX SOCK_SEQPACKET pair: one frame per datagram, the
// frame's descriptors in one SCM_RIGHTS message, one fixed-size verdict per datagram back.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "../common/unique_fd.hpp"
#include "transport.hpp"

namespace ep::detail {
namespace {

class SocketpairChannel final : public Channel {
  public:
    SocketpairChannel(int mine, int stubs) : mine_(mine), stubs_(stubs) {}

    uint32_t stub_fds(int *fds, uint32_t max) const override {
        if (max < 1)
            return 0;
        fds[0] = stubs_.get();
        return 1;
    }

    int send(FrameBuilder &frame, uint16_t flags, int pidfd) override {
        const auto &bytes = frame.finish(flags);
        std::vector<int> fds;
        for (const auto &fd : frame.fds())
            fds.push_back(fd.get());
        if (int err = send_datagram(bytes.data(), bytes.size(), fds.data(), fds.size(), pidfd))
            return err;
        frame.clear(); // closes our duplicates: the stub has its own now
        return 0;
    }

    int send_fds(const int *fds, uint32_t n, int pidfd) override { return send_datagram(&n, sizeof n, fds, n, pidfd); }

    int send_datagram(const void *data, size_t len, const int *fds, size_t nfds, int pidfd) {
        iovec iov{const_cast<void *>(data), len};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        std::vector<unsigned char> control;
        if (nfds) {
            control.assign(CMSG_SPACE(nfds * sizeof(int)), 0);
            m.msg_control = control.data();
            m.msg_controllen = control.size();
            cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
            std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
        }
        for (;;) {
            ssize_t n = sendmsg(mine_.get(), &m, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n >= 0)
                break;
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            // The stub is slow to drain, or dead while our own copy of its end keeps the socket
            // open: wait for room or for its death, whichever comes first.
            if (int err = wait_for(POLLOUT, pidfd))
                return err;
        }
        return 0;
    }

    int recv(ep_wire_verdict &v, int pidfd) override {
        for (;;) {
            int r = recv_now(v);
            if (r != -EAGAIN)
                return r;
            if (int err = wait_for(POLLIN, pidfd))
                return err;
        }
    }

    int try_recv(ep_wire_verdict &v) override {
        int r = recv_now(v);
        return r == -EAGAIN ? 0 : r;
    }

    void shutdown() override {
        mine_.reset();
        stubs_.reset();
    }

  private:
    // One verdict if queued: 1, 0 at EOF (or reset), -EAGAIN if none yet, or -errno.
    int recv_now(ep_wire_verdict &v) {
        ssize_t n;
        do
            n = ::recv(mine_.get(), &v, sizeof v, MSG_DONTWAIT | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        // A SEQPACKET peer that closes with a frame of ours unread resets the connection instead
        // of giving EOF; for us both mean the stub's end is gone (tests/reliability/kill_test.cpp).
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 0;
        if (n < 0)
            return -errno;
        // The stub has spoken, so it has its own descriptor table: drop our copy of its end.
        stubs_.reset();
        if (ep_wire_check_verdict(&v, static_cast<uint32_t>(n)) != 0)
            return -EPROTO;
        return 1;
    }

    // Wait until the socket is ready for `events`; -ECHILD if the stub exits first.
    int wait_for(short events, int pidfd) {
        for (;;) {
            pollfd p[2] = {{mine_.get(), events, 0}, {pidfd, POLLIN, 0}};
            int r = poll(p, 2, -1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -errno;
            if (p[0].revents)
                return 0; // ready, or an error/hangup the next call reports
            if (p[1].revents)
                return -ECHILD;
        }
    }

    UniqueFd mine_;
    UniqueFd stubs_;
};

} // namespace

int make_socketpair_channel(std::unique_ptr<Channel> &out, std::string &msg) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        int err = errno;
        msg = "socketpair(AF_UNIX, SOCK_SEQPACKET): " + std::string(strerror(err));
        return -err;
    }
    out = std::make_unique<SocketpairChannel>(sv[0], sv[1]);
    return 0;
}

} // namespace ep::detail
