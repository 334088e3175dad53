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
    int (*make)(std::unique_ptr<Channel> &out, std::string &msg); // nullptr: not in this build
};

constexpr TransportRow kTransports[] = {
    {EP_TRANSPORT_SOCKETPAIR, "socketpair", make_socketpair_channel},
    {EP_TRANSPORT_IO_URING, "io_uring", make_io_uring_channel},
};

} // namespace

int make_channel(uint32_t id, std::unique_ptr<Channel> &out, std::string &msg) {
    for (const auto &t : kTransports) {
        if (t.id != id)
            continue;
        if (!t.make) {
            msg = std::string(t.name) + " is not available in this build";
            return -EOPNOTSUPP;
        }
        return t.make(out, msg);
    }
    msg = "unknown transport " + std::to_string(id);
    return -EINVAL;
}

} // namespace ep::detail
