// SPDX-License-Identifier: MIT
// helper.cpp - strategies exec_stub and safeexec: a pristine stub, exec'ed from the helper program
// ep-stub (its file next to the library, or its image from a sealed memfd), then reading its stream.
#include "helper.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "../stub/stub.h"
#include "fd_slots.hpp"
#include "region.hpp"

// The helper's bytes, built into the library (helper_image.c).
extern "C" const unsigned char ep_helper_image[];
extern "C" const unsigned char ep_helper_image_end[];

namespace ep::detail {
namespace {

// Never destroyed, as the pool (pool.cpp): its refill thread may start an exec_stub stub while the
// process exits, after static destructors have run (std::mutex's is trivial).
std::mutex mu;
std::string &found_path = *new std::string; // cached once found
int memfd = -1;

std::string dir_of(const std::string &file) {
    size_t slash = file.rfind('/');
    return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

// The directory of the object this code is in: the shared library, or the program it is linked into.
std::string own_dir() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&own_dir), &info) && info.dli_fname && info.dli_fname[0] == '/')
        return dir_of(info.dli_fname);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    return n > 0 ? dir_of(std::string(exe, static_cast<size_t>(n))) : std::string(".");
}

int reap_failed(StubProcess &p, int err, const std::string &what, std::string &msg) {
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(p.pidfd.get()), &info, WEXITED) < 0 &&
           errno == EINTR) {
    }
    p.pidfd.reset();
    msg = what + ": " + strerror(-err);
    return err;
}

} // namespace

int helper_path(std::string &out, std::string &msg) {
    std::lock_guard lock(mu);
    if (const char *env = getenv("EMPTYPROC_STUB"); env && *env) {
        if (access(env, X_OK) == 0) {
            out = env;
            return 0;
        }
        int err = errno;
        msg = "the stub helper $EMPTYPROC_STUB=" + std::string(env) + ": " + strerror(err);
        return -ENOENT;
    }
    if (!found_path.empty()) {
        out = found_path;
        return 0;
    }
    std::string dir = own_dir(), looked;
    for (const char *rel : {EP_HELPER_FROM_BUILD_LIB, EP_HELPER_FROM_INSTALL_LIB}) {
        std::string p = dir + "/" + rel;
        if (access(p.c_str(), X_OK) == 0) {
            found_path = out = p;
            return 0;
        }
        if (looked.find(p) == std::string::npos) // the two are the same path in a default install
            looked += (looked.empty() ? "" : ", ") + p;
    }
    msg = "the stub helper ep-stub is missing: looked at " + looked + " (set EMPTYPROC_STUB to its path)";
    return -ENOENT;
}

int helper_memfd(std::string &msg) {
    std::lock_guard lock(mu);
    // (In a forked child the descriptor is its own copy of the same sealed file: still good.)
    if (memfd >= 0)
        return memfd;
    unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
#ifdef MFD_EXEC
    flags |= MFD_EXEC;
#endif
    int fd = memfd_create("ep-stub", flags);
#ifdef MFD_EXEC
    if (fd < 0 && errno == EINVAL)
        fd = memfd_create("ep-stub", flags & ~MFD_EXEC); // a kernel before 6.3
#endif
    if (fd < 0) {
        int err = errno;
        msg = "memfd_create of the stub image: " + std::string(strerror(err));
        if (err == EACCES)
            msg += " (executable memfds refused: is vm.memfd_noexec 2?)";
        return -err;
    }
    UniqueFd owned(fd);
    size_t size = static_cast<size_t>(ep_helper_image_end - ep_helper_image);
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, ep_helper_image + off, size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            msg = "writing the stub image to its memfd: " + std::string(strerror(err));
            return -err;
        }
        off += static_cast<size_t>(n);
    }
    if (fchmod(fd, 0500) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int err = errno;
        msg = "sealing the stub image's memfd: " + std::string(strerror(err));
        return -err;
    }
    // Low in the table (it is kept across the vfork child's unshare, which copies what is below it).
    int low = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    memfd = low >= 0 ? low : owned.release();
    return memfd;
}

void helper_atfork(int phase) {
    if (phase == 0)
        mu.lock();
    else
        mu.unlock(); // in the child the memfd is its own copy of the same sealed file: kept
}

void helper_release() {
    std::lock_guard lock(mu);
    if (memfd >= 0)
        close(memfd);
    memfd = -1;
}

int launch_helper(int exec_fd, const std::string &path, const std::vector<std::string> &argv, const int *keep,
                  uint32_t nkeep, uint64_t clone_flags, StubProcess &out, std::string &msg, int cgroup_fd) {
    std::unique_ptr<Region> region;
    if (int err = new_region(region, msg))
        return err;
    // Everything the child reads goes into its region: the struct, then argv and its strings.
    auto *la = new (region->args()) ep_launch_args{};
    la->exec_fd = exec_fd;
    la->nkeep = nkeep;
    for (uint32_t i = 0; i < nkeep; i++)
        la->keep[i] = keep[i];
    la->err = 0;
    unsigned char *at = region->arena();
    auto put = [&](const std::string &s) {
        char *p = reinterpret_cast<char *>(at);
        std::memcpy(p, s.c_str(), s.size() + 1);
        at += s.size() + 1;
        return p;
    };
    la->path = exec_fd >= 0 ? nullptr : put(path);
    std::vector<char *> ptrs;
    for (const auto &a : argv)
        ptrs.push_back(put(a));
    at = reinterpret_cast<unsigned char *>((reinterpret_cast<uintptr_t>(at) + 15) & ~uintptr_t{15});
    auto **av = reinterpret_cast<char **>(at);
    for (size_t i = 0; i < ptrs.size(); i++)
        av[i] = ptrs[i];
    av[ptrs.size()] = nullptr;
    la->argv = av;

    int pidfd = -1;
    long pid;
    {
        AllSignalsBlocked blocked;
        // The clone(2) fallback leaves out CLONE_FILES. The child's first act is close_range(UNSHARE),
        // which makes its table private anyway: without CLONE_FILES it starts with a private copy of
        // the whole table (what fork() costs) and ends with the same descriptors. valgrind takes
        // CLONE_VM|CLONE_VFORK (as a plain fork) but stops the process at CLONE_FILES.
        LegacyClone legacy;
        legacy.drop = CLONE_FILES;
        pid = clone_named(CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | CLONE_CLEAR_SIGHAND | clone_flags,
                          *region, ep_launch_child, la, &pidfd, "ep-stub", cgroup_fd, legacy);
    }
    if (pid < 0) {
        msg = clone_failure(std::string("CLONE_VM|CLONE_VFORK|CLONE_PIDFD") +
                                (clone_flags & CLONE_NEWPID ? "|CLONE_NEWPID" : "") +
                                (clone_flags & CLONE_FS ? "|CLONE_FS" : ""),
                            pid, cgroup_fd);
        return static_cast<int>(pid);
    }
    out.pidfd.reset(pidfd);
    out.pid = static_cast<pid_t>(pid);
    if (int err = la->err) {
        std::string what = exec_fd >= 0 ? "exec of the stub image from its memfd" : "exec of the stub helper " + path;
        if (exec_fd >= 0 && err == -EACCES)
            what += " (refused: is vm.memfd_noexec set?)";
        return reap_failed(out, err, what, msg);
    }
    return 0; // the child exec'd: its table and memory are its own, the region goes back now
}

namespace {

std::vector<std::string> stub_argv(const StubLaunch &launch, const int *keep) {
    std::vector<std::string> argv{"ep-stub", "s", std::to_string(launch.transport)};
    for (uint32_t i = 0; i < launch.nkeep; i++)
        argv.push_back(std::to_string(keep[i]));
    return argv;
}

int start_helper_stub(int exec_fd, const std::string &path, const StubLaunch &launch, StubProcess &out,
                      std::string &msg) {
    int keep[EP_STUB_KEEP_MAX];
    for (uint32_t i = 0; i < EP_STUB_KEEP_MAX; i++)
        keep[i] = launch.keep[i];
    // Kept descriptors on low slots for the instant of the vfork (the child's unshare is cheap).
    uint64_t lease = fd_slots_lease(keep, launch.nkeep, nullptr);
    // launch.clone_flags and cgroup_fd: born in a new pid namespace or in a cgroup, as clone_vm.
    int err = launch_helper(exec_fd, path, stub_argv(launch, keep), keep, launch.nkeep, launch.clone_flags, out, msg,
                            launch.cgroup_fd);
    fd_slots_release(lease);
    return err;
}

} // namespace

int start_exec_stub(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    std::string path;
    if (int err = helper_path(path, msg))
        return err;
    return start_helper_stub(-1, path, launch, out, msg);
}

int start_safeexec(const StubLaunch &launch, StubProcess &out, std::string &msg) {
    int fd = helper_memfd(msg);
    if (fd < 0)
        return fd;
    return start_helper_stub(fd, std::string(), launch, out, msg);
}

} // namespace ep::detail
