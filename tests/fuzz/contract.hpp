// SPDX-License-Identifier: MIT
// contract.hpp - how a fuzz target reports a broken contract. Under libFuzzer: abort(), which it
// counts as a crash and for which it saves the input. When a gtest replays the corpus and the
// regressions through the same entry points (tests/unit/fuzz_replay_test.cpp, EP_FUZZ_REPLAY): an
// exception, so that the test names the input instead of taking the whole binary down.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ep_fuzz {

struct ContractBroken : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void broken(const char *target, const std::string &what) {
#ifdef EP_FUZZ_REPLAY
    throw ContractBroken(std::string(target) + ": contract broken: " + what);
#else
    // Not assert(): it must fire whatever NDEBUG says.
    fprintf(stderr, "%s: contract broken: %s\n", target, what.c_str());
    abort();
#endif
}

// The entry points, also called by the replay test.
int decode_one(const unsigned char *data, size_t size);
int config_one(const unsigned char *data, size_t size);

} // namespace ep_fuzz
