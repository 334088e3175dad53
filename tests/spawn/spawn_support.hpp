// SPDX-License-Identifier: MIT
// spawn_support.hpp - run glibc's posix_spawn and ep_posix_spawn side by side on the probe.
//
//   Capture cap;                       // a pipe; the probe's stdout
//   Actions fa(cap);                   // file actions, starting with adddup2(pipe, 1)
//   posix_spawn_file_actions_addclose(fa.get(), 50);
//   Result r = run(GetParam(), kProbe, fa, nullptr, {"probe", "print"});
//   EXPECT_EQ(r.err, 0); EXPECT_EQ(r["fds"], "0,1,2");
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "emptyproc/spawn.h"
#include "process.hpp"

extern char **environ;

namespace ep_test {

inline constexpr const char *kSpawnProbe = EP_PROBE_PATH;

using SpawnFn = int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                        char *const[], char *const[]);

// The two implementations every behaviour is checked on.
struct Impl {
    const char *name;
    SpawnFn spawn;
    SpawnFn spawnp;
};
inline const Impl kImpls[] = {
    {"glibc", ::posix_spawn, ::posix_spawnp},
    {"emptyproc", ep_posix_spawn, ep_posix_spawnp},
};
inline std::ostream &operator<<(std::ostream &os, const Impl &i) {
    return os << i.name;
}
struct ImplName {
    template <typename Info> std::string operator()(const Info &info) const { return info.param.name; }
};

// A pipe whose write end becomes the probe's stdout.
class Capture {
  public:
    Capture() {
        int p[2];
        if (pipe2(p, O_CLOEXEC) == 0) {
            r_ = Fd(p[0]);
            w_ = Fd(p[1]);
        }
    }
    int w() const { return w_.get(); }
    std::string drain() {
        w_.reset();
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(r_.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0)
                out.append(buf, static_cast<size_t>(n));
        return out;
    }

  private:
    Fd r_, w_;
};

class Actions {
  public:
    Actions() { posix_spawn_file_actions_init(&fa_); }
    explicit Actions(const Capture &cap) : Actions() { posix_spawn_file_actions_adddup2(&fa_, cap.w(), 1); }
    ~Actions() { posix_spawn_file_actions_destroy(&fa_); }
    Actions(const Actions &) = delete;
    Actions &operator=(const Actions &) = delete;
    posix_spawn_file_actions_t *get() { return &fa_; }

  private:
    posix_spawn_file_actions_t fa_;
};

class Attr {
  public:
    Attr() { posix_spawnattr_init(&a_); }
    ~Attr() { posix_spawnattr_destroy(&a_); }
    Attr(const Attr &) = delete;
    Attr &operator=(const Attr &) = delete;
    posix_spawnattr_t *get() { return &a_; }
    short flags() {
        short f = 0;
        posix_spawnattr_getflags(&a_, &f);
        return f;
    }
    void add_flags(short f) { posix_spawnattr_setflags(&a_, static_cast<short>(flags() | f)); }

  private:
    posix_spawnattr_t a_;
};

struct Result {
    int err = -1;        // the spawn function's return value
    int errno_after = 0; // errno after the call (must be what it was before)
    pid_t pid = -1;
    Exit exit;
    std::map<std::string, std::string> kv;
    std::string raw;
    std::string operator[](const std::string &k) const {
        auto it = kv.find(k);
        return it == kv.end() ? "<missing " + k + ">" : it->second;
    }
    bool has(const std::string &k) const { return kv.count(k) != 0; }
};

inline void parse_lines(Result &r) {
    size_t pos = 0;
    while (pos < r.raw.size()) {
        size_t nl = r.raw.find('\n', pos);
        std::string line = r.raw.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? r.raw.size() : nl + 1;
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            r.kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
}

inline std::vector<char *> cvec(std::vector<std::string> &v) {
    std::vector<char *> out;
    for (auto &s : v)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

inline Exit wait_child(pid_t pid) {
    Exit e;
    siginfo_t info{};
    int r;
    do
        r = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        e.code = info.si_code;
        e.status = info.si_status;
    }
    return e;
}

// Spawn with fn (posix_spawn-shaped), read the probe's stdout from cap until EOF, reap the child.
inline Result run_with(SpawnFn fn, Capture &cap, const char *path, Actions &fa, Attr *attr,
                       std::vector<std::string> args, std::vector<std::string> env = {"EP_TEST=1"}) {
    Result r;
    auto argv = cvec(args);
    auto envp = cvec(env);
    errno = 4242;
    r.err = fn(&r.pid, path, fa.get(), attr ? attr->get() : nullptr, argv.data(), envp.data());
    r.errno_after = errno;
    r.raw = cap.drain();
    parse_lines(r);
    if (r.err == 0)
        r.exit = wait_child(r.pid);
    return r;
}

// The file an "fd.<N>" line of the probe points to ("<target> flags=... cloexec=...").
inline std::string parse_fd_target(const std::string &v) {
    size_t f = v.rfind(" flags=");
    return f == std::string::npos ? "<bad fd line: " + v + ">" : v.substr(0, f);
}

inline std::string spawn_errno_name(int err) {
    const char *n = strerrorname_np(err);
    return n ? n : std::to_string(err);
}

} // namespace ep_test
