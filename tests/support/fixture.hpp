// SPDX-License-Identifier: MIT
// fixture.hpp - the base of the parameterized suites: a matrix entry and a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>
#include <utility>

#include "matrix.hpp"
#include "process.hpp"
#include "spawn.hpp"

namespace ep_test {

// Whether ep_open() works for this entry's transport and strategy here; if it says EOPNOTSUPP (a
// kernel without what the transport needs, io_uring disabled), why, from the open log. Asked once.
inline bool matrix_entry_available(const Matrix &m, std::string &why) {
    static std::map<std::pair<uint32_t, uint32_t>, std::string> known; // "" = available
    auto key = std::make_pair(m.transport.id, m.strategy.id);
    auto it = known.find(key);
    if (it == known.end()) {
        ep_open_how how = m.how();
        int fd = ep_open(&how, sizeof how);
        std::string reason;
        if (fd >= 0)
            ep_close(fd);
        else if (errno == EOPNOTSUPP)
            reason = std::string(m.transport.name) + "/" + m.strategy.name +
                     " unavailable here: " + joined(log_messages(-1));
        // The probe must leave nothing behind: a pool's prepared stubs, a zygote or this thread's
        // io_uring ring would be counted by the tests as children or descriptors they made.
        ep_cache_release(0);
        it = known.emplace(key, reason).first;
    }
    why = it->second;
    return why.empty();
}

class MatrixTest : public ::testing::TestWithParam<Matrix> {
  protected:
    void SetUp() override { // subclasses with a SetUp call this first
        std::string why;
        if (!matrix_entry_available(GetParam(), why))
            GTEST_SKIP() << why;
    }
    TempDir tmp;
};

// INSTANTIATE the suite over every transport x strategy x mode: tests are named
// "<prefix>/<suite>.<test>/socketpair_clone_vm_sync" (the prefix is the binary's kind, so that
// `ctest -R Conformance` or `-R Lifecycle` selects them).
#define EP_INSTANTIATE_MATRIX(prefix, suite)                                                                           \
    INSTANTIATE_TEST_SUITE_P(prefix, suite, ::testing::ValuesIn(::ep_test::matrix()), ::ep_test::MatrixName{})

} // namespace ep_test
