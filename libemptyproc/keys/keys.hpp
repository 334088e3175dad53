// SPDX-License-Identifier: MIT
// keys.hpp - check one ep_config() call against the key table and turn it into a wire record.
#pragma once

#include <string>

#include "../proto/encode.hpp"

namespace ep::detail {

enum class KeyId {
#define EP_KEY(id, name, suffix, cmds, parser, summary) id,
#include "keys.def"
#undef EP_KEY
};

struct KeyInfo {
    const char *name;
    const char *suffix; // "", ".<N>", ".<resource>"
    unsigned commands;  // bit (1 << EP_CONFIG_SET_*)
    const char *summary;
};

// One row per key, in keys.def order.
const KeyInfo *key_table(size_t *count);

// Parse an ep_config() call with a SET_* command. Returns 0 and fills out/id, or a negative errno
// (-EINVAL, -EBADF, -EOPNOTSUPP) with msg saying what was wrong (the caller prefixes the key).
int parse_config(unsigned cmd, const char *key, const void *value, int aux, Record &out, KeyId &id, std::string &msg);

// The errno name and text, "ENOENT (No such file or directory)".
std::string errno_text(int err);

} // namespace ep::detail
