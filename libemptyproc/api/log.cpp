// SPDX-License-Identifier: MIT
#include "log.hpp"

#include <cerrno>
#include <cstring>

#include "emptyproc/emptyproc.h"

namespace ep::detail {

void Log::add(char level, const std::string &prefix, const std::string &text) {
    std::string msg;
    msg.reserve(prefix.size() + text.size() + 4);
    msg += level;
    msg += ' ';
    if (!prefix.empty()) {
        msg += prefix;
        msg += ": ";
    }
    msg += text;
    if (msg.size() >= EP_LOG_MSG_MAX)
        msg.resize(EP_LOG_MSG_MAX - 1);
    if (count_ == kDepth) {
        head_ = (head_ + 1) % kDepth;
        count_--;
    }
    ring_[(head_ + count_) % kDepth] = std::move(msg);
    count_++;
}

ssize_t Log::read(char *buf, size_t size) {
    if (count_ == 0)
        return -ENODATA;
    const std::string &msg = ring_[head_];
    if (!buf || size < msg.size() + 1)
        return -EMSGSIZE;
    std::memcpy(buf, msg.c_str(), msg.size() + 1);
    ssize_t n = static_cast<ssize_t>(msg.size());
    head_ = (head_ + 1) % kDepth;
    count_--;
    return n;
}

const std::string &Log::last() const {
    static const std::string empty;
    return count_ ? ring_[(head_ + count_ - 1) % kDepth] : empty;
}

} // namespace ep::detail
