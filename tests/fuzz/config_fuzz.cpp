// SPDX-License-Identifier: MIT
// config_fuzz.cpp - libFuzzer target for ep_config()'s key/value parsing (keys/parse.cpp), with no
// stub: parse_config() is what ep_config() runs before anything is queued or sent.
//
// Input layout (small, so that the seeds stay readable):
//   byte 0  command: low 3 bits = 0..7 (7 is unknown); with bit 7 set, the byte itself (128..255)
//   byte 1  aux: 0 -> 0, 1 -> AT_FDCWD, 2 -> an open descriptor (/dev/null), 3 -> an open directory,
//           4 -> a closed descriptor number, 5 -> -1, 6 -> the value's length (SET_BINARY),
//           7 -> INT_MAX, else the byte itself
//   byte 2  bit 0: key NULL, bit 1: value NULL, bit 2: sync frame for the round trip
//   rest    key bytes, a NUL, value bytes (the value may hold more NULs: a C caller's string ends at
//           the first one, a binary value does not)
// Key and value are copied into heap blocks of exactly their size, so ASan flags a read past them.
//
// Whatever parse_config() accepts is encoded with FrameBuilder and must pass the stub's decoder:
// the caller checks every key so that the stub never has to reject a frame it was sent
// (protocol.md §7), and a disagreement would turn a well-formed ep_config() call into a BAD_FRAME.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "contract.hpp"
#include "emptyproc/emptyproc.h"
#include "keys/keys.hpp"
#include "proto/encode.hpp"
#include "proto/wire.h"

namespace {

[[noreturn]] void fail(const char *what, const std::string &detail) {
    ep_fuzz::broken("config_fuzz", std::string(what) + ": " + detail);
}

// Descriptors opened once and kept for the whole run: parse_config() only checks them (F_GETFD).
int open_fd() {
    static int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd;
}
int dir_fd() {
    static int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd;
}
// A number that is never open: far above anything this process opens.
constexpr int kClosedFd = 900000;

int pick_aux(uint8_t sel, size_t value_len) {
    switch (sel) {
    case 0:
        return 0;
    case 1:
        return AT_FDCWD;
    case 2:
        return open_fd();
    case 3:
        return dir_fd();
    case 4:
        return kClosedFd;
    case 5:
        return -1;
    case 6:
        return static_cast<int>(value_len);
    case 7:
        return INT_MAX;
    default:
        return sel;
    }
}

// The record that parse_config() accepted must decode as one record of the stub's protocol.
void round_trip(uint32_t index, const ep::detail::Record &r, bool sync, const std::string &what) {
    ep::detail::FrameBuilder fb;
    if (!fb.fits(r))
        return; // an oversized record goes out alone in a frame of its own; the limits are checked there
    ep::detail::UniqueFd dup;
    if (r.caller_fd >= 0) {
        dup = ep::detail::UniqueFd(fcntl(r.caller_fd, F_DUPFD_CLOEXEC, 3));
        if (!dup)
            fail("cannot duplicate an accepted descriptor", what);
    }
    fb.add(index, r, std::move(dup));
    const std::vector<unsigned char> &bytes = fb.finish(sync ? EP_FRAME_SYNC : 0);
    // The stub's receive buffer is 8-byte aligned; vector storage from operator new is too.
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    int err = ep_wire_check_frame(bytes.data(), static_cast<uint32_t>(bytes.size()),
                                  static_cast<uint32_t>(fb.fds().size()), &cur, &bad);
    if (err != 0)
        fail("the decoder rejects what the parser accepted", what + " -> " + std::to_string(err));
}

} // namespace

int ep_fuzz::config_one(const unsigned char *data, size_t size) {
    if (size < 3 || size > 3 + 2 * EP_VALUE_MAX)
        return -1;
    const unsigned cmd = (data[0] & 0x80) ? data[0] : (data[0] & 7u);
    const bool key_null = data[2] & 1, value_null = data[2] & 2, sync = data[2] & 4;
    const uint8_t *rest = data + 3;
    const size_t rest_len = size - 3;
    const auto *nul = static_cast<const uint8_t *>(memchr(rest, 0, rest_len));
    const size_t key_len = nul ? static_cast<size_t>(nul - rest) : rest_len;
    const uint8_t *value_bytes = nul ? nul + 1 : rest + rest_len;
    const size_t value_len = static_cast<size_t>(rest + rest_len - value_bytes);

    // Exact-size heap copies: the key and a string value get their terminating NUL. A binary value is
    // aux bytes long, as ep_config() requires of its caller: the input's bytes, cut or zero-padded to
    // aux (a parser cannot know a buffer shorter than aux, so feeding one would only find this
    // harness's lie). An aux outside 1..EP_VALUE_MAX must be rejected unread: the buffer is then just
    // the input's bytes, and a read of it past them is a bug ASan reports.
    const bool binary = cmd == EP_CONFIG_SET_BINARY;
    const int aux = pick_aux(data[1], value_len);
    const bool aux_is_length = binary && aux > 0 && aux <= EP_VALUE_MAX;
    const size_t value_alloc = aux_is_length ? static_cast<size_t>(aux) : binary ? value_len : value_len + 1;
    using Block = std::unique_ptr<char, decltype(&free)>;
    Block key_block(key_null ? nullptr : static_cast<char *>(malloc(key_len + 1)), free);
    char *key = key_block.get();
    if (key) {
        memcpy(key, rest, key_len);
        key[key_len] = 0;
    }
    Block value_block(value_null ? nullptr : static_cast<char *>(calloc(value_alloc ? value_alloc : 1, 1)), free);
    char *value = value_block.get();
    if (value) {
        const size_t copy = value_len < value_alloc ? value_len : value_alloc;
        if (copy)
            memcpy(value, value_bytes, copy);
        if (!binary)
            value[value_len] = 0;
    }

    ep::detail::Record out;
    ep::detail::KeyId id{};
    std::string msg;
    int err = ep::detail::parse_config(cmd, key, value, aux, out, id, msg);
    if (err == 0) {
        round_trip(7, out, sync, std::string(key ? key : "(null)") + " cmd " + std::to_string(cmd));
    } else {
        if (err != -EINVAL && err != -EBADF && err != -EOPNOTSUPP)
            fail("an errno keys.hpp does not promise", std::to_string(err));
        if (msg.empty())
            fail("a rejection without a message", std::to_string(err));
    }
    return 0;
}

#ifndef EP_FUZZ_REPLAY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return ep_fuzz::config_one(data, size);
}
#endif
