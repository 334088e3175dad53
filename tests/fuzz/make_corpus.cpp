// SPDX-License-Identifier: MIT
// make_corpus.cpp - writes the seed corpus of the fuzz targets (run once; its output is committed):
//   make_corpus <tests/fuzz/corpus>
// Decoder seeds are frames built by the caller's real encoder (FrameBuilder), so that the fuzzer
// starts from the exact layout the stub receives; config seeds are ordinary ep_config() calls in
// config_fuzz.cpp's input layout. Every seed covers a different record shape or command.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "emptyproc/emptyproc.h"
#include "proto/encode.hpp"
#include "proto/wire.h"

namespace {

using ep::detail::FrameBuilder;
using ep::detail::Record;
using ep::detail::UniqueFd;

Record rec(uint16_t op, int64_t a = 0, int64_t b = 0, int32_t c = 0, std::string payload = {}, bool fd = false) {
    Record r;
    r.op = op;
    r.a = a;
    r.b = b;
    r.c = c;
    r.payload = std::move(payload);
    r.caller_fd = fd ? 0 : -1;
    return r;
}

std::string s(const std::string &v) {
    return std::string(v.data(), v.size() + 1); // strings travel with their NUL
}

void write(const std::string &path, const std::string &bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// decode_fuzz input: one byte of nfds, then the frame.
void frame(const std::string &dir, const std::string &name, const std::vector<Record> &recs, uint16_t flags = 0) {
    FrameBuilder fb;
    uint32_t index = 0;
    for (const auto &r : recs)
        fb.add(index++, r, r.caller_fd >= 0 ? UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC)) : UniqueFd());
    const auto &bytes = fb.finish(flags);
    write(dir + "/" + name, std::string(1, static_cast<char>(fb.fds().size())) +
                                std::string(reinterpret_cast<const char *>(bytes.data()), bytes.size()));
}

// config_fuzz input: cmd, aux selector, flags, key, NUL, value.
void call(const std::string &dir, const std::string &name, unsigned cmd, unsigned aux, const std::string &key,
          const std::string &value, unsigned flags = 0) {
    std::string b{static_cast<char>(cmd), static_cast<char>(aux), static_cast<char>(flags)};
    write(dir + "/" + name, b + key + std::string(1, '\0') + value);
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus <corpus dir>\n");
        return 2;
    }
    const std::string d = std::string(argv[1]) + "/decode", c = std::string(argv[1]) + "/config";

    frame(d, "empty", {});
    frame(d, "sync_cwd_env_argv",
          {rec(EP_OP_CHDIR, 0, 0, 0, s("/tmp")), rec(EP_OP_ENV, 0, 0, 0, s("PATH=/bin")),
           rec(EP_OP_ARGV, 0, 0, 0, s("ls")), rec(EP_OP_ARGV, 0, 0, 0, s(""))},
          EP_FRAME_SYNC);
    frame(d, "fd_dup_fchdir", {rec(EP_OP_FD_DUP, 1, 0, 0, {}, true), rec(EP_OP_CHDIR, 0, 0, 0, s(""), true)});
    const uint32_t gids[] = {1, 2, 65534};
    frame(d, "creds",
          {rec(EP_OP_SETGROUPS, 3, 0, 0, std::string(reinterpret_cast<const char *>(gids), sizeof gids)),
           rec(EP_OP_SETGID, 65534), rec(EP_OP_SETUID, 65534, 0, EP_SETUID_CLEAR_GROUPS)});
    frame(d, "attrs",
          {rec(EP_OP_OPEN, 3, O_WRONLY | O_CREAT, 0644, s("/tmp/x")), rec(EP_OP_RLIMIT, 64, 128, 7),
           rec(EP_OP_RLIMIT, -1, -1, 3), rec(EP_OP_SIGMASK, 0x4002), rec(EP_OP_SIGDEFAULT, 2),
           rec(EP_OP_SIGIGNORE, 1 << 12), rec(EP_OP_UMASK, 027), rec(EP_OP_SETSID), rec(EP_OP_SETPGID, 0),
           rec(EP_OP_CLOSE, 5), rec(EP_OP_CLOSEFROM, 3), rec(EP_OP_CHROOT, 0, 0, 0, s("/"))});
    frame(d, "exec_search",
          {rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_SEARCH, s("true")), rec(EP_OP_EXEC, 0, 0, 0, s("true"), true)});
    frame(d, "exec_fd",
          {rec(EP_OP_FD_DUP, 0, 0, 0, {}, true), rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_FD, s(""), true),
           rec(EP_OP_EXEC, 0, 0, 0, s("prog"), true)},
          EP_FRAME_SYNC);
    frame(d, "posix_spawn_ops",
          {rec(EP_OP_SCHED, 1, 10), rec(EP_OP_SCHEDPARAM, 0), rec(EP_OP_TCSETPGRP, 0), rec(EP_OP_DUP, 1, 9),
           rec(EP_OP_FCHDIR, 3), rec(EP_OP_RESETIDS), rec(EP_OP_SEARCH_PATH, 0, 0, 0, s("/usr/bin:/bin"))});

    call(c, "cwd", EP_CONFIG_SET_STRING, 0, "cwd", "/tmp");
    call(c, "cwd_fd", EP_CONFIG_SET_FD, 3, "cwd", "", 2);
    call(c, "fd", EP_CONFIG_SET_FD, 2, "fd.1", "", 2);
    call(c, "open", EP_CONFIG_SET_STRING, 0, "open.1:wronly,creat,trunc:0644", "/tmp/out");
    call(c, "open_at", EP_CONFIG_SET_PATH, 3, "open.0", "etc/passwd");
    call(c, "close", EP_CONFIG_SET_FLAG, 0, "close.5", "", 2);
    call(c, "closefrom", EP_CONFIG_SET_STRING, 0, "closefrom", "3");
    call(c, "rlimit", EP_CONFIG_SET_STRING, 0, "rlimit.nofile", "64:128");
    call(c, "groups", EP_CONFIG_SET_STRING, 0, "groups", "1,2,root");
    call(c, "uid", EP_CONFIG_SET_STRING, 0, "uid", "nobody", 4);
    call(c, "gid", EP_CONFIG_SET_STRING, 0, "gid", "65534");
    call(c, "sigmask_bin", EP_CONFIG_SET_BINARY, 6, "sigmask", std::string("\x02\x40\0\0\0\0\0\0", 8));
    call(c, "sigdefault", EP_CONFIG_SET_STRING, 0, "sigdefault", "INT,TERM,SIGRTMIN+3");
    call(c, "umask", EP_CONFIG_SET_STRING, 0, "umask", "027");
    call(c, "setsid", EP_CONFIG_SET_FLAG, 0, "setsid", "", 2);
    call(c, "env", EP_CONFIG_SET_STRING, 0, "env", "PATH=/usr/bin:/bin");
    call(c, "exec_path", EP_CONFIG_SET_PATH, 1, "exec", "/bin/true");
    call(c, "exec_empty", EP_CONFIG_SET_PATH_EMPTY, 2, "exec", "");
    call(c, "exec_search", EP_CONFIG_SET_STRING, 0, "exec", "ls");
    call(c, "sched", EP_CONFIG_SET_STRING, 0, "sched", "fifo:10");
    call(c, "dup", EP_CONFIG_SET_STRING, 0, "dup.1", "9");
    call(c, "execpath", EP_CONFIG_SET_STRING, 0, "execpath", "/usr/bin:/bin");
    call(c, "resetids", EP_CONFIG_SET_FLAG, 0, "resetids", "", 2);
    return 0;
}
