// SPDX-License-Identifier: MIT
// strategy.hpp - how a paused stub comes to exist (docs/design.md). One file per strategy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "../common/unique_fd.hpp"

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

// Start a paused stub whose end of the stream is the descriptor `chan` of the caller's table. The
// stub owns a private copy of chan; the caller closes its own copy once the stub has spoken (the
// stub unshares the descriptor table first). Returns 0 or -errno with msg.
int start_stub(uint32_t strategy, int chan, StubProcess &out, std::string &msg);

// Whether `strategy` names a strategy this build has.
bool strategy_known(uint32_t strategy);

} // namespace ep::detail
