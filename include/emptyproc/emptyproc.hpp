// SPDX-License-Identifier: MIT
//
// emptyproc.hpp - the C++ API: a typed builder, an owner for an open empty process, a Child handle.
//
// SYNOPSIS
//     #include <emptyproc/emptyproc.hpp>
//
//     int out[2];
//     pipe2(out, O_CLOEXEC);
//     std::error_code ec;
//     std::string log;
//     ep::Child child = ep::Builder()
//                           .fd(1, out[1])              // our pipe becomes its stdout
//                           .fd(2, STDERR_FILENO)
//                           .cwd("/tmp")
//                           .rlimit(RLIMIT_NOFILE, 256, 256)
//                           .umask(027)
//                           .env("PATH", "/usr/bin:/bin")
//                           .args({"ls", "-l"})
//                           .exec_search("ls")
//                           .spawn(ec, &log);         // or .spawn(), which throws ep::spawn_error
//     close(out[1]);                                  // the library holds its own copy
//     if (ec) {
//         fprintf(stderr, "%s\n", log.c_str());       // "e cwd: ENOENT (No such file or directory)"
//         return;                                     // no process was left behind
//     }
//     ... read out[0] ...
//     ep::ExitStatus st = child.wait();               // st.exited(), st.code(), st.shell_code()
//
// DESCRIPTION
//     A header-only RAII layer over the C ABI of emptyproc.h. Three classes, from high to low level:
//
//     ep::Builder       A value that records operations (the keys of docs/keys.md) through typed,
//                       chainable methods, in the order they are called. spawn() opens an empty
//                       process, replays the operations with ep_config(), execs it and returns a
//                       Child. A Builder is not consumed: it can spawn again.
//     ep::EmptyProcess  Owns one open handle (ep_open()). For callers that want the fsconfig-style
//                       dialogue themselves: config(), exec(), log(), then release() a Child.
//     ep::Child         Owns the pidfd of a program that runs: pid(), pidfd(), wait(), try_wait(),
//                       signal(), detach().
//
//     The empty process starts with no file descriptors at all (not even 0, 1, 2), an empty signal
//     mask, default dispositions and an empty environment (docs/semantics.md). Give it what it
//     needs: fd(0, 0) / inherit_stdio(), env() / inherit_environment(), ...
//
// OWNERSHIP AND LIFETIME (nothing leaks)
//     - ~EmptyProcess() of a process that did not exec ep_close()s it: the library SIGKILLs and
//       reaps the stub, and the target never runs. If it exec'd but was not release()d, it behaves
//       like ~Child() below.
//     - ~Child() of a program that is still running, and that was neither waited for nor
//       detach()ed, SIGKILLs it and reaps it (boost.process v2's terminate-if-running rule): a
//       Child going out of scope never leaves a process or a zombie behind. wait() first to let it
//       finish; detach() to let it outlive the Child.
//     - All three types are movable; EmptyProcess and Child are move-only. A moved-from object is
//       empty and its destructor does nothing.
//     - Descriptors given to the Builder (fd(), cwd_fd(), exec_fd(), open_at()) are BORROWED: the
//       Builder stores the number only, so the descriptor must stay open until spawn() returns. The
//       library dups what it needs during ep_config(), so the caller may close it right after.
//
// ERRORS
//     Two forms of each fallible call, as in boost.process v2:
//       - an overload taking std::error_code& (and, for spawn(), an optional std::string* for the
//         log text). It is noexcept: failures, allocation failure included, come back in the code.
//       - an overload without it, which throws ep::spawn_error (a std::system_error) carrying an
//         ep::Error: code() is the errno as std::system_category(), error().message the log text.
//     The log text is what ep_log_read() returned for the failure, one message per line, each
//     "e <key>: <what went wrong>", for example "e cwd: ENOENT (No such file or directory)" or
//     "e gid: gid must come before uid: setgid needs CAP_SETGID, which the uid change gives up".
//     Typed setters never fail on their own: a bad value (an unknown RLIMIT_* resource, a user
//     name that does not exist, an order the library forbids) is recorded as given and reported
//     by spawn() with EINVAL and a message naming the key. No exception ever crosses the C ABI.
//
// THREAD SAFETY
//     A const Builder may be spawned from several threads at once (spawn() only reads it).
//     EmptyProcess and Child are used by one thread at a time, except that Child::signal() may be
//     called while another thread blocks in Child::wait() on the same Child (a watchdog that
//     kills a program that runs too long). Different objects are independent.
//
// SEE ALSO
//     emptyproc.h (the C ABI), docs/keys.md (the keys), docs/semantics.md (defaults, ordering).
#ifndef EMPTYPROC_EMPTYPROC_HPP
#define EMPTYPROC_EMPTYPROC_HPP

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "emptyproc/emptyproc.h"

// glibc's deprecated BSD macro sigmask(sig) (sigaddset() replaced it) would rewrite every call of
// Builder::sigmask() into a deprecation warning and a syntax error.
#ifdef sigmask
#undef sigmask
#endif

namespace ep {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// A failure: the errno (as std::system_category()) and the log text that names the failing key.
struct Error {
    std::error_code code;
    std::string message; // "e <key>: <what>" lines from ep_log_read(), joined by '\n'

    explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

// What the throwing overloads throw. what() is "<log text>: <strerror>".
class spawn_error : public std::system_error {
  public:
    explicit spawn_error(Error err)
        : std::system_error(err.code, err.message.empty() ? std::string("emptyproc") : err.message),
          error_(std::move(err)) {}

    const Error &error() const noexcept { return error_; }
    const std::string &log() const noexcept { return error_.message; }

  private:
    Error error_;
};

namespace detail {

inline std::error_code errno_code(int err) noexcept {
    return {err, std::system_category()};
}

// Drains a handle's log (or the thread's open log for handle -1) into one '\n'-joined string.
inline std::string drain_log(int handle) {
    std::string all;
    char buf[EP_LOG_MSG_MAX];
    // Bounded: the log keeps at most 8 messages, and a broken handle must not spin us forever.
    for (int i = 0; i < 64; i++) {
        ssize_t n = ep_log_read(handle, buf, sizeof buf);
        if (n < 0)
            break;
        if (!all.empty())
            all += '\n';
        all.append(buf, static_cast<size_t>(n));
    }
    return all;
}

// Sets ec and message without letting an allocation failure escape a noexcept function.
inline void set_error(std::error_code &ec, std::string *message, int err, int log_handle) noexcept {
    ec = errno_code(err);
    try {
        std::string text = drain_log(log_handle);
        if (message)
            *message = std::move(text);
    } catch (...) {
        if (message)
            message->clear();
    }
}

inline void throw_if(const std::error_code &ec, std::string message) {
    if (ec)
        throw spawn_error(Error{ec, std::move(message)});
}

inline int pidfd_send_signal(int pidfd, int sig) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// How to open: transport, strategy, sync (struct ep_open_how)
// ---------------------------------------------------------------------------------------------

enum class Transport : uint32_t {
    socketpair = EP_TRANSPORT_SOCKETPAIR, // default
    io_uring = EP_TRANSPORT_IO_URING,
};

enum class Strategy : uint32_t {
    clone_vm = EP_STRATEGY_CLONE_VM, // default
    fork = EP_STRATEGY_FORK,
    exec_stub = EP_STRATEGY_EXEC_STUB,
    zygote = EP_STRATEGY_ZYGOTE,
    pool = EP_STRATEGY_POOL,
    safeexec = EP_STRATEGY_SAFEEXEC,
};

// A pool of stubs made by `base` (clone_vm, fork or exec_stub): EP_STRATEGY_POOL_OF.
constexpr Strategy pool_of(Strategy base) noexcept {
    return static_cast<Strategy>(EP_STRATEGY_POOL_OF(static_cast<uint32_t>(base)));
}

// struct ep_open_how, typed. Aggregate, so designated initializers work:
//     ep::OpenHow{.sync = true}
// sync: every config() returns the stub's own verdict and a failed op leaves the process
// configurable (EP_OPEN_SYNC). Batched (the default) reports the first failure at exec.
struct OpenHow {
    bool sync = false;
    Transport transport = Transport::socketpair;
    Strategy strategy = Strategy::clone_vm;
    // At birth (docs/semantics.md section 9): the program is pid 1 of a new pid namespace; the
    // stub is born in this cgroup v2 directory (CLONE_INTO_CGROUP), -1 for none.
    bool new_pid_namespace = false;
    int cgroup_fd = -1;

    ep_open_how to_c() const noexcept {
        ep_open_how how{};
        how.flags = sync ? EP_OPEN_SYNC : 0;
        how.transport = static_cast<uint32_t>(transport);
        how.strategy = static_cast<uint32_t>(strategy);
        how.namespaces = new_pid_namespace ? 0x20000000u /* CLONE_NEWPID */ : 0;
        if (cgroup_fd >= 0) {
            how.flags |= EP_OPEN_CGROUP;
            how.cgroup_fd = cgroup_fd;
        }
        return how;
    }
};

// The Builder's name for the same thing, as in folly::Subprocess::Options.
using Options = OpenHow;

// ---------------------------------------------------------------------------------------------
// ExitStatus, Child
// ---------------------------------------------------------------------------------------------

// How a program ended, from waitid()'s siginfo.
class ExitStatus {
  public:
    constexpr ExitStatus() noexcept = default;
    // cld_code: siginfo's si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED); value: its si_status (the
    // exit code or the signal number).
    constexpr ExitStatus(int cld_code, int value) noexcept : cld_code_(cld_code), value_(value) {}

    constexpr bool exited() const noexcept { return cld_code_ == CLD_EXITED; }
    constexpr int code() const noexcept { return exited() ? value_ : -1; }
    constexpr bool signaled() const noexcept { return cld_code_ == CLD_KILLED || cld_code_ == CLD_DUMPED; }
    constexpr int signal() const noexcept { return signaled() ? value_ : 0; }
    constexpr bool core_dumped() const noexcept { return cld_code_ == CLD_DUMPED; }
    // What a shell would put in $?: the exit code, or 128 + N if signal N killed it.
    constexpr int shell_code() const noexcept { return exited() ? value_ : 128 + signal(); }
    // The raw siginfo fields, for what the accessors above do not cover.
    constexpr int cld_code() const noexcept { return cld_code_; }
    constexpr int raw_value() const noexcept { return value_; }

    constexpr bool operator==(const ExitStatus &) const noexcept = default;

  private:
    int cld_code_ = 0;
    int value_ = 0;
};

// A program that runs, owned through its pidfd.
class Child {
  public:
    Child() noexcept = default;
    // Adopts pidfd (which must refer to a child of this process) and its pid.
    Child(int pidfd, pid_t pid) noexcept : pidfd_(pidfd), pid_(pid) {}

    Child(const Child &) = delete;
    Child &operator=(const Child &) = delete;
    Child(Child &&other) noexcept { take(other); }
    Child &operator=(Child &&other) noexcept {
        if (this != &other) {
            terminate_if_running();
            take(other);
        }
        return *this;
    }
    // Kills (SIGKILL) and reaps a program that still runs, unless it was waited for or detached.
    ~Child() { terminate_if_running(); }

    bool valid() const noexcept { return pidfd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    pid_t pid() const noexcept { return pid_; }
    // The pidfd (O_CLOEXEC): poll() it for POLLIN to learn that the program ended. Still owned.
    int pidfd() const noexcept { return pidfd_; }
    // The status once wait() or try_wait() saw the end, else nullopt.
    const std::optional<ExitStatus> &status() const noexcept { return status_; }

    // Blocks until the program ends and reaps it (waitid(P_PIDFD), EINTR retried). Calling it
    // again returns the same status.
    ExitStatus wait(std::error_code &ec) noexcept { return reap(0, ec).value_or(ExitStatus{}); }
    ExitStatus wait() {
        std::error_code ec;
        ExitStatus st = wait(ec);
        detail::throw_if(ec, "wait");
        return st;
    }

    // Reaps the program if it has ended; nullopt (and no error) while it still runs.
    std::optional<ExitStatus> try_wait(std::error_code &ec) noexcept { return reap(WNOHANG, ec); }
    std::optional<ExitStatus> try_wait() {
        std::error_code ec;
        auto st = try_wait(ec);
        detail::throw_if(ec, "wait");
        return st;
    }

    // Sends sig through the pidfd (pidfd_send_signal(2)): never reaches a recycled pid. ESRCH once
    // the program was reaped.
    void signal(int sig, std::error_code &ec) noexcept {
        ec.clear();
        if (pidfd_ < 0)
            ec = detail::errno_code(EBADF);
        else if (detail::pidfd_send_signal(pidfd_, sig) < 0)
            ec = detail::errno_code(errno);
    }
    void signal(int sig) {
        std::error_code ec;
        signal(sig, ec);
        detail::throw_if(ec, "signal");
    }

    // Lets the program outlive this object: closes the pidfd and returns the pid. The program is
    // still a child of this process; reap it with waitpid(pid) (or have SIGCHLD ignored), or it
    // stays a zombie once it ends.
    pid_t detach() noexcept {
        pid_t pid = pid_;
        close_pidfd();
        return pid;
    }

  private:
    void take(Child &other) noexcept {
        pidfd_ = std::exchange(other.pidfd_, -1);
        pid_ = std::exchange(other.pid_, -1);
        status_ = std::exchange(other.status_, std::nullopt);
    }

    std::optional<ExitStatus> reap(int options, std::error_code &ec) noexcept {
        ec.clear();
        if (status_)
            return status_;
        if (pidfd_ < 0) {
            ec = detail::errno_code(EBADF);
            return std::nullopt;
        }
        siginfo_t info{};
        while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED | options) < 0) {
            if (errno != EINTR) {
                ec = detail::errno_code(errno);
                return std::nullopt;
            }
        }
        if (info.si_pid == 0) // WNOHANG, still running
            return std::nullopt;
        status_ = ExitStatus(info.si_code, info.si_status);
        return status_;
    }

    void terminate_if_running() noexcept {
        if (pidfd_ < 0)
            return;
        if (!status_) {
            // A zombie ignores the signal (ESRCH); waitid() reaps either way.
            detail::pidfd_send_signal(pidfd_, SIGKILL);
            std::error_code ignored;
            reap(0, ignored);
        }
        close_pidfd();
    }

    void close_pidfd() noexcept {
        if (pidfd_ >= 0)
            ::close(pidfd_);
        pidfd_ = -1;
    }

    int pidfd_ = -1;
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
};

// ---------------------------------------------------------------------------------------------
// EmptyProcess: one open handle
// ---------------------------------------------------------------------------------------------

// Owns a handle from ep_open(): the paused stub, then (after exec()) the program it became.
class EmptyProcess {
  public:
    EmptyProcess() noexcept = default;

    // ep_open(). On failure the result is empty, ec holds the errno and *message the log text.
    static EmptyProcess open(const OpenHow &how, std::error_code &ec, std::string *message = nullptr) noexcept {
        ec.clear();
        ep_open_how c = how.to_c();
        int handle = ep_open(&c, sizeof c);
        if (handle < 0) {
            detail::set_error(ec, message, errno, -1);
            return {};
        }
        EmptyProcess p;
        p.handle_ = handle;
        p.pid_ = ep_pid(handle);
        return p;
    }
    static EmptyProcess open(const OpenHow &how = {}) {
        std::error_code ec;
        std::string message;
        EmptyProcess p = open(how, ec, &message);
        detail::throw_if(ec, std::move(message));
        return p;
    }

    EmptyProcess(const EmptyProcess &) = delete;
    EmptyProcess &operator=(const EmptyProcess &) = delete;
    EmptyProcess(EmptyProcess &&other) noexcept { take(other); }
    EmptyProcess &operator=(EmptyProcess &&other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }
    // Not exec'd: ep_close() kills and reaps the stub. Exec'd but not released: as ~Child().
    ~EmptyProcess() { reset(); }

    bool valid() const noexcept { return handle_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    // The handle: a pidfd the C functions (ep_config(), ep_log_read(), ...) accept. Still owned.
    int pidfd() const noexcept { return handle_; }
    pid_t pid() const noexcept { return pid_; }
    bool execd() const noexcept { return child_pidfd_ >= 0; }

    // ep_config(), verbatim. The error's text stays on the log: read it with log().
    void config(unsigned cmd, const char *key, const void *value, int aux, std::error_code &ec) noexcept {
        ec.clear();
        if (ep_config(handle_, cmd, key, value, aux) < 0)
            ec = detail::errno_code(errno);
    }
    void config(unsigned cmd, const char *key, const void *value, int aux) {
        std::error_code ec;
        config(cmd, key, value, aux, ec);
        if (ec)
            throw_with_log(ec);
    }

    // EP_CONFIG_CMD_EXEC. On success the program runs; release() hands it over as a Child.
    void exec(std::error_code &ec) noexcept {
        ec.clear();
        if (handle_ < 0 || execd()) {
            ec = detail::errno_code(handle_ < 0 ? EBADF : EALREADY);
            return;
        }
        // Our own pidfd for the Child, taken now: if this fails, nothing has run yet.
        int dup = ::fcntl(handle_, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) {
            ec = detail::errno_code(errno);
            return;
        }
        if (ep_config(handle_, EP_CONFIG_CMD_EXEC, nullptr, nullptr, 0) < 0) {
            ec = detail::errno_code(errno);
            ::close(dup);
            return;
        }
        child_pidfd_ = dup;
    }
    void exec() {
        std::error_code ec;
        exec(ec);
        if (ec)
            throw_with_log(ec);
    }

    // Drains the handle's log: every queued message, oldest first.
    std::vector<std::string> log() {
        std::vector<std::string> messages;
        char buf[EP_LOG_MSG_MAX];
        for (int i = 0; handle_ >= 0 && i < 64; i++) {
            ssize_t n = ep_log_read(handle_, buf, sizeof buf);
            if (n < 0)
                break;
            messages.emplace_back(buf, static_cast<size_t>(n));
        }
        return messages;
    }

    // After a successful exec(): hands the program over as a Child and closes the handle (the
    // library's state for it goes away; the Child owns a pidfd of its own). Before exec(), or on
    // an empty object, it returns an empty Child and changes nothing.
    Child release() noexcept {
        if (!execd())
            return {};
        Child child(std::exchange(child_pidfd_, -1), pid_);
        ep_close(std::exchange(handle_, -1));
        pid_ = -1;
        return child;
    }

  private:
    void take(EmptyProcess &other) noexcept {
        handle_ = std::exchange(other.handle_, -1);
        child_pidfd_ = std::exchange(other.child_pidfd_, -1);
        pid_ = std::exchange(other.pid_, -1);
    }

    void reset() noexcept {
        if (execd()) {
            Child running = release(); // its destructor kills and reaps
            return;
        }
        if (handle_ >= 0)
            ep_close(handle_);
        handle_ = -1;
        pid_ = -1;
    }

    [[noreturn]] void throw_with_log(const std::error_code &ec) {
        throw spawn_error(Error{ec, detail::drain_log(handle_)});
    }

    int handle_ = -1;      // the ep_* handle
    int child_pidfd_ = -1; // after exec: our dup of it, for the Child
    pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------------

// One recorded ep_config() call. value holds the bytes (strings with their NUL) when has_value.
struct Op {
    unsigned cmd = EP_CONFIG_SET_FLAG;
    std::string key;
    std::string value;
    bool has_value = false;
    int aux = 0;

    const void *value_ptr() const noexcept { return has_value ? value.data() : nullptr; }
};

// Records typed operations in call order; spawn() replays them on a new empty process.
//
// Each method maps to one key of docs/keys.md. Operations apply in the order given, and the
// library rejects orders that would fail for privilege reasons (groups, gid, root, rlimit after
// uid) with EINVAL, so call uid() last of the credentials. Strings and values are copied;
// descriptors are borrowed (see OWNERSHIP at the top).
class Builder {
  public:
    Builder() = default;
    explicit Builder(const Options &how) : how_(how) {}

    // --- how to open --------------------------------------------------------------------------
    Builder &options(const Options &how) {
        how_ = how;
        return *this;
    }
    Builder &sync(bool on = true) {
        how_.sync = on;
        return *this;
    }
    const Options &options() const noexcept { return how_; }

    // --- file descriptors ---------------------------------------------------------------------
    // "fd.<child>": our descriptor parent becomes child in the program, without CLOEXEC.
    Builder &fd(int child, int parent) { return add(EP_CONFIG_SET_FD, numbered("fd", child), std::nullopt, parent); }
    // fd(0, 0), fd(1, 1), fd(2, 2): the program shares our stdin, stdout and stderr.
    Builder &inherit_stdio() { return fd(0, STDIN_FILENO).fd(1, STDOUT_FILENO).fd(2, STDERR_FILENO); }
    // "open.<child>:<flags>:<mode>": the program opens path as fd child. A relative path is
    // relative to the program's cwd at that point of the stream (cwd() before open() counts).
    Builder &open(int child, std::string_view path, int flags = O_RDONLY, mode_t mode = 0666) {
        return open_at(AT_FDCWD, child, path, flags, mode);
    }
    // As open(), relative to our directory descriptor dirfd (borrowed).
    Builder &open_at(int dirfd, int child, std::string_view path, int flags = O_RDONLY, mode_t mode = 0666) {
        char spec[48];
        std::snprintf(spec, sizeof spec, ":0x%x:0%o", static_cast<unsigned>(flags), static_cast<unsigned>(mode));
        return add(EP_CONFIG_SET_PATH, numbered("open", child) + spec, path, dirfd);
    }
    // "close.<child>".
    Builder &close(int child) { return add(EP_CONFIG_SET_FLAG, numbered("close", child), std::nullopt, 0); }
    // "closefrom": closes every descriptor >= lowfd the stream gave the program so far.
    Builder &closefrom(int lowfd) { return add(EP_CONFIG_SET_STRING, "closefrom", std::to_string(lowfd), 0); }

    // --- file system --------------------------------------------------------------------------
    // "cwd": chdir(path), relative to the program's cwd at that point.
    Builder &cwd(std::string_view path) { return add(EP_CONFIG_SET_PATH, "cwd", path, AT_FDCWD); }
    // "cwd" by descriptor: fchdir(dirfd) (borrowed).
    Builder &cwd_fd(int dirfd) { return add(EP_CONFIG_SET_FD, "cwd", std::nullopt, dirfd); }
    // "root": chroot(path), then "/" as working directory. Must come before cwd() and uid().
    Builder &root(std::string_view path) { return add(EP_CONFIG_SET_PATH, "root", path, AT_FDCWD); }
    // "umask".
    Builder &umask(mode_t mask) {
        char octal[16];
        std::snprintf(octal, sizeof octal, "0%o", static_cast<unsigned>(mask));
        return add(EP_CONFIG_SET_STRING, "umask", std::string(octal), 0);
    }

    // --- limits and credentials ---------------------------------------------------------------
    // "rlimit.<name>" = "soft:hard"; resource is an RLIMIT_* constant, RLIM_INFINITY is unlimited.
    // A resource without a name is sent by number and rejected at spawn() with EINVAL.
    Builder &rlimit(int resource, rlim_t soft, rlim_t hard) {
        auto limit = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
        return add(EP_CONFIG_SET_STRING, "rlimit." + rlimit_name(resource), limit(soft) + ":" + limit(hard), 0);
    }
    // "groups": the supplementary groups; {} drops them all. Before uid().
    Builder &groups(const std::vector<gid_t> &gids) {
        std::string list;
        for (gid_t g : gids)
            list += (list.empty() ? "" : ",") + std::to_string(g);
        return add(EP_CONFIG_SET_STRING, "groups", list, 0);
    }
    // "gid": real, effective and saved gid, by number or group name. Before uid().
    Builder &gid(gid_t id) { return add(EP_CONFIG_SET_STRING, "gid", std::to_string(id), 0); }
    Builder &gid(std::string_view name) { return add(EP_CONFIG_SET_STRING, "gid", name, 0); }
    // "uid": real, effective and saved uid, by number or user name. Without a groups() before
    // it, the library also drops the supplementary groups (docs/semantics.md).
    Builder &uid(uid_t id) { return add(EP_CONFIG_SET_STRING, "uid", std::to_string(id), 0); }
    Builder &uid(std::string_view name) { return add(EP_CONFIG_SET_STRING, "uid", name, 0); }

    // --- signals --------------------------------------------------------------------------------
    // "sigmask": the mask the program starts with (it starts empty without this).
    Builder &sigmask(const sigset_t &set) { return add_sigset("sigmask", set); }
    Builder &sigmask(std::initializer_list<int> signals) { return add_sigset("sigmask", make_sigset(signals)); }
    // "sigignore": these signals start as SIG_IGN (every signal starts as SIG_DFL).
    Builder &sigignore(const sigset_t &set) { return add_sigset("sigignore", set); }
    Builder &sigignore(std::initializer_list<int> signals) { return add_sigset("sigignore", make_sigset(signals)); }
    // "sigdefault": back to SIG_DFL (undoes an earlier sigignore()).
    Builder &sigdefault(const sigset_t &set) { return add_sigset("sigdefault", set); }
    Builder &sigdefault(std::initializer_list<int> signals) { return add_sigset("sigdefault", make_sigset(signals)); }

    // --- session and process group ---------------------------------------------------------------
    // "setsid": a new session (excludes pgid()).
    Builder &setsid() { return add(EP_CONFIG_SET_FLAG, "setsid", std::nullopt, 0); }
    // "pgid": join process group id, or 0 for a new group led by the program (excludes setsid()).
    Builder &pgid(pid_t id) { return add(EP_CONFIG_SET_STRING, "pgid", std::to_string(id), 0); }

    // --- argv, environment, program ------------------------------------------------------------
    // "argv": appends one argument; the first is argv[0]. Without any, argv[0] is the program.
    Builder &arg(std::string_view a) { return add(EP_CONFIG_SET_STRING, "argv", a, 0); }
    Builder &args(const std::vector<std::string> &list) {
        for (const auto &a : list)
            arg(a);
        return *this;
    }
    // "env": appends NAME=value (the environment starts empty).
    Builder &env(std::string_view name, std::string_view value) {
        std::string entry(name);
        entry += '=';
        entry += value;
        return add(EP_CONFIG_SET_STRING, "env", entry, 0);
    }
    // Appends each entry of a map, in the map's order.
    Builder &environment(const std::map<std::string, std::string> &vars) {
        for (const auto &[name, value] : vars)
            env(name, value);
        return *this;
    }
    // Appends "NAME=value" entries as they are.
    Builder &environment(const std::vector<std::string> &entries) {
        for (const auto &e : entries)
            add(EP_CONFIG_SET_STRING, "env", e, 0);
        return *this;
    }
    // Appends our own environment (environ) as it is at this call.
    Builder &inherit_environment() {
        for (char **e = environ; e && *e; e++)
            if (std::strchr(*e, '=') != nullptr && **e != '=') // the library rejects anything else
                add(EP_CONFIG_SET_STRING, "env", std::string_view(*e), 0);
        return *this;
    }
    // "exec" by path, relative to the program's cwd at that point.
    Builder &exec(std::string_view path) { return add(EP_CONFIG_SET_PATH, "exec", path, AT_FDCWD); }
    // "exec" by descriptor (execveat(AT_EMPTY_PATH)); fd is borrowed.
    Builder &exec_fd(int fd) { return add(EP_CONFIG_SET_FD, "exec", std::nullopt, fd); }
    // "exec" by name, searched in the PATH of the environment configured so far (like execvp;
    // without a PATH entry, the library's default search path).
    Builder &exec_search(std::string_view name) { return add(EP_CONFIG_SET_STRING, "exec", name, 0); }

    // ---- sandbox and container keys (docs/keys.md; order rules in docs/semantics.md section 5) ----
    // Namespaces: "user,mnt,net,uts,ipc,cgroup,time" (pid: Options::new_pid_namespace). Maps first.
    Builder &uid_map(std::string_view lines) { return add(EP_CONFIG_SET_STRING, "uid_map", lines, 0); }
    Builder &gid_map(std::string_view lines) { return add(EP_CONFIG_SET_STRING, "gid_map", lines, 0); }
    Builder &unshare(std::string_view namespaces) { return add(EP_CONFIG_SET_STRING, "unshare", namespaces, 0); }
    Builder &setns(int ns_fd) { return add(EP_CONFIG_SET_FD, "setns", std::nullopt, ns_fd); }
    Builder &hostname(std::string_view name) { return add(EP_CONFIG_SET_STRING, "hostname", name, 0); }
    Builder &remount_ro(std::string_view path) { return add(EP_CONFIG_SET_PATH, "remount_ro", path, AT_FDCWD); }
    Builder &cgroup(std::string_view dir) { return add(EP_CONFIG_SET_PATH, "cgroup", dir, AT_FDCWD); }
    Builder &cgroup_fd(int dirfd) { return add(EP_CONFIG_SET_FD, "cgroup", std::nullopt, dirfd); }
    Builder &no_new_privs() { return add(EP_CONFIG_SET_FLAG, "no_new_privs", std::nullopt, 0); }
    // A struct sock_filter array (8 bytes per instruction), or a deny list compiled by the library.
    Builder &seccomp(const void *filter, size_t bytes) {
        return add(EP_CONFIG_SET_BINARY, "seccomp", std::string_view(static_cast<const char *>(filter), bytes),
                   static_cast<int>(bytes));
    }
    Builder &seccomp_deny(std::string_view syscalls) { return add(EP_CONFIG_SET_STRING, "seccomp_deny", syscalls, 0); }
    Builder &landlock(int ruleset_fd) { return add(EP_CONFIG_SET_FD, "landlock", std::nullopt, ruleset_fd); }
    Builder &cap_drop(std::string_view caps) { return add(EP_CONFIG_SET_STRING, "cap_drop", caps, 0); }
    Builder &cap_ambient(std::string_view caps) { return add(EP_CONFIG_SET_STRING, "cap_ambient", caps, 0); }
    Builder &keep_caps() { return add(EP_CONFIG_SET_FLAG, "keep_caps", std::nullopt, 0); }
    Builder &pdeathsig(int sig) { return add(EP_CONFIG_SET_STRING, "pdeathsig", std::to_string(sig), 0); }
    Builder &ctty(int child_fd) { return add(EP_CONFIG_SET_STRING, "ctty", std::to_string(child_fd), 0); }
    Builder &nice(int value) { return add(EP_CONFIG_SET_STRING, "nice", std::to_string(value), 0); }
    Builder &cpus(std::string_view list) { return add(EP_CONFIG_SET_STRING, "cpus", list, 0); }
    Builder &oom_score_adj(int value) { return add(EP_CONFIG_SET_STRING, "oom_score_adj", std::to_string(value), 0); }
    Builder &ioprio(std::string_view prio) { return add(EP_CONFIG_SET_STRING, "ioprio", prio, 0); }
    Builder &personality(unsigned long persona) {
        return add(EP_CONFIG_SET_STRING, "personality", std::to_string(persona), 0);
    }

    // --- escape hatch ---------------------------------------------------------------------------
    // Records ep_config(cmd, key, value, aux) as is, for keys this class has no method for. value
    // is copied: aux bytes for SET_BINARY, a NUL-terminated string for SET_STRING, SET_PATH and
    // SET_PATH_EMPTY; for other commands a non-null value is kept non-null (so the library rejects
    // it as it would). Do not record EP_CONFIG_CMD_EXEC: spawn() adds it.
    Builder &config(unsigned cmd, std::string_view key, const void *value, int aux) {
        Op op{cmd, std::string(key), {}, value != nullptr, aux};
        if (value && cmd == EP_CONFIG_SET_BINARY && aux > 0 && aux <= EP_VALUE_MAX)
            op.value.assign(static_cast<const char *>(value), static_cast<size_t>(aux));
        else if (value && (cmd == EP_CONFIG_SET_STRING || cmd == EP_CONFIG_SET_PATH || cmd == EP_CONFIG_SET_PATH_EMPTY))
            op.value.assign(static_cast<const char *>(value), ::strnlen(static_cast<const char *>(value), EP_VALUE_MAX))
                .push_back('\0');
        ops_.push_back(std::move(op));
        return *this;
    }

    // The recorded operations, in order.
    const std::vector<Op> &ops() const noexcept { return ops_; }

    // --- spawn ----------------------------------------------------------------------------------
    // ep_open(), every recorded op, EP_CONFIG_CMD_EXEC. On success the program runs and the Child
    // owns it. On failure the Child is empty, ec holds the errno of the first failure, *message
    // the log text naming the key, and no process is left behind (the stub was killed and reaped;
    // the program never ran).
    Child spawn(std::error_code &ec, std::string *message = nullptr) const noexcept {
        ec.clear();
        if (message)
            message->clear();
        EmptyProcess p = EmptyProcess::open(how_, ec, message);
        if (ec)
            return {};
        for (const Op &op : ops_) {
            p.config(op.cmd, op.key.c_str(), op.value_ptr(), op.aux, ec);
            if (ec) {
                detail::set_error(ec, message, ec.value(), p.pidfd());
                return {}; // ~EmptyProcess kills and reaps the stub
            }
        }
        p.exec(ec);
        if (ec) {
            detail::set_error(ec, message, ec.value(), p.pidfd());
            return {};
        }
        return p.release();
    }
    Child spawn(Error &err) const noexcept { return spawn(err.code, &err.message); }
    // Throws ep::spawn_error.
    Child spawn() const {
        Error err;
        Child child = spawn(err);
        if (err)
            throw spawn_error(std::move(err));
        return child;
    }

  private:
    static std::string numbered(const char *name, int n) { return std::string(name) + "." + std::to_string(n); }

    // prlimit(1)'s names, as the "rlimit.<name>" keys take them.
    static std::string rlimit_name(int resource) {
        switch (resource) {
        case RLIMIT_AS:
            return "as";
        case RLIMIT_CORE:
            return "core";
        case RLIMIT_CPU:
            return "cpu";
        case RLIMIT_DATA:
            return "data";
        case RLIMIT_FSIZE:
            return "fsize";
        case RLIMIT_LOCKS:
            return "locks";
        case RLIMIT_MEMLOCK:
            return "memlock";
        case RLIMIT_MSGQUEUE:
            return "msgqueue";
        case RLIMIT_NICE:
            return "nice";
        case RLIMIT_NOFILE:
            return "nofile";
        case RLIMIT_NPROC:
            return "nproc";
        case RLIMIT_RSS:
            return "rss";
        case RLIMIT_RTPRIO:
            return "rtprio";
        case RLIMIT_RTTIME:
            return "rttime";
        case RLIMIT_SIGPENDING:
            return "sigpending";
        case RLIMIT_STACK:
            return "stack";
        default:
            return std::to_string(resource); // no such key: spawn() reports it
        }
    }

    static sigset_t make_sigset(std::initializer_list<int> signals) noexcept {
        sigset_t set;
        sigemptyset(&set);
        for (int sig : signals)
            sigaddset(&set, sig);
        return set;
    }

    Builder &add_sigset(const char *key, const sigset_t &set) {
        return config(EP_CONFIG_SET_BINARY, key, &set, static_cast<int>(sizeof set));
    }

    Builder &add(unsigned cmd, std::string key, std::optional<std::string_view> value, int aux) {
        Op op{cmd, std::move(key), {}, value.has_value(), aux};
        if (value) {
            op.value.assign(value->data(), value->size());
            op.value.push_back('\0'); // the C ABI takes NUL-terminated strings
        }
        ops_.push_back(std::move(op));
        return *this;
    }

    Options how_;
    std::vector<Op> ops_;
};

// A Landlock ruleset for the "landlock" key: read (and execute) beneath each of `read_only`, read
// and write beneath each of `read_write`, nothing else of the file system. Returns the ruleset
// descriptor (O_CLOEXEC; close it after spawn()), or -1 with errno (EOPNOTSUPP: no Landlock).
inline int landlock_ruleset(const std::vector<std::string> &read_only, const std::vector<std::string> &read_write) {
    constexpr unsigned long kCreateVersion = 1; // LANDLOCK_CREATE_RULESET_VERSION
    constexpr int kPathBeneath = 1;             // LANDLOCK_RULE_PATH_BENEATH
    constexpr uint64_t kRead = 1 | 4 | 8;       // EXECUTE | READ_FILE | READ_DIR
    constexpr uint64_t kAllAbi1 = (1ull << 13) - 1;
    long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateVersion);
    if (abi < 1) {
        errno = EOPNOTSUPP;
        return -1;
    }
    uint64_t handled = kAllAbi1;
    if (abi >= 2)
        handled |= 1ull << 13; // REFER
    if (abi >= 3)
        handled |= 1ull << 14; // TRUNCATE
    struct {
        uint64_t handled_access_fs;
    } attr{handled};
    int rs = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0));
    if (rs < 0)
        return -1;
    auto allow = [&](const std::string &path, uint64_t access) {
        struct __attribute__((packed)) {
            uint64_t allowed_access;
            int32_t parent_fd;
        } rule{access & handled, ::open(path.c_str(), O_PATH | O_CLOEXEC)};
        if (rule.parent_fd < 0)
            return false;
        struct stat st;
        if (fstat(rule.parent_fd, &st) == 0 && !S_ISDIR(st.st_mode))
            rule.allowed_access &= 1 | 2 | 4 | (1ull << 14); // a file: no directory rights
        long r = syscall(SYS_landlock_add_rule, rs, kPathBeneath, &rule, 0);
        int err = errno;
        ::close(rule.parent_fd);
        errno = err;
        return r == 0;
    };
    for (const auto &p : read_only)
        if (!allow(p, kRead)) {
            int err = errno;
            ::close(rs);
            errno = err;
            return -1;
        }
    for (const auto &p : read_write)
        if (!allow(p, handled)) {
            int err = errno;
            ::close(rs);
            errno = err;
            return -1;
        }
    return rs;
}

} // namespace ep

#endif // EMPTYPROC_EMPTYPROC_HPP
