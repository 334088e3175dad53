// SPDX-License-Identifier: MIT
// encode.hpp - build frames of the wire protocol (wire.h, docs/protocol.md) on the caller's side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/unique_fd.hpp"
#include "wire.h"

namespace ep::detail {

// One operation, parsed from a key and ready to encode. caller_fd is borrowed from the caller only
// until FrameBuilder::add() duplicates it.
struct Record {
    uint16_t op = 0;
    int64_t a = 0;
    int64_t b = 0;
    int32_t c = 0;
    std::string payload; // strings carry their NUL
    int caller_fd = -1;  // a descriptor to send along, or -1
};

class FrameBuilder {
  public:
    FrameBuilder();

    // Whether r still fits into this frame (size, record and descriptor limits).
    bool fits(const Record &r) const;
    // Append r as record `index`. fd is the duplicate of r.caller_fd (or empty); the frame owns it
    // until it is sent.
    void add(uint32_t index, const Record &r, UniqueFd fd);

    bool empty() const { return nrec_ == 0; }
    // Whether the next record may not fit (then adding it sends this frame first).
    bool nearly_full() const {
        return nrec_ + 1u >= EP_WIRE_RECS_MAX || fds_.size() + 1 >= EP_WIRE_FDS_MAX ||
               buf_.size() + sizeof(ep_wire_rec) + EP_WIRE_STR_MAX + 8 > EP_WIRE_FRAME_MAX;
    }
    // The finished frame's bytes; the header is filled in now.
    const std::vector<unsigned char> &finish(uint16_t flags);
    const std::vector<UniqueFd> &fds() const { return fds_; }
    const std::vector<uint32_t> &indices() const { return indices_; }
    void clear();

  private:
    std::vector<unsigned char> buf_;
    std::vector<UniqueFd> fds_;
    std::vector<uint32_t> indices_;
    uint16_t nrec_ = 0;
};

} // namespace ep::detail
