// SPDX-License-Identifier: MIT
// strategy.cpp - the table of strategies: adding one is one row and one file.
#include <cerrno>
#include <string>

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
// Strategies whose stub is created by ep_open() itself, so that clone3 can give it a new pid
// namespace or a cgroup at birth (StubLaunch::clone_flags, cgroup_fd).
constexpr uint32_t kBirthStrategies[] = {EP_STRATEGY_CLONE_VM};

bool has_birth(uint32_t strategy) {
    for (uint32_t s : kBirthStrategies)
        if (s == strategy)
            return true;
    return false;
}
} // namespace

bool strategy_known(uint32_t strategy) {
    for (const auto &s : kStrategies)
        if (s.id == strategy)
            return true;
    return false;
}

int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg) {
    for (const auto &s : kStrategies)
        if (s.id == strategy) {
            if ((launch.clone_flags || launch.cgroup_fd >= 0) && !has_birth(strategy)) {
                msg = std::string("strategy ") + s.name +
                      " cannot create a namespace or join a cgroup at birth: its stubs exist before ep_open()";
                return -EOPNOTSUPP;
            }
            return s.start(launch, out, msg);
        }
    msg = "unknown strategy " + std::to_string(strategy);
    return -EINVAL;
}

} // namespace ep::detail
