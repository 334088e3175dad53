// SPDX-License-Identifier: MIT
// strategy.cpp - the table of strategies: adding one is one row and one file.
#include <cerrno>

#include "emptyproc/emptyproc.h"
#include "strategy.hpp"

namespace ep::detail {

int start_clone_vm(const StubLaunch &launch, StubProcess &out, std::string &msg);

namespace {
struct StrategyRow {
    uint32_t id;
    const char *name;
    int (*start)(const StubLaunch &launch, StubProcess &out, std::string &msg);
    // The stub shares the caller's memory or inherits its MAP_SHARED mappings (fork), and its
    // start copies launch.uring into ep_stub_args: the io_uring transport works (docs/io_uring.md).
    bool io_uring = false;
};
constexpr StrategyRow kStrategies[] = {
    {EP_STRATEGY_CLONE_VM, "clone_vm", start_clone_vm, true},
};
} // namespace

bool strategy_known(uint32_t strategy) {
    for (const auto &s : kStrategies)
        if (s.id == strategy)
            return true;
    return false;
}

int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg) {
    for (const auto &s : kStrategies) {
        if (s.id != strategy)
            continue;
        if (launch.transport == EP_TRANSPORT_IO_URING && !s.io_uring) {
            msg = std::string("io_uring: the ") + s.name +
                  " strategy's stub cannot reach the caller's mappings of its ring and arena";
            return -EOPNOTSUPP;
        }
        return s.start(launch, out, msg);
    }
    msg = "unknown strategy " + std::to_string(strategy);
    return -EINVAL;
}

} // namespace ep::detail
