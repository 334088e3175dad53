// SPDX-License-Identifier: MIT
// names.cpp - signal and rlimit name tables. One table each, as crun's rlimits[] does.
#include "names.hpp"

#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <tuple>

namespace ep::detail {
namespace {

struct Named {
    const char *name;
    int value;
};

constexpr Named kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

constexpr Named kRlimits[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

std::optional<int> small_number(std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

} // namespace

std::optional<int> signal_number(std::string_view name) {
    if (name.substr(0, 3) == "SIG")
        name.remove_prefix(3);
    if (auto n = small_number(name))
        return (*n >= 1 && *n <= 64) ? n : std::nullopt;
    for (const auto &s : kSignals)
        if (name == s.name)
            return s.value;
    // Real-time signals relative to glibc's SIGRTMIN/SIGRTMAX (what kill -l prints).
    for (auto [prefix, base, sign] : {std::tuple{"RTMIN", SIGRTMIN, 1}, std::tuple{"RTMAX", SIGRTMAX, -1}}) {
        std::string_view p(prefix);
        if (name.substr(0, p.size()) != p)
            continue;
        std::string_view rest = name.substr(p.size());
        if (rest.empty())
            return base;
        if (rest[0] != (sign > 0 ? '+' : '-'))
            return std::nullopt;
        auto off = small_number(rest.substr(1));
        if (!off)
            return std::nullopt;
        int sig = base + sign * *off;
        if (sig < SIGRTMIN || sig > SIGRTMAX)
            return std::nullopt;
        return sig;
    }
    return std::nullopt;
}

std::optional<uint64_t> signal_set(std::string_view list, std::string &bad) {
    uint64_t set = 0;
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        auto sig = signal_number(item);
        if (!sig) {
            bad = std::string(item);
            return std::nullopt;
        }
        set |= 1ull << (*sig - 1);
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
        if (list.empty()) { // a trailing comma
            bad = "";
            return std::nullopt;
        }
    }
    return set;
}

std::optional<int> rlimit_resource(std::string_view name) {
    for (const auto &r : kRlimits)
        if (name == r.name)
            return r.value;
    return std::nullopt;
}

std::string rlimit_names() {
    std::string all;
    for (const auto &r : kRlimits)
        all += (all.empty() ? "" : ",") + std::string(r.name);
    return all;
}

} // namespace ep::detail
