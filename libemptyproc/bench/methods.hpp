// SPDX-License-Identifier: MIT
// methods.hpp - the process-creation methods the benchmark compares, behind one interface.
//
// A Method spawns the target once and reaps it. Each method is one small function (methods.cpp,
// methods_safeexec.cpp, methods_emptyproc.cpp, methods_floor.cpp); the harness times them,
// interleaved, and knows nothing of how any of them works.
#ifndef EMPTYPROC_BENCH_METHODS_HPP
#define EMPTYPROC_BENCH_METHODS_HPP

#include <spawn.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "emptyproc/emptyproc.h"

namespace ep::bench {

// The program every method execs. The static one reports its start time on fd 3.
struct Target {
    std::string kind; // "static" or "dynamic": the row's `target`
    std::string path;
    bool reports_start = false;
};

// The child that an exec-floor spawn tells to exec: created untimed by Method::prepare.
struct FloorHelper {
    int pidfd = -1;
    int go_write = -1;    // one byte here and the helper execs
    int go_read = -1;     // the helper's end, read by it once at its start
    int ready_write = -1; // the helper says it is about to wait
};

// Everything one thread needs to spawn: the target, the result pipe, stacks for CLONE_VM children.
// One per thread, so that the 2-thread throughput runs share nothing.
class SpawnContext {
  public:
    SpawnContext(const Target &target, int ops);
    ~SpawnContext();
    SpawnContext(const SpawnContext &) = delete;
    SpawnContext &operator=(const SpawnContext &) = delete;

    const Target &target;
    const int ops;                // extra configuration ops per spawn (what each method gets: methods.cpp)
    int result_read = -1;         // non-blocking; the target's start time arrives here
    int result_write = -1;        // becomes the target's fd 3; CLOEXEC and >= 10 here, so dup3 always applies
    char *argv[2] = {};           // {target path, NULL}
    char *envp[1] = {};           // every method passes an empty environment (emptyproc's default)
    void *vfork_stack = nullptr;  // clone_pidfd's child runs here until it execs
    void *helper_stack = nullptr; // the exec floor's helper runs here until it execs
    static constexpr size_t kStackSize = 64 * 1024;
    FloorHelper floor;
    std::vector<std::pair<std::string, std::string>> ep_ops; // emptyproc's extra SET_STRING ops
    std::string error; // why the last spawn failed, when the errno alone does not say
};

// What one spawn measured, in nanoseconds from the caller's timestamp just before the spawn call.
struct Sample {
    int64_t first_ns = -1; // the target's own timestamp at its entry; -1 if it reports none
    int64_t reap_ns = 0;   // until waitid/waitpid returned
};

struct Method;
using SpawnFn = int (*)(const Method &, SpawnContext &, Sample &); // 0, or -errno
using PrepareFn = int (*)(const Method &, SpawnContext &);         // untimed set-up before a spawn

struct Method {
    std::string name;      // "fork+execve", "posix_spawn", "emptyproc", ...
    std::string strategy;  // how the child comes to exist
    std::string transport; // how its configuration reaches it
    std::string mode;      // "oneshot", or emptyproc's "batched" / "sync"
    SpawnFn spawn_and_reap = nullptr;
    PrepareFn prepare = nullptr; // only for methods whose process exists before the timed part
    bool throughput = true;      // false where a loop of spawns would time the untimed set-up too
    ep_open_how how{};           // emptyproc rows only

    std::string label() const; // name, plus strategy/transport/mode where they tell rows apart
};

// Every method this build and this kernel can run, in report order. Unavailable emptyproc
// combinations are probed with ep_open() and listed in `skipped` with the reason.
std::vector<Method> all_methods(std::vector<std::string> &skipped);

// The individual families (methods.cpp, methods_safeexec.cpp, methods_emptyproc.cpp, methods_floor.cpp).
std::vector<Method> classic_methods();
// Empty, with the reason in `skipped`, if the helper is not found or memfds cannot be executed here.
std::vector<Method> safeexec_methods(std::vector<std::string> &skipped);
std::vector<Method> emptyproc_methods(std::vector<std::string> &skipped);
// ep_posix_spawn: glibc's posix_spawn interface on the builder (methods_posix_spawn.cpp).
std::vector<Method> posix_spawn_layer_methods();
Method exec_floor_method();

// Shared by the spawn functions: monotonic nanoseconds, and finishing a sample after the reap.
int64_t now_ns();
// Reads the target's timestamp (if any) and checks that it exited 0 (-ENOEXEC-like errors otherwise).
int finish_sample(SpawnContext &ctx, int64_t t0, int wait_status, Sample &s);
// pipe2(O_CLOEXEC | flags) with both ends moved to >= 10, clear of the target's fd 3. 0 or -errno.
int pipe_above_3(int fds[2], int flags = 0);
// waitpid(pid), retried on EINTR. 0 or -errno.
int reap_pid(pid_t pid, int &wait_status);

// One sample of a posix_spawn-shaped call (glibc's or ep_posix_spawn): the target's result pipe on
// fd 3 by 1 + ctx.ops adddup2 actions, spawn, reap.
using PosixSpawnFn = int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                             char *const[], char *const[]);
int sample_posix_spawn_call(PosixSpawnFn spawn, SpawnContext &ctx, Sample &s);
// waitid(P_PIDFD, WEXITED), with the result as a waitpid() status. 0 or -errno.
int wait_pidfd(int pidfd, int &wait_status);

} // namespace ep::bench

#endif
