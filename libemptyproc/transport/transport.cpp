// SPDX-License-Identifier: MIT
// transport.cpp - the table of transports: adding one is one row and one file.
#include <cerrno>

#include "emptyproc/emptyproc.h"
#include "transport.hpp"

namespace ep::detail {
namespace {

struct TransportRow {
    uint32_t id;
    const char *name;
    // nullptr: not in this build. reach: how the strategy's stub reaches what the transport shares
    // with it in memory.
    int (*make)(std::unique_ptr<Channel> &out, StubReach reach, std::string &msg);
};

int make_socketpair(std::unique_ptr<Channel> &out, StubReach, std::string &msg) {
    return make_socketpair_channel(out, msg); // nothing shared but the socket
}

constexpr TransportRow kTransports[] = {
    {EP_TRANSPORT_SOCKETPAIR, "socketpair", make_socketpair},
    {EP_TRANSPORT_IO_URING, "io_uring", make_io_uring_channel},
};

} // namespace

int make_channel(uint32_t id, std::unique_ptr<Channel> &out, std::string &msg, StubReach reach) {
    for (const auto &t : kTransports) {
        if (t.id != id)
            continue;
        if (!t.make) {
            msg = std::string(t.name) + " is not available in this build";
            return -EOPNOTSUPP;
        }
        return t.make(out, reach, msg);
    }
    msg = "unknown transport " + std::to_string(id);
    return -EINVAL;
}

} // namespace ep::detail
