// SPDX-License-Identifier: MIT
// sandbox.hpp - name tables and helpers of the sandbox keys (docs/keys.md): namespaces,
// capabilities, system calls and the seccomp filter the "seccomp_deny" key compiles.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ep::detail {

// "user,mnt,net" -> CLONE_NEW* bits. bad holds an unknown item.
std::optional<uint64_t> namespace_flags(std::string_view list, std::string &bad);
std::string namespace_names(); // "user, mnt, pid, ..."

// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap, else CAP_LAST_CAP).
int cap_last_cap();
// "net_admin,CAP_SYS_ADMIN,12" or "all" -> mask. bad holds an unknown item.
std::optional<uint64_t> capability_mask(std::string_view list, std::string &bad);

// A system call's number on this architecture ("openat", "SYS_openat", or a number).
std::optional<int> syscall_number(std::string_view name);

// A seccomp program: architecture check (other ABIs are killed), then each listed call returns
// EPERM, everything else is allowed.
std::vector<sock_filter> seccomp_deny_program(const std::vector<int> &nrs);

} // namespace ep::detail
