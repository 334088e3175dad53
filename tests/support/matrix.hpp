// SPDX-License-Identifier: MIT
// matrix.hpp - the transport x strategy x mode matrix every behavioural suite runs over.
//
// A later transport or strategy is one line in kTransports / kStrategies below; every TEST_P
// instantiated with ep_test::matrix() then runs on it too, in both modes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "emptyproc/emptyproc.h"

namespace ep_test {

struct Named {
    uint32_t id;
    const char *name;
};

// Transports and strategies built today.
inline constexpr Named kTransports[] = {
    {EP_TRANSPORT_SOCKETPAIR, "socketpair"},
    {EP_TRANSPORT_IO_URING, "io_uring"},
};
// "pool" is a pool of clone_vm stubs; pool_fork and pool_exec_stub are the pool over its other bases.
inline constexpr Named kStrategies[] = {
    {EP_STRATEGY_CLONE_VM, "clone_vm"},
    {EP_STRATEGY_FORK, "fork"},
    {EP_STRATEGY_EXEC_STUB, "exec_stub"},
    {EP_STRATEGY_ZYGOTE, "zygote"},
    {EP_STRATEGY_POOL, "pool"},
    {EP_STRATEGY_SAFEEXEC, "safeexec"},
    {EP_STRATEGY_POOL_OF(EP_STRATEGY_FORK), "pool_fork"},
    {EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB), "pool_exec_stub"},
};

// Whether a strategy is a pool (of any base), and the strategy that makes its stubs: the base for a
// pool (EP_STRATEGY_POOL_OF), else itself.
inline bool is_pool(uint32_t strategy) {
    return (strategy & 0xffu) == EP_STRATEGY_POOL;
}
inline uint32_t stub_maker(uint32_t strategy) {
    return is_pool(strategy) ? strategy >> 8 : strategy;
}

struct Matrix {
    Named transport;
    Named strategy;
    bool sync;

    ep_open_how how() const {
        ep_open_how h{};
        h.flags = sync ? EP_OPEN_SYNC : 0;
        h.transport = transport.id;
        h.strategy = strategy.id;
        return h;
    }
    // A gtest-safe name: letters, digits and '_' only.
    std::string name() const {
        return std::string(transport.name) + "_" + strategy.name + "_" + (sync ? "sync" : "batched");
    }
};

inline std::ostream &operator<<(std::ostream &os, const Matrix &m) {
    return os << m.name();
}

inline std::vector<Matrix> matrix() {
    std::vector<Matrix> all;
    for (const auto &t : kTransports)
        for (const auto &s : kStrategies)
            for (bool sync : {false, true})
                all.push_back(Matrix{t, s, sync});
    return all;
}

// Every matrix entry with every case: the parameters of a TEST_P over (Matrix, Case), named
// "<matrix>_<case.name>" by MatrixCaseName.
template <typename Case, size_t N> std::vector<std::tuple<Matrix, Case>> matrix_times(const Case (&cases)[N]) {
    std::vector<std::tuple<Matrix, Case>> all;
    for (const auto &m : matrix())
        for (const auto &c : cases)
            all.emplace_back(m, c);
    return all;
}

struct MatrixCaseName {
    template <typename Info> std::string operator()(const Info &info) const {
        return std::get<0>(info.param).name() + "_" + std::get<1>(info.param).name;
    }
};

// For INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(ep_test::matrix()), ep_test::MatrixName{}).
struct MatrixName {
    template <typename Info> std::string operator()(const Info &info) const { return info.param.name(); }
};

} // namespace ep_test
