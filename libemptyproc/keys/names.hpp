// SPDX-License-Identifier: MIT
// names.hpp - the name tables of the key language: signals and resource limits (docs/keys.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ep::detail {

// "TERM", "SIGTERM", "15", "RTMIN+2", "RTMAX-1" -> signal number 1..64; nullopt if unknown.
std::optional<int> signal_number(std::string_view name);
// Comma list of signal names ("" = none) -> bit n-1 for signal n. On failure, bad holds the item.
std::optional<uint64_t> signal_set(std::string_view list, std::string &bad);
// "nofile" -> RLIMIT_NOFILE, as prlimit(1) spells them; nullopt if unknown.
std::optional<int> rlimit_resource(std::string_view name);
// The names rlimit_resource() knows, comma separated (for error messages and --help).
std::string rlimit_names();

} // namespace ep::detail
