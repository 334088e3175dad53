// SPDX-License-Identifier: MIT
// strategy.hpp - how a paused stub comes to exist (docs/design.md). One file per strategy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "../common/unique_fd.hpp"
#include "../stub/stub.h"

namespace ep::detail {

// Memory a stub runs on. The caller may reuse or unmap it only once the stub no longer runs on it:
// after it exec'd (the channel's EOF says so) or was reaped.
class StubMemory {
  public:
    virtual ~StubMemory() = default;
};

struct StubProcess {
    UniqueFd pidfd;
    pid_t pid = -1;
    std::unique_ptr<StubMemory> memory;
};

// What a new stub is given: its transport, the caller's descriptors it keeps (its end of the
// stream first) and what S0 leaves alone (EP_STUB_KEEP_*, stub/stub.h).
struct StubLaunch {
    uint32_t transport = 0;
    uint32_t flags = 0;
    uint32_t nkeep = 0;
    int keep[4] = {-1, -1, -1, -1}; // EP_STUB_KEEP_MAX
    ep_stub_uring uring{};          // io_uring transport: Channel::stub_uring()
};

// Start a paused stub. The stub owns private copies of launch.keep[]; the caller closes its own
// copies once the stub has spoken (the stub unshares the descriptor table first). Returns 0 or
// -errno with msg.
int start_stub(uint32_t strategy, const StubLaunch &launch, StubProcess &out, std::string &msg);

// Whether `strategy` names a strategy this build has.
bool strategy_known(uint32_t strategy);

} // namespace ep::detail
