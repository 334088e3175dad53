// SPDX-License-Identifier: MIT
// handle.hpp - the library's state for one empty process: its stub, its stream and its log.
//
// Internal functions return 0 or -errno; the C ABI (abi.cpp) turns that into -1/errno once.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "../keys/keys.hpp"
#include "emptyproc/emptyproc.h"
#include "../proto/encode.hpp"
#include "../strategy/strategy.hpp"
#include "../transport/transport.hpp"
#include "log.hpp"

namespace ep::detail {

// What the stream said so far that the ordering rules (docs/semantics.md) depend on.
struct OrderState {
    bool uid = false;
    bool groups = false;
    bool cwd = false;
    bool setsid = false;
    bool pgid = false;
    bool exec_target = false;
    // sandbox keys (issue 7)
    bool gid = false;
    bool namespaces = false; // an unshare of anything but user, or a setns, came
    bool userns = false;     // unshare user came
    bool uts = false;        // a new (unshare) or joined (setns) UTS namespace
    bool mntns = false;      // a new or joined mount namespace
    bool cgroupns = false;   // unshare cgroup came
    bool seccomp = false;    // from here on, only seccomp, argv, env, exec and sigmask
    bool keep_caps = false;
    bool keep_caps_at_uid = false; // keep_caps came before the uid change
    bool cap_ambient = false;
    bool pdeathsig = false;
};

class Handle {
  public:
    enum class State {
        Configuring, // ops may be added
        Failed,      // batched mode: an op failed, the stub is dead or dying
        Execd,       // the target runs
        Dead,        // the stub died without our doing
    };

    Handle(StubProcess stub, std::unique_ptr<Channel> chan, bool sync);
    ~Handle(); // kills and reaps a stub that has not exec'd

    int pidfd() const { return stub_.pidfd.get(); }
    pid_t pid() const { return stub_.pid; }
    ino_t ino() const { return ino_; }
    Log &log() { return log_; }

    int init(std::string &msg); // after construction: remembers the pidfd's identity
    // Whether ep_config(cmd) may touch the pidfd: an exec, anything in sync mode, or a batched op
    // that may have to send a full frame (waiting on the pidfd if the stub is slow to drain).
    bool uses_pidfd(unsigned cmd) const { return cmd == EP_CONFIG_CMD_EXEC || sync_ || pending_.nearly_full(); }
    int config(unsigned cmd, const char *key, const void *value, int aux);
    // A pooled stub (strategy/pool.cpp): queue a chdir to fs.cwd and the umask fs.umask as the
    // first records of the stream, so that the stub starts from the caller's as of ep_open().
    void set_fs_first(FsAtOpen fs);
    int release_pidfd(); // ep_close(): end the stream, kill if needed, return the pidfd to close
    // The caller closed the pidfd behind our back: its number may now be another file, so use the
    // pid (still ours: an unreaped child's pid is not reused) to kill and reap an unexec'd stub.
    void abandon();

  private:
    int set(unsigned cmd, const char *key, const void *value, int aux, const std::string &name);
    int check_configurable(const std::string &name);
    int exec();
    int check_order(KeyId id, const Record &r, std::string &msg) const;
    void note_order(KeyId id);
    int check_sandbox_order(KeyId id, const Record &r, std::string &msg) const;
    void note_sandbox_order(KeyId id, const Record &r);
    int queue(uint32_t index, const Record &r);
    int flush();
    int await_verdicts(uint32_t until_index);
    int await_exec(const UniqueFd &exec_pipe);
    int verdict_failure(const ep_wire_verdict &v);
    int fail(int err, const std::string &prefix, const std::string &text);
    void kill_and_reap();

    StubProcess stub_;
    std::unique_ptr<Channel> chan_;
    bool sync_;
    State state_ = State::Configuring;
    int failed_err_ = 0;
    ino_t ino_ = 0;
    Log log_;
    OrderState order_;
    std::vector<std::string> keys_; // record index -> the key it came from, for messages
    std::string default_argv0_;
    FrameBuilder pending_;
};

} // namespace ep::detail
