// SPDX-License-Identifier: MIT
// context.cpp - SpawnContext (a thread's pipe and stacks) and what every spawn function shares.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "methods.hpp"

namespace ep::bench {
namespace {

// Above 0..2 and the target's 3, so that dup3(result_write, 3) never meets oldfd == newfd.
constexpr int kFirstContextFd = 10;

void *map_stack() {
    void *p =
        mmap(nullptr, SpawnContext::kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED)
        throw std::runtime_error(std::string("mmap of a child stack: ") + std::strerror(errno));
    return p;
}

int move_up(int fd) {
    int high = fcntl(fd, F_DUPFD_CLOEXEC, kFirstContextFd);
    close(fd);
    return high;
}

std::string rlimit_text(rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

// emptyproc's extra ops cycle through three kinds, each a no-op for the target: an environment entry,
// rlimit.core set to the value it already has, and umask 022. They cost what real ops cost: parsing,
// encoding, sending, and one system call (or an arena append, for env) in the stub.
std::vector<std::pair<std::string, std::string>> emptyproc_extra_ops(int n) {
    rlimit core{};
    getrlimit(RLIMIT_CORE, &core);
    std::string core_value = rlimit_text(core.rlim_cur) + ":" + rlimit_text(core.rlim_max);
    std::vector<std::pair<std::string, std::string>> ops;
    for (int i = 0; i < n; i++) {
        switch (i % 3) {
        case 0:
            ops.emplace_back("env", "EP_BENCH_OP_" + std::to_string(i) + "=1");
            break;
        case 1:
            ops.emplace_back("rlimit.core", core_value);
            break;
        default:
            ops.emplace_back("umask", "022");
            break;
        }
    }
    return ops;
}

} // namespace

SpawnContext::SpawnContext(const Target &t, int n) : target(t), ops(n) {
    int p[2];
    if (int r = pipe_above_3(p, O_NONBLOCK); r < 0)
        throw std::runtime_error(std::string("result pipe: ") + std::strerror(-r));
    result_read = p[0];
    result_write = p[1];
    argv[0] = const_cast<char *>(target.path.c_str());
    vfork_stack = map_stack();
    helper_stack = map_stack();
    ep_ops = emptyproc_extra_ops(n);
}

SpawnContext::~SpawnContext() {
    if (floor.pidfd >= 0) { // a prepared helper that never ran: let it go, then reap it
        close(floor.go_write);
        siginfo_t si;
        waitid(P_PIDFD, static_cast<id_t>(floor.pidfd), &si, WEXITED);
        close(floor.pidfd);
    }
    close(result_read);
    close(result_write);
    munmap(vfork_stack, kStackSize);
    munmap(helper_stack, kStackSize);
}

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int finish_sample(SpawnContext &ctx, int64_t t0, int wait_status, Sample &s) {
    s.reap_ns = now_ns() - t0;
    struct {
        int64_t sec, nsec;
    } started;
    ssize_t n = read(ctx.result_read, &started, sizeof started);
    s.first_ns = n == sizeof started ? started.sec * 1000000000 + started.nsec - t0 : -1;
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
        ctx.error = WIFEXITED(wait_status) ? "the target exited with status " + std::to_string(WEXITSTATUS(wait_status))
                                           : "the target was killed by signal " + std::to_string(WTERMSIG(wait_status));
        return -ECHILD;
    }
    if (ctx.target.reports_start && s.first_ns < 0) {
        ctx.error = "the target wrote no start time on fd 3";
        return -EPROTO;
    }
    return 0;
}

int pipe_above_3(int fds[2], int flags) {
    int p[2];
    if (pipe2(p, O_CLOEXEC | flags) < 0)
        return -errno;
    fds[0] = move_up(p[0]);
    fds[1] = move_up(p[1]);
    if (fds[0] >= 0 && fds[1] >= 0)
        return 0;
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return -err;
}

int reap_pid(pid_t pid, int &wait_status) {
    while (waitpid(pid, &wait_status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int wait_pidfd(int pidfd, int &wait_status) {
    siginfo_t si{};
    while (waitid(P_PIDFD, static_cast<id_t>(pidfd), &si, WEXITED) < 0)
        if (errno != EINTR)
            return -errno;
    wait_status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : (si.si_status & 0x7f);
    return 0;
}

} // namespace ep::bench
