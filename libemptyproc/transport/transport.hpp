// SPDX-License-Identifier: MIT
// transport.hpp - the caller's end of one stub's command stream (docs/design.md). One file per
// transport; both behave the same to the layer above.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include "../proto/encode.hpp"
#include "../proto/wire.h"
#include "../stub/stub.h"

namespace ep::detail {

class Channel {
  public:
    virtual ~Channel() = default;

    // The descriptors the stub keeps (numbers in the caller's table), its end of the stream first.
    // Returns how many of fds[0..max) were filled.
    virtual uint32_t stub_fds(int *fds, uint32_t max) const = 0;

    // What a stub of this transport finds in ep_stub_args.uring (io_uring only).
    virtual void stub_uring(ep_stub_uring &) const {}

    // Send one frame. pidfd lets a blocked send notice a dead stub. Returns 0 or -errno
    // (-ECHILD: the stub died while the frame could not be sent).
    virtual int send(FrameBuilder &frame, uint16_t flags, int pidfd) = 0;

    // Send descriptors alone: one datagram {uint32 n} with fds[0..n) in SCM_RIGHTS (the io_uring
    // transport's path for the files io_uring cannot hold). 0 or -errno; -EOPNOTSUPP if not a socket.
    virtual int send_fds(const int *, uint32_t, int) { return -EOPNOTSUPP; }

    // Wait for the next verdict. Returns 1 with *v filled, 0 at EOF (every copy of the stub's end
    // closed), -ECHILD if the stub died without closing the stream, or -errno.
    virtual int recv(ep_wire_verdict &v, int pidfd) = 0;

    // A verdict if one is queued now: 1 with *v filled, 0 if none (or EOF), or -errno.
    virtual int try_recv(ep_wire_verdict &v) = 0;

    // Close everything: no more frames.
    virtual void shutdown() = 0;
};

// AF_UNIX SOCK_SEQPACKET pair; descriptors by SCM_RIGHTS.
int make_socketpair_channel(std::unique_ptr<Channel> &out, std::string &msg);

// The stub's ring fed by the calling thread's ring (docs/io_uring.md); -EOPNOTSUPP if the kernel
// lacks an opcode it needs, with msg naming it.
int make_io_uring_channel(std::unique_ptr<Channel> &out, std::string &msg);

// The channel of transport `id` (EP_TRANSPORT_*): 0, -EINVAL for an unknown id, -EOPNOTSUPP for
// one this build does not have, or another -errno; msg says why.
int make_channel(uint32_t id, std::unique_ptr<Channel> &out, std::string &msg);

// ep_cache_release(): close the calling thread's io_uring ring P (made again at its next ep_open()
// with EP_TRANSPORT_IO_URING). Other threads' rings end with their threads.
void io_uring_release_thread();

// Test seam (tests/unit/uring_signals_test.cpp), 0 in the library: 1 sends each frame's SEND_FDs
// and its commit to io-wq (IOSQE_ASYNC), as the kernel does when ring C's lock is taken; 2 does so
// and leaves the caller's signals unblocked (docs/io_uring.md, "Signals").
extern std::atomic<int> io_uring_force_async;

} // namespace ep::detail
