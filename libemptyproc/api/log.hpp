// SPDX-License-Identifier: MIT
// log.hpp - a handle's message log, read one message at a time like an fs_context's (fsopen(2)).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <string>

namespace ep::detail {

class Log {
  public:
    static constexpr size_t kDepth = 8; // as the kernel's fc_log: the oldest message is dropped

    // level is 'e', 'w' or 'i'; the message becomes "<level> <prefix>: <text>".
    void add(char level, const std::string &prefix, const std::string &text);
    // One message into buf (NUL-terminated). Returns its length, -ENODATA or -EMSGSIZE (the message
    // stays queued).
    ssize_t read(char *buf, size_t size);
    // The newest message, without consuming it ("" if none).
    const std::string &last() const;
    void clear() { count_ = 0; }

  private:
    std::array<std::string, kDepth> ring_;
    size_t head_ = 0; // oldest
    size_t count_ = 0;
};

} // namespace ep::detail
