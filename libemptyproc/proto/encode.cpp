// SPDX-License-Identifier: MIT
// encode.cpp - the caller's half of the wire protocol: records into frames.
#include "encode.hpp"

#include <cstring>
#include <type_traits>

namespace ep::detail {

static_assert(sizeof(ep_wire_frame_hdr) == 16 && sizeof(ep_wire_rec) == 40 && sizeof(ep_wire_verdict) == 16,
              "the wire layout is part of the protocol (docs/protocol.md)");
static_assert(std::is_trivially_copyable_v<ep_wire_rec> && std::is_standard_layout_v<ep_wire_rec>);

FrameBuilder::FrameBuilder() {
    clear();
}

void FrameBuilder::clear() {
    buf_.assign(sizeof(ep_wire_frame_hdr), 0);
    fds_.clear();
    indices_.clear();
    nrec_ = 0;
}

bool FrameBuilder::fits(const Record &r) const {
    size_t size = ep_wire_rec_size(static_cast<uint32_t>(r.payload.size()));
    return nrec_ < EP_WIRE_RECS_MAX && buf_.size() + size <= EP_WIRE_FRAME_MAX &&
           (r.caller_fd < 0 || fds_.size() < EP_WIRE_FDS_MAX);
}

void FrameBuilder::add(uint32_t index, const Record &r, UniqueFd fd) {
    ep_wire_rec rec{};
    rec.op = r.op;
    rec.index = index;
    rec.a = r.a;
    rec.b = r.b;
    rec.c = r.c;
    rec.fd_index = EP_WIRE_NO_FD;
    if (fd) {
        rec.fd_index = static_cast<int32_t>(fds_.size());
        fds_.push_back(std::move(fd));
    }
    rec.len = static_cast<uint32_t>(r.payload.size());
    size_t at = buf_.size();
    buf_.resize(at + ep_wire_rec_size(rec.len), 0); // padding stays zero
    std::memcpy(buf_.data() + at, &rec, sizeof rec);
    if (!r.payload.empty())
        std::memcpy(buf_.data() + at + sizeof rec, r.payload.data(), r.payload.size());
    indices_.push_back(index);
    nrec_++;
}

const std::vector<unsigned char> &FrameBuilder::finish(uint16_t flags) {
    ep_wire_frame_hdr h{};
    h.magic = EP_WIRE_MAGIC;
    h.version = EP_WIRE_VERSION;
    h.flags = flags;
    h.len = static_cast<uint32_t>(buf_.size());
    h.nrec = nrec_;
    h.nfds = static_cast<uint16_t>(fds_.size());
    std::memcpy(buf_.data(), &h, sizeof h);
    return buf_;
}

} // namespace ep::detail
