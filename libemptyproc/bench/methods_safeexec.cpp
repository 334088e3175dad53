// SPDX-License-Identifier: MIT
// methods_safeexec.cpp - a safeexec-style one-shot helper (gutschke/safeexec, as described in
// ../shared/research/safeexec.md; written here from that description, none of its code).
//
// Per spawn: serialise the actions, argv and envp into the helper's action area, write the helper's
// ELF image with that area into a new memfd (sealed), vfork, and in the child execveat(memfd, "",
// AT_EMPTY_PATH). The helper (target/oneshot_helper.c) applies the actions with raw system calls
// and execs the target: two execs per spawn. The memfd_create and the write of the image (~8 KiB of
// program plus the used part of the area) are inside the timed part on purpose: the image is
// safeexec's only way to pass the actions, so it is what this method costs. Reading the helper's
// file and finding its area happen once per process, before any timing, as safeexec's image is in
// the caller's own binary.
//
// What it gets for the --ops axis: what posix_spawn gets, N + 1 dup2 actions (result pipe -> 3),
// plus one close of the pipe's end. The end is CLOEXEC in the caller (as it is for every method, so
// that no other thread's child inherits it), and a CLOEXEC fd would not survive the exec of the
// helper, so the vfork child clears the flag on its own copy of the fd table (one fcntl) and the
// helper closes the end after its dup2s, as posix_spawn's exec does. safeexec itself does neither: its
// caller has to pass inheritable fds, open to every concurrent fork.
// It has no error channel: a failing action or exec is only an exit status of the helper.
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "locate.hpp"
#include "methods.hpp"
#include "oneshot_image.hpp"
#include "raw_syscall.hpp"

namespace ep::bench {
namespace {

constexpr const char *kHelperName = "emptyproc-bench-oneshot"; // target/oneshot_helper.c
constexpr int kTargetResultFd = 3;

// Loaded by safeexec_methods() before any timing; read-only afterwards, so threads share it.
HelperImage g_image;

// The child runs on the caller's memory until the exec: raw system calls only (raw_syscall.hpp).
// A failed execveat is the one failure the caller can see directly: the child leaves its errno in
// the caller's memory, which vfork shares, before it exits. Out of line so that nothing of the
// caller's frame is live across vfork (-Wclobbered).
__attribute__((noinline)) pid_t vfork_and_execveat(int memfd, int inherit_fd, const SpawnContext &ctx,
                                                   volatile int *exec_errno) {
    pid_t pid = vfork();
    if (pid == 0) {
        raw_syscall(__NR_fcntl, inherit_fd, EP_F_SETFD, 0);
        // The memfd is CLOEXEC, which an ELF image does not mind (a script would: its interpreter
        // could no longer open /dev/fd/N).
        long r = raw_syscall(__NR_execveat, memfd, reinterpret_cast<long>(""), reinterpret_cast<long>(ctx.argv),
                             reinterpret_cast<long>(ctx.envp), EP_AT_EMPTY_PATH);
        *exec_errno = int(-r);
        for (;;)
            raw_syscall(__NR_exit_group, 127);
    }
    return pid;
}

// finish_sample's "exited with status N", with what N means when it is the helper's.
void explain_helper_status(SpawnContext &ctx, int status) {
    if (!WIFEXITED(status))
        return;
    switch (WEXITSTATUS(status)) {
    case EP_ONESHOT_EXIT_UNPATCHED:
        ctx.error = "the one-shot helper found its action area empty";
        break;
    case EP_ONESHOT_EXIT_ACTION:
        ctx.error = "an action failed in the one-shot helper (it cannot say which, nor why)";
        break;
    case EP_ONESHOT_EXIT_EXEC:
        ctx.error = "the one-shot helper's execve of the target failed (it cannot say why)";
        break;
    default:
        break;
    }
}

int spawn_safeexec(const Method &, SpawnContext &ctx, Sample &s) {
    thread_local std::vector<unsigned char> area(EP_ONESHOT_AREA_SIZE);
    thread_local std::vector<ep_oneshot_action> actions;
    int64_t t0 = now_ns();
    actions.assign(size_t(ctx.ops) + 1, ep_oneshot_action{EP_ONESHOT_DUP2, ctx.result_write, kTargetResultFd, 0, 0});
    actions.push_back(ep_oneshot_action{EP_ONESHOT_CLOSE, ctx.result_write, -1, 0, 0});
    long used = serialize_area(g_image, actions, ctx.argv[0], ctx.argv, ctx.envp, area.data());
    if (used < 0)
        return int(used);
    int memfd = write_image_memfd(g_image, area.data(), size_t(used));
    if (memfd < 0)
        return memfd;
    volatile int exec_errno = 0;
    pid_t pid = vfork_and_execveat(memfd, ctx.result_write, ctx, &exec_errno);
    int err = pid < 0 ? errno : 0;
    close(memfd); // the child has exec'ed (or died) by now: vfork returns only then
    if (pid < 0)
        return -err;
    int status = 0;
    if (int r = reap_pid(pid, status); r < 0)
        return r;
    if (exec_errno != 0) {
        ctx.error = std::string("execveat of the helper's memfd: ") + std::strerror(exec_errno);
        return -exec_errno;
    }
    int r = finish_sample(ctx, t0, status, s);
    if (r == -ECHILD)
        explain_helper_status(ctx, status);
    return r;
}

} // namespace

std::vector<Method> safeexec_methods(std::vector<std::string> &skipped) {
    std::string path = find_bench_program(kHelperName), error;
    if (path.empty()) {
        skipped.push_back(std::string("safeexec: no ") + kHelperName +
                          " next to this program or in ../libexec/emptyproc");
        return {};
    }
    if (load_helper_image(path, g_image, error) < 0) {
        skipped.push_back("safeexec: " + error);
        return {};
    }
    return {{"safeexec", "vfork_memfd_helper", "memfd_image", "oneshot", spawn_safeexec, nullptr, true, {}}};
}

} // namespace ep::bench
