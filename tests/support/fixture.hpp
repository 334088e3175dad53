// SPDX-License-Identifier: MIT
// fixture.hpp - the base of the parameterized suites: a matrix entry and a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include "matrix.hpp"
#include "process.hpp"
#include "spawn.hpp"

namespace ep_test {

class MatrixTest : public ::testing::TestWithParam<Matrix> {
  protected:
    TempDir tmp;
};

// INSTANTIATE the suite over every transport x strategy x mode: tests are named
// "<prefix>/<suite>.<test>/socketpair_clone_vm_sync" (the prefix is the binary's kind, so that
// `ctest -R Conformance` or `-R Lifecycle` selects them).
#define EP_INSTANTIATE_MATRIX(prefix, suite)                                                                           \
    INSTANTIATE_TEST_SUITE_P(prefix, suite, ::testing::ValuesIn(::ep_test::matrix()), ::ep_test::MatrixName{})

} // namespace ep_test
