// SPDX-License-Identifier: MIT
// spawn.hpp - drive an empty process through the C ABI and read what the exec'ed probe saw.
//
//   ep_test::Spawn s(GetParam());          // ep_open() with the matrix entry, plus a stdout pipe
//   EXPECT_EQ(s.str("umask", "027"), ep_test::ok());
//   auto out = s.run({"print"});           // fd.1 = the pipe, argv, exec the probe, read, wait
//   EXPECT_EQ(out["umask"], "0027");
//
// Every call returns an Rc {rc, errno} so that a failed expectation prints "-1 (EINVAL)" and errno
// is never read after gtest had a chance to change it.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "emptyproc/emptyproc.h"
#include "matrix.hpp"
#include "process.hpp"

namespace ep_test {

inline constexpr const char *kProbe = EP_PROBE_PATH;

struct Rc {
    long rc;
    int err; // errno when rc == -1, else 0
    bool operator==(const Rc &o) const { return rc == o.rc && err == o.err; }
};
inline Rc ok() {
    return Rc{0, 0};
}
inline Rc fails(int err) {
    return Rc{-1, err};
}
inline Rc rc_of(long r) {
    return Rc{r, r < 0 ? errno : 0};
}

inline std::string errno_name(int err) {
    const char *n = strerrorname_np(err);
    return n ? n : std::to_string(err);
}
inline void PrintTo(const Rc &r, std::ostream *os) {
    *os << r.rc;
    if (r.rc < 0)
        *os << " (" << errno_name(r.err) << ")";
}

// Drain a handle's log (or, with -1, the calling thread's ep_open log).
inline std::vector<std::string> log_messages(int pidfd) {
    std::vector<std::string> msgs;
    char buf[EP_LOG_MSG_MAX];
    for (;;) {
        ssize_t n = ep_log_read(pidfd, buf, sizeof buf);
        if (n < 0)
            break;
        msgs.emplace_back(buf, static_cast<size_t>(n));
    }
    return msgs;
}

inline std::string joined(const std::vector<std::string> &v) {
    std::string s;
    for (const auto &x : v)
        s += (s.empty() ? "" : " | ") + x;
    return s;
}

// True if some message starts with prefix (and contains `contains`, if given).
inline bool has_message(const std::vector<std::string> &log, const std::string &prefix,
                        const std::string &contains = "") {
    for (const auto &m : log)
        if (m.rfind(prefix, 0) == 0 && m.find(contains) != std::string::npos)
            return true;
    return false;
}

// An fd.<N> line of the probe: "<target> flags=<octal> cloexec=<0|1>".
struct FdLine {
    std::string target;
    int flags = -1;
    int cloexec = -1;
};
inline FdLine parse_fd_line(const std::string &v) {
    FdLine l;
    size_t f = v.rfind(" flags=");
    size_t c = v.rfind(" cloexec=");
    if (f == std::string::npos || c == std::string::npos || c < f)
        return l;
    l.target = v.substr(0, f);
    l.flags = static_cast<int>(std::strtol(v.c_str() + f + 7, nullptr, 8));
    l.cloexec = std::atoi(v.c_str() + c + 9);
    return l;
}

inline uint64_t hex_mask(const std::string &v) {
    return std::strtoull(v.c_str(), nullptr, 16);
}
inline uint64_t sigbit(int sig) {
    return 1ull << (sig - 1);
}

// What the exec'ed program printed, and how the run ended.
struct Output {
    Rc exec{-2, 0};                        // CMD_EXEC's result
    std::map<std::string, std::string> kv; // key=value lines (the last one wins)
    std::vector<std::string> lines;
    std::string raw;
    Exit exit;                    // after a successful exec: reaped; after a batched failure: WNOWAIT
    std::vector<std::string> log; // the handle's log after CMD_EXEC
    pid_t pid = -1;               // ep_pid() before the exec

    std::string operator[](const std::string &k) const {
        auto it = kv.find(k);
        return it == kv.end() ? std::string("<missing ") + k + ">" : it->second;
    }
    bool has(const std::string &k) const { return kv.count(k) != 0; }
};

// An empty process opened with one matrix entry; ep_close()d at the end of the scope.
class Empty {
  public:
    explicit Empty(const Matrix &m) : Empty(m, m.how()) {}
    // With an ep_open_how beyond the matrix entry's (namespaces, cgroup at birth).
    Empty(const Matrix &m, ep_open_how h) : m_(m) {
        fd_ = ep_open(&h, sizeof h);
        open_err_ = fd_ < 0 ? errno : 0;
        pid_ = fd_ >= 0 ? ep_pid(fd_) : -1;
    }
    ~Empty() { close(); }
    Empty(const Empty &) = delete;
    Empty &operator=(const Empty &) = delete;

    bool opened() const { return fd_ >= 0; }
    int open_errno() const { return open_err_; }
    int fd() const { return fd_; }
    pid_t pid() const { return pid_; }
    bool sync() const { return m_.sync; }
    const Matrix &matrix_entry() const { return m_; }

    Rc close() {
        if (fd_ < 0)
            return ok();
        Rc r = rc_of(ep_close(fd_));
        fd_ = -1;
        return r;
    }
    Rc config(unsigned cmd, const char *key, const void *value, int aux) {
        return rc_of(ep_config(fd_, cmd, key, value, aux));
    }
    Rc flag(const char *key) { return config(EP_CONFIG_SET_FLAG, key, nullptr, 0); }
    Rc str(const char *key, const std::string &v) { return config(EP_CONFIG_SET_STRING, key, v.c_str(), 0); }
    Rc bin(const char *key, const void *v, int len) { return config(EP_CONFIG_SET_BINARY, key, v, len); }
    Rc path(const char *key, const std::string &p, int dirfd = AT_FDCWD) {
        return config(EP_CONFIG_SET_PATH, key, p.c_str(), dirfd);
    }
    Rc path_empty(const char *key, const std::string &p, int dirfd) {
        return config(EP_CONFIG_SET_PATH_EMPTY, key, p.c_str(), dirfd);
    }
    Rc pass(const char *key, int caller_fd) { return config(EP_CONFIG_SET_FD, key, nullptr, caller_fd); }
    Rc pass(const std::string &key, int caller_fd) { return pass(key.c_str(), caller_fd); }
    Rc exec() { return config(EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0); }
    std::vector<std::string> log() const { return log_messages(fd_); }

  protected:
    Matrix m_;
    int fd_ = -1;
    int open_err_ = 0;
    pid_t pid_ = -1;
};

// An Empty with a pipe for the probe's stdout, and the steps of a probe run.
class Spawn : public Empty {
  public:
    explicit Spawn(const Matrix &m) : Spawn(m, m.how()) {}
    Spawn(const Matrix &m, const ep_open_how &h) : Empty(m, h) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) == 0) {
            out_r_.reset(p[0]);
            out_w_.reset(p[1]);
        }
    }

    int out_w() const { return out_w_.get(); }

    // The pipe's write end becomes the child's fd `n` (1 by default).
    Rc stdout_to_pipe(int n = 1) { return pass("fd." + std::to_string(n), out_w_.get()); }
    // argv: argv0, then the probe's words.
    Rc args(const std::vector<std::string> &words, const std::string &argv0 = "probe") {
        Rc r = str("argv", argv0);
        for (const auto &w : words)
            if (r == ok())
                r = str("argv", w);
        return r;
    }
    Rc exec_probe() { return path("exec", kProbe); }

    // CMD_EXEC, then collect: on success everything the program wrote until EOF and its exit
    // (reaped through the pidfd); on failure the handle's log, what arrived on the pipe (must be
    // nothing), and in batched mode the stub's end (left waitable for ep_close()).
    Output finish(int timeout_ms = 10000) {
        Output o;
        o.pid = pid_;
        o.exec = exec();
        o.log = log();
        out_w_.reset(); // the child has its own copy (or had, and then it is gone)
        if (o.exec == ok()) {
            read_all(o, timeout_ms);
            o.exit = wait_pidfd(fd_, false, timeout_ms);
        } else {
            if (!sync())
                o.exit = wait_pidfd(fd_, true, timeout_ms);
            drain_now(o);
        }
        return o;
    }

    // The usual run: stdout on the pipe, argv "probe" + words, exec the probe by path.
    Output run(const std::vector<std::string> &words = {"print"}) {
        Rc r = stdout_to_pipe();
        if (r == ok())
            r = args(words);
        if (r == ok())
            r = exec_probe();
        if (!(r == ok())) {
            Output o;
            o.exec = r;
            o.log = log();
            return o;
        }
        return finish();
    }

  private:
    void add(Output &o, const char *buf, size_t n) { o.raw.append(buf, n); }
    void split(Output &o) {
        size_t start = 0;
        while (start < o.raw.size()) {
            size_t nl = o.raw.find('\n', start);
            std::string line = o.raw.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
            o.lines.push_back(line);
            size_t eq = line.find('=');
            if (eq != std::string::npos)
                o.kv[line.substr(0, eq)] = line.substr(eq + 1);
            if (nl == std::string::npos)
                break;
            start = nl + 1;
        }
    }
    void read_all(Output &o, int timeout_ms) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        char buf[65536];
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                break; // a test that hangs here fails on the missing keys, not on a timeout
            pollfd p{out_r_.get(), POLLIN, 0};
            int r = poll(&p, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            ssize_t n = ::read(out_r_.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            add(o, buf, static_cast<size_t>(n));
        }
        split(o);
    }
    void drain_now(Output &o) {
        char buf[4096];
        for (;;) {
            pollfd p{out_r_.get(), POLLIN, 0};
            if (poll(&p, 1, 0) != 1)
                break;
            ssize_t n = ::read(out_r_.get(), buf, sizeof buf);
            if (n <= 0)
                break;
            add(o, buf, static_cast<size_t>(n));
        }
        split(o);
    }

    Fd out_r_, out_w_;
};

} // namespace ep_test
