// SPDX-License-Identifier: MIT
// validation_test.cpp - calls ep_config() rejects at once, before anything reaches the stub:
// unknown keys, wrong commands, malformed values, bad descriptors, and the ordering rules. Each
// returns -1 with EINVAL (EBADF, EOPNOTSUPP), logs "e <key>: ...", and leaves the stream usable: the
// same stream then execs the probe, which runs with everything valid that was configured.
#include <fcntl.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <tuple>

#include "fixture.hpp"

using namespace ep_test;

namespace {

struct Invalid {
    const char *name;
    std::function<Rc(Spawn &)> before; // valid ops that set up the case (may be empty)
    std::function<Rc(Spawn &)> bad;
    int err;
    std::string log_prefix;   // the message starts with this
    std::string log_contains; // and contains this (the reason)
};

void PrintTo(const Invalid &c, std::ostream *os) {
    *os << c.name;
}

// A descriptor number that is not open and that nothing will open meanwhile: the highest the
// limit allows. (A number just closed could be taken at once by a library thread, e.g. the pool's
// refill, which opens the lowest free ones.)
int closed_fd() {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    int fd = static_cast<int>(lim.rlim_cur > 4096 ? 4095 : lim.rlim_cur - 1);
    EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "descriptor " << fd << " is open";
    return fd;
}

Rc uid_nobody(Spawn &s) {
    return s.str("uid", "65534");
}

const std::string kLongKey(256, 'k');

const Invalid kCases[] = {
    {"UnknownKey", nullptr, [](Spawn &s) { return s.str("nosuchkey", "x"); }, EINVAL, "e nosuchkey: ", "unknown key"},
    {"EmptyKey", nullptr, [](Spawn &s) { return s.str("", "x"); }, EINVAL, "e ", "1 to 255"},
    {"NullKey", nullptr, [](Spawn &s) { return s.config(EP_CONFIG_SET_STRING, nullptr, "x", 0); }, EINVAL,
     "e (no key): ", "needs a key"},
    {"KeyLongerThan255", nullptr, [](Spawn &s) { return s.str(kLongKey.c_str(), "x"); }, EINVAL,
     "e " + kLongKey.substr(0, 64), "1 to 255"},
    {"SuffixMissing", nullptr, [](Spawn &s) { return s.pass("fd", s.out_w()); }, EINVAL, "e fd: ", "suffix"},
    {"SuffixOnAPlainKey", nullptr, [](Spawn &s) { return s.str("umask.3", "022"); }, EINVAL,
     "e umask.3: ", "no suffix"},
    {"WrongCommandFlagForString", nullptr, [](Spawn &s) { return s.flag("umask"); }, EINVAL,
     "e umask: ", "SET_FLAG is not accepted"},
    {"WrongCommandStringForFd", nullptr, [](Spawn &s) { return s.str("fd.3", "4"); }, EINVAL,
     "e fd.3: ", "SET_STRING is not accepted"},
    {"WrongCommandStringForFlag", nullptr, [](Spawn &s) { return s.str("setsid", "1"); }, EINVAL,
     "e setsid: ", "not accepted"},
    {"WrongCommandBinaryForUid", nullptr, [](Spawn &s) { return s.bin("uid", "0", 1); }, EINVAL,
     "e uid: ", "not accepted"},
    {"FlagWithAValue", nullptr, [](Spawn &s) { return s.config(EP_CONFIG_SET_FLAG, "setsid", "x", 0); }, EINVAL,
     "e setsid: ", "SET_FLAG takes no value"},
    {"UnknownCommand", nullptr, [](Spawn &s) { return s.config(99, "umask", "022", 0); }, EOPNOTSUPP,
     "e umask: ", "unknown command"},
    {"ExecCommandWithAKey", nullptr, [](Spawn &s) { return s.config(EP_CONFIG_CMD_EXEC, "exec", nullptr, 0); }, EINVAL,
     "e exec: ", "no key"},
    {"ExecWithoutATarget", nullptr, [](Spawn &s) { return s.exec(); }, EINVAL, "e exec: ", "no program"},
    {"FdNumberNotANumber", nullptr, [](Spawn &s) { return s.pass("fd.abc", s.out_w()); }, EINVAL,
     "e fd.abc: ", "not a number"},
    {"FdNumberNegative", nullptr, [](Spawn &s) { return s.pass("fd.-1", s.out_w()); }, EINVAL,
     "e fd.-1: ", "not a number"},
    {"SetFdWithAClosedFd", nullptr, [](Spawn &s) { return s.pass("fd.3", closed_fd()); }, EBADF,
     "e fd.3: ", "not an open file descriptor"},
    {"SetPathWithAClosedDirfd", nullptr, [](Spawn &s) { return s.path("cwd", "x", closed_fd()); }, EBADF,
     "e cwd: ", "not an open file descriptor"},
    {"SetPathEmptyString", nullptr, [](Spawn &s) { return s.path("cwd", ""); }, EINVAL, "e cwd: ", "non-empty"},
    {"CwdPathEmptyWithoutADescriptor", nullptr, [](Spawn &s) { return s.path_empty("cwd", "", AT_FDCWD); }, EINVAL,
     "e cwd: ", "descriptor"},
    {"OpenUnknownFlag", nullptr, [](Spawn &s) { return s.path("open.3:rdonly,bogus", "/dev/null"); }, EINVAL,
     "e open.3:rdonly,bogus: ", "unknown open flag 'bogus'"},
    {"OpenBadMode", nullptr, [](Spawn &s) { return s.path("open.3:wronly,creat:999", "/tmp/x"); }, EINVAL,
     "e open.3:wronly,creat:999: ", "mode"},
    {"RlimitNotANumber", nullptr, [](Spawn &s) { return s.str("rlimit.nofile", "abc"); }, EINVAL,
     "e rlimit.nofile: ", "soft:hard"},
    {"RlimitTrailingColon", nullptr, [](Spawn &s) { return s.str("rlimit.nofile", "10:"); }, EINVAL,
     "e rlimit.nofile: ", "soft:hard"},
    {"RlimitSoftAboveHard", nullptr, [](Spawn &s) { return s.str("rlimit.nofile", "200:100"); }, EINVAL,
     "e rlimit.nofile: ", "above the hard limit"},
    {"RlimitUnknownResource", nullptr, [](Spawn &s) { return s.str("rlimit.bogus", "1"); }, EINVAL,
     "e rlimit.bogus: ", "unknown resource"},
    {"UnknownUser", nullptr, [](Spawn &s) { return s.str("uid", "ep-no-such-user"); }, EINVAL, "e uid: ", "no user"},
    {"UnknownGroupInList", nullptr, [](Spawn &s) { return s.str("groups", "0,ep-no-such-group"); }, EINVAL,
     "e groups: ", "no group"},
    {"BadSignalName", nullptr, [](Spawn &s) { return s.str("sigmask", "USR1,NOSUCH"); }, EINVAL,
     "e sigmask: ", "unknown signal 'NOSUCH'"},
    {"SignalNumberOutOfRange", nullptr, [](Spawn &s) { return s.str("sigignore", "65"); }, EINVAL,
     "e sigignore: ", "unknown signal '65'"},
    {"IgnoreKill", nullptr, [](Spawn &s) { return s.str("sigignore", "KILL"); }, EINVAL,
     "e sigignore: ", "KILL and STOP"},
    {"BinarySigsetOfAWrongSize", nullptr,
     [](Spawn &s) {
         static const char three[3] = {1, 2, 3};
         return s.bin("sigmask", three, 3);
     },
     EINVAL, "e sigmask: ", "binary signal set"},
    {"UmaskNotOctal", nullptr, [](Spawn &s) { return s.str("umask", "0999"); }, EINVAL, "e umask: ", "octal"},
    {"UmaskTooLarge", nullptr, [](Spawn &s) { return s.str("umask", "01000"); }, EINVAL, "e umask: ", "octal"},
    {"EnvWithoutEquals", nullptr, [](Spawn &s) { return s.str("env", "NOEQUALS"); }, EINVAL, "e env: ", "NAME=value"},
    {"EnvWithoutAName", nullptr, [](Spawn &s) { return s.str("env", "=value"); }, EINVAL, "e env: ", "NAME=value"},
    {"ValueLongerThanTheMaximum", nullptr, [](Spawn &s) { return s.str("argv", std::string(EP_VALUE_MAX, 'v')); },
     EINVAL, "e argv: ", "longer than"},
    {"BinaryLongerThanTheMaximum", nullptr,
     [](Spawn &s) {
         static const std::vector<char> big(EP_VALUE_MAX + 1, 0);
         return s.bin("sigmask", big.data(), static_cast<int>(big.size()));
     },
     EINVAL, "e sigmask: ", "SET_BINARY takes"},
    {"PgidNotANumber", nullptr, [](Spawn &s) { return s.str("pgid", "-1"); }, EINVAL, "e pgid: ", "not a number"},
    // Ordering rules (docs/semantics.md): rejected, with the reason.
    {"GidAfterUid", uid_nobody, [](Spawn &s) { return s.str("gid", "65534"); }, EINVAL,
     "e gid: ", "must come before uid"},
    {"GroupsAfterUid", uid_nobody, [](Spawn &s) { return s.str("groups", ""); }, EINVAL,
     "e groups: ", "must come before uid"},
    {"RlimitAfterUid", uid_nobody, [](Spawn &s) { return s.str("rlimit.core", "0"); }, EINVAL,
     "e rlimit.core: ", "must come before uid"},
    {"RootAfterUid", uid_nobody, [](Spawn &s) { return s.path("root", "/"); }, EINVAL,
     "e root: ", "must come before uid"},
    {"RootAfterCwd", [](Spawn &s) { return s.path("cwd", "/"); }, [](Spawn &s) { return s.path("root", "/"); }, EINVAL,
     "e root: ", "must come before cwd"},
    {"SetsidAfterPgid", [](Spawn &s) { return s.str("pgid", "0"); }, [](Spawn &s) { return s.flag("setsid"); }, EINVAL,
     "e setsid: ", "exclude each other"},
    {"PgidAfterSetsid", [](Spawn &s) { return s.flag("setsid"); }, [](Spawn &s) { return s.str("pgid", "0"); }, EINVAL,
     "e pgid: ", "exclude each other"},
};

using Param = std::tuple<Matrix, Invalid>;

class Validation : public ::testing::TestWithParam<Param> {};

TEST_P(Validation, RejectedAtOnceAndTheStreamStaysUsable) {
    const auto &[m, c] = GetParam();
    Spawn s(m);
    ASSERT_TRUE(s.opened()) << errno_name(s.open_errno());
    if (c.before) {
        ASSERT_EQ(c.before(s), ok()) << joined(s.log());
    }
    ASSERT_EQ(log_messages(s.fd()), std::vector<std::string>{}) << "the log starts empty";

    EXPECT_EQ(c.bad(s), fails(c.err));
    auto log = s.log();
    ASSERT_EQ(log.size(), 1u) << joined(log);
    EXPECT_EQ(log[0].rfind(c.log_prefix, 0), 0u) << log[0];
    EXPECT_NE(log[0].find(c.log_contains), std::string::npos) << log[0];
    EXPECT_LT(log[0].size(), static_cast<size_t>(EP_LOG_MSG_MAX));

    auto out = s.run();
    ASSERT_EQ(out.exec, ok()) << joined(out.log);
    EXPECT_EQ(out["argc"], "2");
    EXPECT_TRUE(out.exit.exited(0)) << describe(out.exit);
    auto *before = c.before.target<Rc (*)(Spawn &)>();
    if (before && *before == uid_nobody) {
        EXPECT_EQ(out["uid"], "65534 65534 65534") << "the valid op before the rejected one still applies";
    }
}

INSTANTIATE_TEST_SUITE_P(Conformance, Validation, ::testing::ValuesIn(matrix_times(kCases)), MatrixCaseName{});

} // namespace
