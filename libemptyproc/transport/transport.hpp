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

// How a strategy's stub reaches what a transport shares with it in memory (io_uring: ring C and the
// frame arena; docs/io_uring.md).
enum class StubReach : uint8_t {
    kCallerMappings, // shares the caller's memory or inherited its MAP_SHARED mappings (clone_vm, fork, pool)
    kMapsItself,     // a pristine process that inherits its descriptors (exec_stub, safeexec): maps C and the arena
    kRingFromStub,   // pristine, its descriptors come by SCM_RIGHTS (zygote): C, which cannot, is made on the
                     // stub's side and the caller takes its copy after the start (pidfd_getfd)
};

class Channel {
  public:
    virtual ~Channel() = default;

    // The descriptors the stub keeps (numbers in the caller's table), its end of the stream first.
    // Returns how many of fds[0..max) were filled.
    virtual uint32_t stub_fds(int *fds, uint32_t max) const = 0;

    // What a stub of this transport finds in ep_stub_args.uring (io_uring only).
    virtual void stub_uring(ep_stub_uring &) const {}

    // The stub was started (pidfd >= 0) or failed to (-1): it holds its own copies of stub_fds()
    // now. A descriptor the channel held only to hand over goes here (io_uring: a pristine stub's
    // arena); with StubReach::kRingFromStub, ring is the number of ring C in the stub's table, which
    // the channel takes. 0 or -errno with msg.
    virtual int stub_started(int /*pidfd*/, int /*ring*/, std::string & /*msg*/) { return 0; }

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
// lacks an opcode it needs, with msg naming it. reach: how the stub maps the ring and the arena (a
// pristine stub gets the arena's memfd as one more of stub_fds(), held until stub_started()).
int make_io_uring_channel(std::unique_ptr<Channel> &out, StubReach reach, std::string &msg);

// The channel of transport `id` (EP_TRANSPORT_*): 0, -EINVAL for an unknown id, -EOPNOTSUPP for
// one this build does not have, or another -errno; msg says why.
// reach: how the strategy's stub reaches shared memory (strategy_stub_reach()).
int make_channel(uint32_t id, std::unique_ptr<Channel> &out, std::string &msg,
                 StubReach reach = StubReach::kCallerMappings);

// ep_cache_release(): close the calling thread's io_uring ring P (made again at its next ep_open()
// with EP_TRANSPORT_IO_URING). Other threads' rings end with their threads.
void io_uring_release_thread();

// Test seam (tests/unit/uring_signals_test.cpp), 0 in the library: 1 sends each frame's SEND_FDs
// and its commit to io-wq (IOSQE_ASYNC), as the kernel does when ring C's lock is taken; 2 does so
// and leaves the caller's signals unblocked (docs/io_uring.md, "Signals").
extern std::atomic<int> io_uring_force_async;

} // namespace ep::detail
