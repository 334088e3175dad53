// SPDX-License-Identifier: MIT
// decode_fuzz.cpp - libFuzzer target for the stub's frame decoder (proto/decode.c).
//
// Input: byte 0 is the number of descriptors the datagram "came with" (0..255, so both sides of
// EP_WIRE_FDS_MAX are reached), the rest is the datagram. The stub receives into an 8-byte aligned
// buffer, so the frame is copied into a heap block of exactly its size: ASan then flags any read
// past the datagram, which is the property decode.c promises ("reads nothing outside buf[0..len)").
// A frame the checker accepts is walked with ep_wire_next() and every record is checked against the
// contract the stub's handlers rely on; a broken promise aborts, which libFuzzer reports as a crash.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "contract.hpp"
#include "proto/wire.h"

namespace {

[[noreturn]] void fail(const char *what) {
    ep_fuzz::broken("decode_fuzz", what);
}

void walk(const unsigned char *frame, uint32_t len, uint32_t nfds, ep_wire_cursor cur) {
    const auto *hdr = reinterpret_cast<const ep_wire_frame_hdr *>(frame);
    uint32_t seen = 0;
    ep_wire_op op{};
    while (ep_wire_next(&cur, &op)) {
        seen++;
        if (op.op == 0 || op.op >= EP_OP__COUNT)
            fail("op code out of range");
        if (op.fd_index != EP_WIRE_NO_FD && (op.fd_index < 0 || static_cast<uint32_t>(op.fd_index) >= nfds))
            fail("fd_index out of range");
        if (op.op == EP_OP_EXEC && seen != hdr->nrec)
            fail("EXEC is not the last record");
        if (op.len == 0) {
            if (op.data)
                fail("payload pointer without payload");
            continue;
        }
        const auto *data = reinterpret_cast<const unsigned char *>(op.data);
        if (data < frame + sizeof(ep_wire_frame_hdr) || data + op.len > frame + len)
            fail("payload outside the frame");
        if (op.op == EP_OP_SETGROUPS) {
            if (static_cast<uint64_t>(op.a) * 4u != op.len)
                fail("group count and payload length disagree");
            continue;
        }
        if (op.op == EP_OP_SECCOMP || op.op == EP_OP_CPUS) { // binary: sock_filter[] / cpu mask words
            if (op.len % 8 != 0)
                fail("binary payload is not whole 8-byte units");
            continue;
        }
        // Every other payload is a string: the handlers use it as a C string in place.
        if (data[op.len - 1] != 0 || memchr(data, 0, op.len - 1) != nullptr)
            fail("string payload is not exactly one NUL-terminated string");
    }
    if (seen != hdr->nrec)
        fail("walked a different number of records than nrec");
}

} // namespace

int ep_fuzz::decode_one(const unsigned char *data, size_t size) {
    if (size < 1 || size - 1 > 2 * EP_WIRE_FRAME_MAX)
        return -1; // keep frames near the real limit; larger inputs only test the length check
    const uint32_t nfds = data[0];
    const uint32_t len = static_cast<uint32_t>(size - 1);
    // malloc's blocks are 16-byte aligned; a zero-length datagram still needs a valid pointer.
    std::unique_ptr<unsigned char, decltype(&free)> block(static_cast<unsigned char *>(malloc(len ? len : 1)), free);
    unsigned char *frame = block.get();
    if (!frame)
        return 0;
    if (len)
        memcpy(frame, data + 1, len);
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    int err = ep_wire_check_frame(frame, len, nfds, &cur, &bad);
    if (err == 0)
        walk(frame, len, nfds, cur);
    else if (err != -EPROTO && err != -EINVAL && err != -E2BIG)
        fail("unexpected errno from ep_wire_check_frame");
    return 0;
}

#ifndef EP_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return ep_fuzz::decode_one(data, size);
}
#endif
