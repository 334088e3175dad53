// SPDX-License-Identifier: MIT
// cpp_probe.hpp - helpers of the C++ API tests: run the probe through an ep::Builder, parse what
// it prints.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "emptyproc/emptyproc.hpp"

namespace ep_test {

// What the probe printed, key -> value, plus how it ended.
struct ProbeRun {
    std::map<std::string, std::string> out;
    ep::ExitStatus status;
    std::error_code ec;
    std::string message;

    const std::string &operator[](const std::string &key) const {
        static const std::string missing = "<missing>";
        auto it = out.find(key);
        return it == out.end() ? missing : it->second;
    }
};

inline std::map<std::string, std::string> parse_lines(const std::string &text) {
    std::map<std::string, std::string> kv;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return kv;
}

inline std::string read_all(int fd) {
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        text.append(buf, static_cast<size_t>(n));
    }
    return text;
}

// A Builder whose program is the probe, with a pipe as its stdout (fd 1). Add ops, then run().
class Probe {
  public:
    explicit Probe(ep::Options how = {}) : builder_(how) {
        if (pipe2(pipe_, O_CLOEXEC) < 0)
            ADD_FAILURE() << "pipe2: " << strerror(errno);
        builder_.fd(1, pipe_[1]);
    }
    ~Probe() {
        for (int fd : pipe_)
            if (fd >= 0)
                close(fd);
    }
    Probe(const Probe &) = delete;
    Probe &operator=(const Probe &) = delete;

    ep::Builder &builder() { return builder_; }
    int write_end() const { return pipe_[1]; }

    // Spawns, reads the probe's stdout to EOF, waits. args are the probe's words after argv[0].
    ProbeRun run(std::initializer_list<std::string> words = {"print"}, bool set_exec = true) {
        ep::Builder b = builder_;
        if (set_exec) {
            b.arg("probe");
            for (const auto &w : words)
                b.arg(w);
            b.exec(EP_PROBE_PATH);
        }
        ProbeRun r;
        ep::Child child = b.spawn(r.ec, &r.message);
        close(pipe_[1]);
        pipe_[1] = -1;
        std::string text = read_all(pipe_[0]);
        r.out = parse_lines(text);
        if (child) {
            std::error_code ec;
            r.status = child.wait(ec);
            EXPECT_FALSE(ec) << ec.message();
        }
        return r;
    }

  private:
    int pipe_[2] = {-1, -1};
    ep::Builder builder_;
};

// True when pid is no child of ours any more (reaped, so no zombie) and no process at all.
inline bool gone(pid_t pid) {
    errno = 0;
    bool no_child = waitpid(pid, nullptr, WNOHANG | __WALL) < 0 && errno == ECHILD;
    errno = 0;
    bool no_process = kill(pid, 0) < 0 && errno == ESRCH;
    return no_child && no_process;
}

// The library's caches (pool, zygote, safeexec memfd, descriptor slots) are released first: the
// count is of what spawns left behind (see tests/support/process.hpp).
inline int count_fds() {
    ep_cache_release(0);
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

} // namespace ep_test
