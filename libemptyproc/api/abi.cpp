// SPDX-License-Identifier: MIT
// abi.cpp - the C ABI (emptyproc.h). The only place that sets errno; everything below returns -errno.
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "emptyproc/emptyproc.h"
#include "handle.hpp"
#include "../stub/stub.h"

namespace ep::detail {
namespace {

// Handles by pidfd number. The pidfd's inode is checked on every call, so that a number the caller
// closed with close(2) and the kernel gave to another file is not mistaken for the handle.
class Registry {
  public:
    void add(std::shared_ptr<Handle> h) {
        std::shared_ptr<Handle> stale;
        {
            std::lock_guard lock(mu_);
            auto &slot = map_[h->pidfd()];
            stale = std::exchange(slot, std::move(h));
        }
        // The number was ours before: the caller closed that pidfd with close(2) and the kernel
        // reused it. The old handle must not touch the number (it is the new stub's now).
        if (stale)
            stale->abandon();
    }
    // verify: check that the number still names our pidfd. Needed wherever the pidfd itself is
    // used (poll, waitid, kill); a batched SET only queues bytes, and skips the fstat.
    std::shared_ptr<Handle> find(int pidfd, bool verify = true) {
        std::shared_ptr<Handle> h;
        {
            std::lock_guard lock(mu_);
            auto it = map_.find(pidfd);
            if (it == map_.end())
                return nullptr;
            h = it->second;
        }
        if (!verify)
            return h;
        struct stat st;
        if (fstat(pidfd, &st) == 0 && st.st_ino == h->ino())
            return h;
        // Stale: the caller closed the pidfd behind our back. Drop the handle, killing and reaping
        // a stub that never exec'd.
        if (remove(pidfd, h))
            h->abandon();
        return nullptr;
    }
    std::shared_ptr<Handle> take(int pidfd) {
        auto h = find(pidfd);
        if (h && !remove(pidfd, h))
            return nullptr; // closed by another thread meanwhile
        return h;
    }

  private:
    bool remove(int pidfd, const std::shared_ptr<Handle> &h) {
        std::lock_guard lock(mu_);
        auto it = map_.find(pidfd);
        if (it == map_.end() || it->second != h)
            return false; // another thread got there first
        map_.erase(it);
        return true;
    }

    std::mutex mu_;
    std::unordered_map<int, std::shared_ptr<Handle>> map_;
};

Registry &registry() {
    static Registry *r = new Registry; // never destroyed: handles may be used during exit
    return *r;
}

thread_local Log open_log; // ep_open() failures, read with ep_log_read(-1, ...)

template <typename T> T set_errno(int negative_err) {
    errno = -negative_err;
    return static_cast<T>(-1);
}

int open_failed(int err, const std::string &prefix, const std::string &msg) {
    open_log.add('e', prefix, msg);
    return set_errno<int>(err);
}

} // namespace
} // namespace ep::detail

using namespace ep::detail;

extern "C" int ep_open(const struct ep_open_how *how, size_t size) {
    ep_open_how h{};
    if (how) {
        if (size < EP_OPEN_HOW_SIZE_VER0)
            return open_failed(-EINVAL, "open", "size " + std::to_string(size) + " is smaller than struct ep_open_how");
        const unsigned char *bytes = reinterpret_cast<const unsigned char *>(how);
        for (size_t i = sizeof h; i < size; i++)
            if (bytes[i])
                return open_failed(-E2BIG, "open", "struct ep_open_how has fields this library does not know");
        std::memcpy(&h, how, std::min(size, sizeof h));
    }
    if (h.flags & ~(EP_OPEN_SYNC | EP_OPEN_CGROUP | EP_OPEN_INHERIT_FDS | EP_OPEN_INHERIT_SIGIGN))
        return open_failed(-EINVAL, "open", "unknown flags in ep_open_how.flags");
    if (h.namespaces & ~static_cast<uint64_t>(CLONE_NEWPID))
        return open_failed(-EINVAL, "namespaces",
                           "only CLONE_NEWPID is made at birth; other namespaces are the \"unshare\" key");
    if (h.reserved)
        return open_failed(-EINVAL, "open", "ep_open_how.reserved must be 0");
    if ((h.flags & EP_OPEN_CGROUP) && fcntl(h.cgroup_fd, F_GETFD) < 0)
        return open_failed(-EBADF, "cgroup", "cgroup_fd " + std::to_string(h.cgroup_fd) + " is not open");
    std::string msg;
    if (int err = check_strategy(h.strategy, msg))
        return open_failed(err, "strategy", msg);

    std::unique_ptr<Channel> chan;
    StubProcess stub;
    FsAtOpen fs; // a pooled stub's cwd and umask, to be sent first
    StubLaunch launch;
    launch.transport = h.transport;
    if (h.flags & EP_OPEN_INHERIT_FDS)
        launch.flags |= EP_STUB_KEEP_CALLER_FDS;
    if (h.flags & EP_OPEN_INHERIT_SIGIGN)
        launch.flags |= EP_STUB_KEEP_SIGIGN;
    launch.clone_flags = h.namespaces;
    launch.cgroup_fd = (h.flags & EP_OPEN_CGROUP) ? h.cgroup_fd : -1;
    const char *step; // what open_stub() or pool_take() failed at
    if (strategy_kind(h.strategy) == EP_STRATEGY_POOL) {
        // A prepared stub comes with its channel (strategy/pool.cpp); it was born before this call,
        // so nothing decided at birth can be asked of it.
        if (int err = check_launch_flags(h.strategy, launch.flags, msg))
            return open_failed(err, "strategy", msg);
        if (int err = check_birth(h.strategy, launch, msg))
            return open_failed(err, "strategy", msg);
        if (int err = pool_take(pool_base(h.strategy), h.transport, chan, stub, fs, msg, step))
            return open_failed(err, step, msg);
    } else {
        if (int err = open_stub(h.strategy, launch, chan, stub, msg, step))
            return open_failed(err, step, msg);
    }
    auto handle = std::make_shared<Handle>(std::move(stub), std::move(chan), (h.flags & EP_OPEN_SYNC) != 0);
    if (int err = handle->init(msg))
        return open_failed(err, "open", msg); // the handle's destructor kills and reaps the stub
    if (fs.cwd)
        handle->set_fs_first(std::move(fs));
    int pidfd = handle->pidfd();
    registry().add(std::move(handle));
    return pidfd;
}

extern "C" int ep_config(int pidfd, unsigned int cmd, const char *key, const void *value, int aux) {
    auto h = registry().find(pidfd, false);
    if (h && h->uses_pidfd(cmd))
        h = registry().find(pidfd);
    if (!h)
        return set_errno<int>(-EBADF);
    int err = h->config(cmd, key, value, aux);
    return err ? set_errno<int>(err) : 0;
}

extern "C" ssize_t ep_log_read(int pidfd, char *buf, size_t size) {
    ssize_t n;
    if (pidfd == -1) {
        n = open_log.read(buf, size);
    } else {
        auto h = registry().find(pidfd);
        if (!h)
            return set_errno<ssize_t>(-EBADF);
        n = h->log().read(buf, size);
    }
    return n < 0 ? set_errno<ssize_t>(static_cast<int>(n)) : n;
}

extern "C" pid_t ep_pid(int pidfd) {
    auto h = registry().find(pidfd);
    if (!h)
        return set_errno<pid_t>(-EBADF);
    return h->pid();
}

extern "C" int ep_close(int pidfd) {
    auto h = registry().take(pidfd);
    if (!h)
        return set_errno<int>(-EBADF);
    int fd = h->release_pidfd();
    if (fd >= 0)
        close(fd);
    return 0;
}

extern "C" int ep_cache_release(unsigned int flags) {
    if (flags)
        return set_errno<int>(-EINVAL);
    release_cached();
    io_uring_release_thread();
    return 0;
}
