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
};
constexpr StrategyRow kStrategies[] = {
    {EP_STRATEGY_CLONE_VM, "clone_vm", start_clone_vm},
};
} // namespace

bool strategy_known(uint32_t strategy) {
    for (const auto &s : kStrategies)
        if (s.id == strategy)
            return true;
    return false;
}

int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg) {
    for (const auto &s : kStrategies)
        if (s.id == strategy)
            return s.start(launch, out, msg);
    msg = "unknown strategy " + std::to_string(strategy);
    return -EINVAL;
}

} // namespace ep::detail
