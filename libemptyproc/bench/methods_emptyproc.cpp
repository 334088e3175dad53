// SPDX-License-Identifier: MIT
// methods_emptyproc.cpp - emptyproc through its C ABI, one row per strategy x transport x mode.
//
// A spawn is what a user writes: ep_open, fd.3, the extra ops (context.cpp), exec, CMD_EXEC, then
// waitid on the pidfd. The timed part ends when waitid returns; ep_close after it is not timed, as
// the other methods' clean-up is not.
#include <fcntl.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "methods.hpp"

namespace ep::bench {
namespace {

struct Named {
    const char *name;
    unsigned value;
};
// Every transport and strategy the C ABI names; those this build or kernel lacks are skipped.
constexpr Named kTransports[] = {{"socketpair", EP_TRANSPORT_SOCKETPAIR}, {"io_uring", EP_TRANSPORT_IO_URING}};
constexpr Named kStrategies[] = {{"clone_vm", EP_STRATEGY_CLONE_VM},
                                 {"fork", EP_STRATEGY_FORK},
                                 {"exec_stub", EP_STRATEGY_EXEC_STUB},
                                 {"zygote", EP_STRATEGY_ZYGOTE},
                                 {"pool", EP_STRATEGY_POOL},
                                 {"safeexec", EP_STRATEGY_SAFEEXEC},
                                 {"pool:fork", EP_STRATEGY_POOL_OF(EP_STRATEGY_FORK)},
                                 {"pool:exec_stub", EP_STRATEGY_POOL_OF(EP_STRATEGY_EXEC_STUB)}};
constexpr Named kModes[] = {{"batched", 0}, {"sync", EP_OPEN_SYNC}};

std::string log_text(int pidfd) {
    std::string text;
    char msg[EP_LOG_MSG_MAX];
    while (ep_log_read(pidfd, msg, sizeof msg) >= 0)
        text += (text.empty() ? "" : "; ") + std::string(msg);
    return text;
}

int configure_and_exec(int pidfd, const SpawnContext &ctx) {
    if (ep_config(pidfd, EP_CONFIG_SET_FD, "fd.3", nullptr, ctx.result_write) < 0)
        return -errno;
    for (const auto &[key, value] : ctx.ep_ops)
        if (ep_config(pidfd, EP_CONFIG_SET_STRING, key.c_str(), value.c_str(), 0) < 0)
            return -errno;
    if (ep_config(pidfd, EP_CONFIG_SET_PATH, "exec", ctx.target.path.c_str(), AT_FDCWD) < 0)
        return -errno;
    if (ep_config(pidfd, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0) < 0)
        return -errno;
    return 0;
}

int spawn_emptyproc(const Method &m, SpawnContext &ctx, Sample &s) {
    int64_t t0 = now_ns();
    int pidfd = ep_open(&m.how, sizeof m.how);
    if (pidfd < 0) {
        int err = errno;
        ctx.error = log_text(-1);
        return -err;
    }
    int r = configure_and_exec(pidfd, ctx);
    int status = 0;
    if (r < 0)
        ctx.error = log_text(pidfd);
    else
        r = wait_pidfd(pidfd, status);
    if (r == 0)
        r = finish_sample(ctx, t0, status, s);
    ep_close(pidfd);
    return r;
}

// Whether this combination opens at all here: io_uring is EOPNOTSUPP until its issue lands.
int probe(const ep_open_how &how, std::string &why) {
    int pidfd = ep_open(&how, sizeof how);
    if (pidfd < 0) {
        int err = errno;
        why = std::strerror(err) + std::string(" ") + log_text(-1);
        return -err;
    }
    ep_close(pidfd);
    return 0;
}

} // namespace

std::vector<Method> emptyproc_methods(std::vector<std::string> &skipped) {
    std::vector<Method> methods;
    for (const Named &s : kStrategies)
        for (const Named &t : kTransports)
            for (const Named &mode : kModes) {
                Method m{"emptyproc", s.name, t.name, mode.name, spawn_emptyproc, nullptr, true, {}};
                m.how.flags = mode.value;
                m.how.transport = t.value;
                m.how.strategy = s.value;
                std::string why;
                if (probe(m.how, why) < 0)
                    skipped.push_back(m.label() + ": " + why);
                else
                    methods.push_back(std::move(m));
            }
    return methods;
}

} // namespace ep::bench
