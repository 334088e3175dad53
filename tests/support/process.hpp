// SPDX-License-Identifier: MIT
// process.hpp - process-level checks for the tests: descriptor counts, children, zombies, bounded
// waits on pidfds, temporary directories. Header-only; nothing here uses sleep() to synchronize.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "emptyproc/emptyproc.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace ep_test {

inline int sys_pidfd_open(pid_t pid, unsigned flags = 0) {
    return static_cast<int>(syscall(SYS_pidfd_open, pid, flags));
}
inline int sys_pidfd_send_signal(int pidfd, int sig) {
    return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Between ep_open() calls the library keeps, by design, some processes and descriptors: the pool's
// prepared stubs, the zygote, the safeexec memfd and its low descriptor slots (docs/strategies.md).
// The counts below release them first (ep_cache_release), so that what they count is what the
// spawns themselves left behind, on every strategy alike.
inline void release_library_caches() {
    ep_cache_release(0);
}

// Open descriptors of this process (the directory's own descriptor not counted).
inline int fd_count() {
    release_library_caches();
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (dirent *e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

// The open descriptor numbers of this process.
inline std::vector<int> open_fds() {
    release_library_caches();
    std::vector<int> fds;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return fds;
    int self = dirfd(d);
    while (dirent *e = readdir(d))
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            fds.push_back(atoi(e->d_name));
    closedir(d);
    return fds;
}

// True if this process has no child at all, running or zombie (clone children included).
inline bool no_children() {
    release_library_caches();
    siginfo_t info{};
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD;
}

// The state letter of /proc/<pid>/stat ('Z' zombie, 'R', 'S', ...), or 0 if the process is gone.
inline char proc_state(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(f, s))
        return 0;
    size_t paren = s.rfind(')');
    return paren != std::string::npos && paren + 2 < s.size() ? s[paren + 2] : 0;
}

inline std::string proc_comm(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
    std::string s;
    std::getline(f, s);
    return s;
}

// Wait (bounded) until the pidfd reports the process exited. True if it did within timeout_ms.
// One process of the system.
struct ProcEntry {
    pid_t pid;
    pid_t ppid;
    std::string comm;
    char state;
};

// Every process of the system, from /proc/<pid>/stat ("pid (comm) state ppid ..."; the comm is read
// up to the last ')', since it may hold spaces and parentheses).
inline std::vector<ProcEntry> all_processes() {
    std::vector<ProcEntry> found;
    DIR *d = opendir("/proc");
    if (!d)
        return found;
    while (dirent *e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
        std::string s;
        if (!std::getline(f, s))
            continue; // gone meanwhile
        size_t open = s.find('('), close = s.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 4 > s.size())
            continue;
        found.push_back(ProcEntry{static_cast<pid_t>(std::atoi(e->d_name)),
                                  static_cast<pid_t>(std::atol(s.c_str() + close + 4)),
                                  s.substr(open + 1, close - open - 1), s[close + 2]});
    }
    closedir(d);
    return found;
}

// The bound holds under a rain of signals too: an interrupted poll goes on with what is left, not
// with timeout_ms again (a SIGALRM every 50 us made a failed spawn's wait endless).
inline bool wait_exit_ready(int pidfd, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    pollfd p{pidfd, POLLIN, 0};
    int r;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        r = poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
        if (!(r < 0 && errno == EINTR))
            break;
    }
    return r == 1 && (p.revents & POLLIN);
}

// How a process ended, from waitid(); code 0 if it could not be had.
struct Exit {
    int code = 0; // CLD_EXITED, CLD_KILLED, CLD_DUMPED
    int status = -1;
    bool exited(int st) const { return code == CLD_EXITED && status == st; }
    bool killed(int sig) const { return (code == CLD_KILLED || code == CLD_DUMPED) && status == sig; }
};

inline std::string describe(const Exit &e) {
    switch (e.code) {
    case CLD_EXITED:
        return "exited " + std::to_string(e.status);
    case CLD_KILLED:
    case CLD_DUMPED:
        return std::string("killed by ") + (sigabbrev_np(e.status) ? sigabbrev_np(e.status) : "?");
    default:
        return "not waited (" + std::to_string(e.code) + ")";
    }
}

// waitid(P_PIDFD) after a bounded poll. nowait keeps the process waitable (for ep_close to reap).
inline Exit wait_pidfd(int pidfd, bool nowait = false, int timeout_ms = 10000) {
    Exit e;
    if (!wait_exit_ready(pidfd, timeout_ms))
        return e;
    siginfo_t info{};
    int flags = WEXITED | __WALL | (nowait ? WNOWAIT : 0);
    int r;
    do
        r = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, flags);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        e.code = info.si_code;
        e.status = info.si_status;
    }
    return e;
}

// Wait (bounded) for a process that may not be our child to disappear from /proc or be a zombie
// nobody reaps; returns true once it has exited (pidfd readable) or is gone.
inline bool wait_gone(pid_t pid, int timeout_ms = 5000) {
    int pfd = sys_pidfd_open(pid);
    if (pfd < 0)
        return errno == ESRCH;
    bool done = wait_exit_ready(pfd, timeout_ms);
    close(pfd);
    return done;
}

// A temporary directory, removed (recursively) at the end of the scope.
class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/ep-test-XXXXXX";
        if (char *p = mkdtemp(tmpl))
            path_ = p;
    }
    ~TempDir() {
        if (!path_.empty()) {
            std::error_code ec; // never throws; a leftover directory in /tmp is not a test failure
            std::filesystem::remove_all(path_, ec);
        }
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string operator/(const std::string &rel) const { return path_ + "/" + rel; }

    // Create a file with the given content and mode; returns its path.
    std::string file(const std::string &rel, const std::string &content, mode_t mode = 0644) const {
        std::string p = *this / rel;
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd >= 0) {
            if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
                std::fprintf(stderr, "short write to %s\n", p.c_str());
            fchmod(fd, mode);
            ::close(fd);
        }
        return p;
    }
    std::string dir(const std::string &rel, mode_t mode = 0755) const {
        std::string p = *this / rel;
        mkdir(p.c_str(), mode);
        chmod(p.c_str(), mode);
        return p;
    }

  private:
    std::string path_;
};

inline std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::string dir_of(const std::string &path) {
    return path.substr(0, path.rfind('/'));
}

// RAII descriptor for the tests' own fds.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd &&o) noexcept : fd_(o.release()) {}
    Fd &operator=(Fd &&o) noexcept {
        reset(o.release());
        return *this;
    }
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

} // namespace ep_test
