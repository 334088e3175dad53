// SPDX-License-Identifier: MIT
// sandbox.cpp - name tables of the sandbox keys and the seccomp_deny compiler (docs/keys.md).
#include "sandbox.hpp"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <strings.h>
#include <sys/syscall.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>

namespace ep::detail {
namespace {

struct Named {
    const char *name;
    uint64_t value;
};

constexpr Named kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},      {"pid", CLONE_NEWPID},       {"net", CLONE_NEWNET},
    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC},     {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
    {"mount", CLONE_NEWNS},  {"network", CLONE_NEWNET},
};

constexpr const char *kCaps[] = {
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
};

// The calls a sandbox most often denies, plus the usual suspects; any other by number.
#define EP_SYSCALL(n)                                                                                                  \
    { #n, __NR_##n }
constexpr struct {
    const char *name;
    int nr;
} kSyscalls[] = {
    EP_SYSCALL(read),
    EP_SYSCALL(write),
    EP_SYSCALL(openat),
    EP_SYSCALL(close),
    EP_SYSCALL(uname),
    EP_SYSCALL(getcwd),
    EP_SYSCALL(chdir),
    EP_SYSCALL(fchdir),
    EP_SYSCALL(mkdirat),
    EP_SYSCALL(unlinkat),
    EP_SYSCALL(renameat2),
    EP_SYSCALL(linkat),
    EP_SYSCALL(symlinkat),
    EP_SYSCALL(fchmodat),
    EP_SYSCALL(fchownat),
    EP_SYSCALL(socket),
    EP_SYSCALL(connect),
    EP_SYSCALL(bind),
    EP_SYSCALL(listen),
    EP_SYSCALL(accept4),
    EP_SYSCALL(sendto),
    EP_SYSCALL(recvfrom),
    EP_SYSCALL(ptrace),
    EP_SYSCALL(mount),
    EP_SYSCALL(umount2),
    EP_SYSCALL(pivot_root),
    EP_SYSCALL(chroot),
    EP_SYSCALL(unshare),
    EP_SYSCALL(setns),
    EP_SYSCALL(clone),
    EP_SYSCALL(clone3),
    EP_SYSCALL(execve),
    EP_SYSCALL(execveat),
    EP_SYSCALL(kill),
    EP_SYSCALL(tkill),
    EP_SYSCALL(tgkill),
    EP_SYSCALL(setuid),
    EP_SYSCALL(setgid),
    EP_SYSCALL(setresuid),
    EP_SYSCALL(setresgid),
    EP_SYSCALL(setgroups),
    EP_SYSCALL(capset),
    EP_SYSCALL(prctl),
    EP_SYSCALL(seccomp),
    EP_SYSCALL(bpf),
    EP_SYSCALL(perf_event_open),
    EP_SYSCALL(keyctl),
    EP_SYSCALL(add_key),
    EP_SYSCALL(request_key),
    EP_SYSCALL(init_module),
    EP_SYSCALL(finit_module),
    EP_SYSCALL(delete_module),
    EP_SYSCALL(kexec_load),
    EP_SYSCALL(reboot),
    EP_SYSCALL(swapon),
    EP_SYSCALL(swapoff),
    EP_SYSCALL(sethostname),
    EP_SYSCALL(setdomainname),
    EP_SYSCALL(settimeofday),
    EP_SYSCALL(clock_settime),
    EP_SYSCALL(adjtimex),
    EP_SYSCALL(acct),
    EP_SYSCALL(quotactl),
    EP_SYSCALL(userfaultfd),
    EP_SYSCALL(io_uring_setup),
    EP_SYSCALL(personality),
    EP_SYSCALL(mknodat),
    EP_SYSCALL(getpid),
    EP_SYSCALL(getppid),
    EP_SYSCALL(nanosleep),
    EP_SYSCALL(ioctl),
    EP_SYSCALL(mprotect),
    EP_SYSCALL(mmap),
    EP_SYSCALL(munmap),
    EP_SYSCALL(sysinfo),
    EP_SYSCALL(syslog),
    EP_SYSCALL(process_vm_readv),
    EP_SYSCALL(process_vm_writev),
    EP_SYSCALL(name_to_handle_at),
    EP_SYSCALL(open_by_handle_at),
    EP_SYSCALL(fanotify_init),
    EP_SYSCALL(landlock_create_ruleset),
#if defined(__x86_64__)
    EP_SYSCALL(open),
    EP_SYSCALL(mkdir),
    EP_SYSCALL(unlink),
    EP_SYSCALL(rename),
    EP_SYSCALL(chmod),
    EP_SYSCALL(chown),
    EP_SYSCALL(fork),
    EP_SYSCALL(vfork),
    EP_SYSCALL(iopl),
    EP_SYSCALL(ioperm),
    EP_SYSCALL(getpgrp),
#endif
};
#undef EP_SYSCALL

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
constexpr uint32_t kX32Bit = 0x40000000u; // __X32_SYSCALL_BIT: x32 calls would bypass the list
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
constexpr uint32_t kX32Bit = 0;
#endif

template <typename F> bool each_item(std::string_view list, std::string &bad, F f) {
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        if (item.empty() || !f(item)) {
            bad = std::string(item);
            return false;
        }
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
        if (list.empty()) {
            bad = "";
            return false;
        }
    }
    return true;
}

bool same(std::string_view a, const char *b) {
    std::string_view bv(b);
    return a.size() == bv.size() && strncasecmp(a.data(), b, a.size()) == 0;
}

} // namespace

std::optional<uint64_t> namespace_flags(std::string_view list, std::string &bad) {
    uint64_t flags = 0;
    bool ok = each_item(list, bad, [&](std::string_view item) {
        for (const auto &n : kNamespaces)
            if (same(item, n.name)) {
                flags |= n.value;
                return true;
            }
        return false;
    });
    if (!ok || flags == 0)
        return std::nullopt;
    return flags;
}

std::string namespace_names() {
    return "user, mnt, pid, net, uts, ipc, cgroup, time";
}

int cap_last_cap() {
    static const int last = [] {
        int v = CAP_LAST_CAP;
        if (FILE *f = std::fopen("/proc/sys/kernel/cap_last_cap", "re")) {
            if (std::fscanf(f, "%d", &v) != 1)
                v = CAP_LAST_CAP;
            std::fclose(f);
        }
        return v > 62 ? 62 : v;
    }();
    return last;
}

std::optional<uint64_t> capability_mask(std::string_view list, std::string &bad) {
    uint64_t all = (cap_last_cap() >= 63) ? ~0ull : ((1ull << (cap_last_cap() + 1)) - 1);
    if (list == "all" || list == "ALL")
        return all;
    uint64_t mask = 0;
    bool ok = each_item(list, bad, [&](std::string_view item) {
        if (item.size() > 4 && strncasecmp(item.data(), "cap_", 4) == 0)
            item.remove_prefix(4);
        int n = -1;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (ec != std::errc() || p != item.data() + item.size()) {
            n = -1;
            for (size_t i = 0; i < sizeof kCaps / sizeof kCaps[0]; i++)
                if (same(item, kCaps[i]))
                    n = static_cast<int>(i);
        }
        if (n < 0 || n > cap_last_cap())
            return false;
        mask |= 1ull << n;
        return true;
    });
    if (!ok)
        return std::nullopt;
    return mask;
}

std::optional<int> syscall_number(std::string_view name) {
    if (name.size() > 4 && strncasecmp(name.data(), "sys_", 4) == 0)
        name.remove_prefix(4);
    int n = -1;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec == std::errc() && p == name.data() + name.size())
        return n >= 0 && n < 1024 ? std::optional<int>(n) : std::nullopt;
    for (const auto &s : kSyscalls)
        if (same(name, s.name))
            return s.nr;
    return std::nullopt;
}

std::vector<sock_filter> seccomp_deny_program(const std::vector<int> &nrs) {
    std::vector<sock_filter> prog;
    auto stmt = [&](uint16_t code, uint32_t k) { prog.push_back(BPF_STMT(code, k)); };
    auto jump = [&](uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { prog.push_back(BPF_JUMP(code, k, jt, jf)); };
    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    jump(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0);
    stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    if (kX32Bit) {
        jump(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 1);
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    for (int nr : nrs) {
        jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1);
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return prog;
}

} // namespace ep::detail
