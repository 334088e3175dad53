// SPDX-License-Identifier: MIT
// keys_test.cpp - the key language (keys/parse.cpp, keys/names.cpp): every key with every command it
// accepts and the wire record it becomes, every rejection with its errno and message, the name tables,
// and the agreement of keys.def with docs/keys.md.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "emptyproc/emptyproc.h"
#include "keys/keys.hpp"
#include "keys/names.hpp"
#include "proto/encode.hpp"
#include "proto/wire.h"

namespace {

using ep::detail::key_table;
using ep::detail::KeyId;
using ep::detail::KeyInfo;
using ep::detail::parse_config;
using ep::detail::Record;
using ep::detail::rlimit_resource;
using ep::detail::signal_number;
using ep::detail::signal_set;
using ep::detail::UniqueFd;

struct Parsed {
    int err = 0;
    Record r;
    KeyId id{};
    std::string msg;
};

Parsed parse(unsigned cmd, const char *key, const void *value = nullptr, int aux = 0) {
    Parsed p;
    p.err = parse_config(cmd, key, value, aux, p.r, p.id, p.msg);
    return p;
}

std::string str(const std::string &s) {
    return std::string(s.data(), s.size() + 1);
}

uint64_t bit(int sig) {
    return 1ull << (sig - 1);
}

// Descriptors the tests pass as aux.
class Keys : public testing::Test {
  protected:
    void SetUp() override {
        null_ = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
        dir_ = UniqueFd(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_GE(null_.get(), 0);
        ASSERT_GE(dir_.get(), 0);
    }
    int null_fd() const { return null_.get(); }
    int dir_fd() const { return dir_.get(); }

    // The call is accepted and produces a record of op with these fields.
    static void expect_record(const Parsed &p, KeyId id, uint16_t op, int64_t a, int64_t b, int32_t c,
                              const std::string &payload, int caller_fd) {
        ASSERT_EQ(p.err, 0) << p.msg;
        EXPECT_EQ(p.id, id);
        EXPECT_EQ(p.r.op, op);
        EXPECT_EQ(p.r.a, a);
        EXPECT_EQ(p.r.b, b);
        EXPECT_EQ(p.r.c, c);
        EXPECT_EQ(p.r.payload, payload);
        EXPECT_EQ(p.r.caller_fd, caller_fd);
    }

    // Rejected with err and a message (containing `part` if given).
    static void expect_error(const Parsed &p, int err, const std::string &part = {}) {
        EXPECT_EQ(p.err, err) << "message: " << p.msg;
        EXPECT_FALSE(p.msg.empty());
        if (!part.empty()) {
            EXPECT_NE(p.msg.find(part), std::string::npos) << "message: " << p.msg;
        }
    }

  private:
    UniqueFd null_, dir_;
};

// ---- every key, every command it accepts ------------------------------------------------------

TEST_F(Keys, FdSetFdMakesCallerFdChildN) {
    expect_record(parse(EP_CONFIG_SET_FD, "fd.5", nullptr, null_fd()), KeyId::Fd, EP_OP_FD_DUP, 5, 0, 0, "", null_fd());
}

TEST_F(Keys, FdLargestNumberIsAccepted) {
    auto p = parse(EP_CONFIG_SET_FD, "fd.2147483647", nullptr, null_fd());
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.a, 2147483647);
}

TEST_F(Keys, OpenSetPathDefaultsToReadOnly0666) {
    expect_record(parse(EP_CONFIG_SET_PATH, "open.3", "/etc/passwd", AT_FDCWD), KeyId::Open, EP_OP_OPEN, 3, O_RDONLY,
                  0666, str("/etc/passwd"), -1);
}

TEST_F(Keys, OpenSetPathWithDirfdSendsIt) {
    expect_record(parse(EP_CONFIG_SET_PATH, "open.3", "etc/passwd", dir_fd()), KeyId::Open, EP_OP_OPEN, 3, O_RDONLY,
                  0666, str("etc/passwd"), dir_fd());
}

TEST_F(Keys, OpenSetStringWithFlagNamesAndMode) {
    expect_record(parse(EP_CONFIG_SET_STRING, "open.4:wronly,creat,trunc:0600", "out.txt"), KeyId::Open, EP_OP_OPEN, 4,
                  O_WRONLY | O_CREAT | O_TRUNC, 0600, str("out.txt"), -1);
}

TEST_F(Keys, OpenEveryFlagNameIsKnown) {
    auto p = parse(EP_CONFIG_SET_STRING,
                   "open.4:rdonly,wronly,rdwr,creat,excl,trunc,append,nonblock,noctty,nofollow,directory,sync,dsync,"
                   "cloexec,path,tmpfile,noatime",
                   "x");
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.b, O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW |
                         O_DIRECTORY | O_SYNC | O_DSYNC | O_CLOEXEC | O_PATH | O_TMPFILE | O_NOATIME);
}

TEST_F(Keys, OpenNumericFlagsInHexOctalAndDecimal) {
    EXPECT_EQ(parse(EP_CONFIG_SET_STRING, "open.4:0x241", "x").r.b, 0x241);
    EXPECT_EQ(parse(EP_CONFIG_SET_STRING, "open.4:01101", "x").r.b, 01101);
    EXPECT_EQ(parse(EP_CONFIG_SET_STRING, "open.4:577", "x").r.b, 577);
    EXPECT_EQ(parse(EP_CONFIG_SET_STRING, "open.4:0", "x").r.b, 0);
}

TEST_F(Keys, OpenModeWithoutFlagsChange) {
    auto p = parse(EP_CONFIG_SET_STRING, "open.4:rdwr:7777", "x");
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.b, O_RDWR);
    EXPECT_EQ(p.r.c, 07777);
}

TEST_F(Keys, CloseSetFlag) {
    expect_record(parse(EP_CONFIG_SET_FLAG, "close.7"), KeyId::Close, EP_OP_CLOSE, 7, 0, 0, "", -1);
}

TEST_F(Keys, ClosefromSetString) {
    expect_record(parse(EP_CONFIG_SET_STRING, "closefrom", "3"), KeyId::Closefrom, EP_OP_CLOSEFROM, 3, 0, 0, "", -1);
}

TEST_F(Keys, CwdSetPath) {
    expect_record(parse(EP_CONFIG_SET_PATH, "cwd", "/tmp", AT_FDCWD), KeyId::Cwd, EP_OP_CHDIR, 0, 0, 0, str("/tmp"),
                  -1);
}

TEST_F(Keys, CwdSetPathRelativeToDirfd) {
    expect_record(parse(EP_CONFIG_SET_PATH, "cwd", "tmp", dir_fd()), KeyId::Cwd, EP_OP_CHDIR, 0, 0, 0, str("tmp"),
                  dir_fd());
}

TEST_F(Keys, CwdSetPathEmptyMeansTheDirfdItself) {
    expect_record(parse(EP_CONFIG_SET_PATH_EMPTY, "cwd", "", dir_fd()), KeyId::Cwd, EP_OP_CHDIR, 0, 0, 0, str(""),
                  dir_fd());
}

TEST_F(Keys, CwdSetString) {
    expect_record(parse(EP_CONFIG_SET_STRING, "cwd", "/tmp"), KeyId::Cwd, EP_OP_CHDIR, 0, 0, 0, str("/tmp"), -1);
}

TEST_F(Keys, CwdSetFdIsFchdir) {
    expect_record(parse(EP_CONFIG_SET_FD, "cwd", nullptr, dir_fd()), KeyId::Cwd, EP_OP_CHDIR, 0, 0, 0, str(""),
                  dir_fd());
}

TEST_F(Keys, RootSetPath) {
    expect_record(parse(EP_CONFIG_SET_PATH, "root", "/srv", AT_FDCWD), KeyId::Root, EP_OP_CHROOT, 0, 0, 0, str("/srv"),
                  -1);
}

TEST_F(Keys, RootSetString) {
    expect_record(parse(EP_CONFIG_SET_STRING, "root", "/srv"), KeyId::Root, EP_OP_CHROOT, 0, 0, 0, str("/srv"), -1);
}

TEST_F(Keys, RlimitSoftColonHard) {
    expect_record(parse(EP_CONFIG_SET_STRING, "rlimit.nofile", "100:200"), KeyId::Rlimit, EP_OP_RLIMIT, 100, 200,
                  RLIMIT_NOFILE, "", -1);
}

TEST_F(Keys, RlimitSingleValueSetsBoth) {
    expect_record(parse(EP_CONFIG_SET_STRING, "rlimit.core", "50"), KeyId::Rlimit, EP_OP_RLIMIT, 50, 50, RLIMIT_CORE,
                  "", -1);
}

TEST_F(Keys, RlimitUnlimitedAndInfinityAreMinusOne) {
    expect_record(parse(EP_CONFIG_SET_STRING, "rlimit.as", "unlimited"), KeyId::Rlimit, EP_OP_RLIMIT, -1, -1, RLIMIT_AS,
                  "", -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "rlimit.stack", "infinity:infinity"), KeyId::Rlimit, EP_OP_RLIMIT, -1, -1,
                  RLIMIT_STACK, "", -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "rlimit.cpu", "10:unlimited"), KeyId::Rlimit, EP_OP_RLIMIT, 10, -1,
                  RLIMIT_CPU, "", -1);
}

TEST_F(Keys, GroupsNumbersAndNames) {
    struct group *root = getgrnam("root");
    ASSERT_NE(root, nullptr);
    uint32_t want[] = {0, 1, uint32_t(root->gr_gid)};
    expect_record(parse(EP_CONFIG_SET_STRING, "groups", "0,1,root"), KeyId::Groups, EP_OP_SETGROUPS, 3, 0, 0,
                  std::string(reinterpret_cast<const char *>(want), sizeof want), -1);
}

TEST_F(Keys, GroupsEmptyMeansNone) {
    expect_record(parse(EP_CONFIG_SET_STRING, "groups", ""), KeyId::Groups, EP_OP_SETGROUPS, 0, 0, 0, "", -1);
}

TEST_F(Keys, GidNumber) {
    expect_record(parse(EP_CONFIG_SET_STRING, "gid", "4294967294"), KeyId::Gid, EP_OP_SETGID, 4294967294LL, 0, 0, "",
                  -1);
}

TEST_F(Keys, GidName) {
    expect_record(parse(EP_CONFIG_SET_STRING, "gid", "root"), KeyId::Gid, EP_OP_SETGID, 0, 0, 0, "", -1);
}

TEST_F(Keys, UidNumber) {
    expect_record(parse(EP_CONFIG_SET_STRING, "uid", "1000"), KeyId::Uid, EP_OP_SETUID, 1000, 0, 0, "", -1);
}

TEST_F(Keys, UidName) {
    struct passwd *pw = getpwnam("daemon");
    if (!pw)
        GTEST_SKIP() << "no user daemon here";
    int64_t uid = pw->pw_uid;
    expect_record(parse(EP_CONFIG_SET_STRING, "uid", "daemon"), KeyId::Uid, EP_OP_SETUID, uid, 0, 0, "", -1);
}

TEST_F(Keys, SigmaskNames) {
    expect_record(parse(EP_CONFIG_SET_STRING, "sigmask", "USR1,TERM"), KeyId::Sigmask, EP_OP_SIGMASK,
                  int64_t(bit(SIGUSR1) | bit(SIGTERM)), 0, 0, "", -1);
}

TEST_F(Keys, SigmaskEmptyListIsNoSignals) {
    expect_record(parse(EP_CONFIG_SET_STRING, "sigmask", ""), KeyId::Sigmask, EP_OP_SIGMASK, 0, 0, 0, "", -1);
}

TEST_F(Keys, SigmaskBinarySigset) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, 64);
    expect_record(parse(EP_CONFIG_SET_BINARY, "sigmask", &set, sizeof set), KeyId::Sigmask, EP_OP_SIGMASK,
                  int64_t(bit(SIGUSR2) | bit(SIGRTMIN) | bit(64)), 0, 0, "", -1);
}

TEST_F(Keys, SigmaskBinaryKernelSet) {
    uint64_t set = bit(SIGHUP) | bit(SIGKILL);
    expect_record(parse(EP_CONFIG_SET_BINARY, "sigmask", &set, 8), KeyId::Sigmask, EP_OP_SIGMASK, int64_t(set), 0, 0,
                  "", -1);
}

TEST_F(Keys, SigdefaultNames) {
    expect_record(parse(EP_CONFIG_SET_STRING, "sigdefault", "INT,QUIT"), KeyId::Sigdefault, EP_OP_SIGDEFAULT,
                  int64_t(bit(SIGINT) | bit(SIGQUIT)), 0, 0, "", -1);
}

TEST_F(Keys, SigdefaultBinary) {
    uint64_t set = bit(SIGCHLD);
    expect_record(parse(EP_CONFIG_SET_BINARY, "sigdefault", &set, 8), KeyId::Sigdefault, EP_OP_SIGDEFAULT, int64_t(set),
                  0, 0, "", -1);
}

TEST_F(Keys, SigignoreNames) {
    expect_record(parse(EP_CONFIG_SET_STRING, "sigignore", "PIPE,SIGHUP,RTMIN+1"), KeyId::Sigignore, EP_OP_SIGIGNORE,
                  int64_t(bit(SIGPIPE) | bit(SIGHUP) | bit(SIGRTMIN + 1)), 0, 0, "", -1);
}

TEST_F(Keys, SigignoreBinary) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    expect_record(parse(EP_CONFIG_SET_BINARY, "sigignore", &set, sizeof set), KeyId::Sigignore, EP_OP_SIGIGNORE,
                  int64_t(bit(SIGPIPE)), 0, 0, "", -1);
}

TEST_F(Keys, UmaskOctal) {
    expect_record(parse(EP_CONFIG_SET_STRING, "umask", "022"), KeyId::Umask, EP_OP_UMASK, 022, 0, 0, "", -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "umask", "777"), KeyId::Umask, EP_OP_UMASK, 0777, 0, 0, "", -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "umask", "0"), KeyId::Umask, EP_OP_UMASK, 0, 0, 0, "", -1);
}

TEST_F(Keys, SetsidSetFlag) {
    expect_record(parse(EP_CONFIG_SET_FLAG, "setsid"), KeyId::Setsid, EP_OP_SETSID, 0, 0, 0, "", -1);
}

TEST_F(Keys, PgidNumber) {
    expect_record(parse(EP_CONFIG_SET_STRING, "pgid", "0"), KeyId::Pgid, EP_OP_SETPGID, 0, 0, 0, "", -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "pgid", "1234"), KeyId::Pgid, EP_OP_SETPGID, 1234, 0, 0, "", -1);
}

TEST_F(Keys, ArgvAppendsOneArgument) {
    expect_record(parse(EP_CONFIG_SET_STRING, "argv", "hello world"), KeyId::Argv, EP_OP_ARGV, 0, 0, 0,
                  str("hello world"), -1);
}

TEST_F(Keys, ArgvEmptyArgumentIsAllowed) {
    expect_record(parse(EP_CONFIG_SET_STRING, "argv", ""), KeyId::Argv, EP_OP_ARGV, 0, 0, 0, str(""), -1);
}

TEST_F(Keys, ArgvLongestValueIsAccepted) {
    std::string v(EP_VALUE_MAX - 1, 'a');
    auto p = parse(EP_CONFIG_SET_STRING, "argv", v.c_str());
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.payload.size(), size_t(EP_VALUE_MAX));
}

TEST_F(Keys, EnvNameEqualsValue) {
    expect_record(parse(EP_CONFIG_SET_STRING, "env", "PATH=/bin:/usr/bin"), KeyId::Env, EP_OP_ENV, 0, 0, 0,
                  str("PATH=/bin:/usr/bin"), -1);
    expect_record(parse(EP_CONFIG_SET_STRING, "env", "EMPTY="), KeyId::Env, EP_OP_ENV, 0, 0, 0, str("EMPTY="), -1);
}

TEST_F(Keys, ExecSetPath) {
    expect_record(parse(EP_CONFIG_SET_PATH, "exec", "/bin/true", AT_FDCWD), KeyId::Exec, EP_OP_EXEC_TARGET, 0, 0,
                  EP_EXEC_PATH, str("/bin/true"), -1);
}

TEST_F(Keys, ExecSetPathRelativeToDirfd) {
    expect_record(parse(EP_CONFIG_SET_PATH, "exec", "bin/true", dir_fd()), KeyId::Exec, EP_OP_EXEC_TARGET, 0, 0,
                  EP_EXEC_PATH, str("bin/true"), dir_fd());
}

TEST_F(Keys, ExecSetPathEmptyIsTheFdItself) {
    expect_record(parse(EP_CONFIG_SET_PATH_EMPTY, "exec", "", null_fd()), KeyId::Exec, EP_OP_EXEC_TARGET, 0, 0,
                  EP_EXEC_FD, str(""), null_fd());
}

TEST_F(Keys, ExecSetFd) {
    expect_record(parse(EP_CONFIG_SET_FD, "exec", nullptr, null_fd()), KeyId::Exec, EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_FD,
                  str(""), null_fd());
}

TEST_F(Keys, ExecSetStringIsSearchedInPath) {
    expect_record(parse(EP_CONFIG_SET_STRING, "exec", "true"), KeyId::Exec, EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_SEARCH,
                  str("true"), -1);
}

// Every call accepted above must encode to a frame the stub's decoder accepts: the parser is the
// caller's only check, the stub kills itself on a frame it rejects.
TEST_F(Keys, EveryAcceptedCallEncodesToAFrameTheStubAccepts) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    struct Call {
        unsigned cmd;
        const char *key;
        const void *value;
        int aux;
    };
    const Call calls[] = {
        {EP_CONFIG_SET_FD, "fd.5", nullptr, null_fd()},
        {EP_CONFIG_SET_PATH, "open.3", "/etc/passwd", AT_FDCWD},
        {EP_CONFIG_SET_PATH, "open.3", "etc/passwd", dir_fd()},
        {EP_CONFIG_SET_STRING, "open.4:wronly,creat,trunc:0600", "out.txt", 0},
        {EP_CONFIG_SET_FLAG, "close.7", nullptr, 0},
        {EP_CONFIG_SET_STRING, "closefrom", "3", 0},
        {EP_CONFIG_SET_PATH, "cwd", "/tmp", AT_FDCWD},
        {EP_CONFIG_SET_PATH_EMPTY, "cwd", "", dir_fd()},
        {EP_CONFIG_SET_PATH_EMPTY, "cwd", "tmp", AT_FDCWD},
        {EP_CONFIG_SET_STRING, "cwd", "/tmp", 0},
        {EP_CONFIG_SET_FD, "cwd", nullptr, dir_fd()},
        {EP_CONFIG_SET_PATH, "root", "/", AT_FDCWD},
        {EP_CONFIG_SET_STRING, "root", "/", 0},
        {EP_CONFIG_SET_STRING, "rlimit.nofile", "100:200", 0},
        {EP_CONFIG_SET_STRING, "rlimit.cpu", "unlimited", 0},
        {EP_CONFIG_SET_STRING, "groups", "0,1", 0},
        {EP_CONFIG_SET_STRING, "groups", "", 0},
        {EP_CONFIG_SET_STRING, "gid", "0", 0},
        {EP_CONFIG_SET_STRING, "uid", "4294967294", 0},
        {EP_CONFIG_SET_STRING, "sigmask", "USR1,TERM", 0},
        {EP_CONFIG_SET_BINARY, "sigmask", &set, int(sizeof set)},
        {EP_CONFIG_SET_STRING, "sigdefault", "INT", 0},
        {EP_CONFIG_SET_STRING, "sigignore", "PIPE", 0},
        {EP_CONFIG_SET_STRING, "umask", "777", 0},
        {EP_CONFIG_SET_FLAG, "setsid", nullptr, 0},
        {EP_CONFIG_SET_STRING, "pgid", "2147483647", 0},
        {EP_CONFIG_SET_STRING, "argv", "", 0},
        {EP_CONFIG_SET_STRING, "env", "A=b", 0},
        {EP_CONFIG_SET_PATH, "exec", "/bin/true", AT_FDCWD},
        {EP_CONFIG_SET_PATH_EMPTY, "exec", "", null_fd()},
        {EP_CONFIG_SET_FD, "exec", nullptr, null_fd()},
        {EP_CONFIG_SET_STRING, "exec", "true", 0},
    };
    for (const auto &call : calls) {
        SCOPED_TRACE(call.key);
        auto p = parse(call.cmd, call.key, call.value, call.aux);
        ASSERT_EQ(p.err, 0) << p.msg;
        ep::detail::FrameBuilder fb;
        UniqueFd fd;
        if (p.r.caller_fd >= 0)
            fd = UniqueFd(fcntl(p.r.caller_fd, F_DUPFD_CLOEXEC, 0));
        ASSERT_TRUE(fb.fits(p.r));
        fb.add(0, p.r, std::move(fd));
        const auto &bytes = fb.finish(0);
        std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
        std::memcpy(aligned.data(), bytes.data(), bytes.size());
        ep_wire_cursor cur{};
        uint32_t bad = 0;
        EXPECT_EQ(ep_wire_check_frame(aligned.data(), uint32_t(bytes.size()), uint32_t(fb.fds().size()), &cur, &bad),
                  0);
    }
}

// ---- values the stub would refuse must be refused here ----------------------------------------
// The stub's decoder rejects an empty string for these ops (decode.c: empty_string_ok = 0, or "" needs
// a descriptor); a parser that lets them through makes the stub kill itself with a BAD_FRAME verdict.

TEST_F(Keys, OpenEmptyPathStringIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3", ""), -EINVAL);
}

TEST_F(Keys, RootEmptyStringIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "root", ""), -EINVAL);
}

TEST_F(Keys, CwdEmptyStringIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "cwd", ""), -EINVAL);
}

TEST_F(Keys, ExecEmptyStringIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "exec", ""), -EINVAL);
}

TEST_F(Keys, ExecEmptyPathWithoutDescriptorIsRejected) {
    expect_error(parse(EP_CONFIG_SET_PATH_EMPTY, "exec", "", AT_FDCWD), -EINVAL, "AT_FDCWD");
}

TEST_F(Keys, CwdEmptyPathWithoutDescriptorIsRejected) {
    expect_error(parse(EP_CONFIG_SET_PATH_EMPTY, "cwd", "", AT_FDCWD), -EINVAL, "AT_FDCWD");
}

// ---- key and command rejections ---------------------------------------------------------------

TEST_F(Keys, UnknownKey) {
    expect_error(parse(EP_CONFIG_SET_STRING, "nosuchkey", "x"), -EINVAL, "unknown key");
}

TEST_F(Keys, UnknownKeyThatPrefixesAKnownOne) {
    expect_error(parse(EP_CONFIG_SET_STRING, "argvx", "x"), -EINVAL, "unknown key");
    expect_error(parse(EP_CONFIG_SET_STRING, "ar", "x"), -EINVAL, "unknown key");
}

TEST_F(Keys, SuffixOnAPlainKey) {
    expect_error(parse(EP_CONFIG_SET_STRING, "umask.3", "022"), -EINVAL, "no suffix");
    expect_error(parse(EP_CONFIG_SET_FLAG, "setsid."), -EINVAL, "no suffix");
}

TEST_F(Keys, MissingSuffix) {
    expect_error(parse(EP_CONFIG_SET_FD, "fd", nullptr, null_fd()), -EINVAL, "fd.<N>");
    expect_error(parse(EP_CONFIG_SET_FD, "fd.", nullptr, null_fd()), -EINVAL, "fd.<N>");
    expect_error(parse(EP_CONFIG_SET_STRING, "rlimit", "1:2"), -EINVAL, "rlimit.");
}

TEST_F(Keys, WrongCommandForEveryKey) {
    size_t n = 0;
    const KeyInfo *keys = key_table(&n);
    for (size_t i = 0; i < n; i++) {
        std::string key = keys[i].name;
        if (std::string(keys[i].suffix) == ".<N>")
            key += ".3";
        else if (*keys[i].suffix)
            key += ".nofile";
        for (unsigned cmd = EP_CONFIG_SET_FLAG; cmd <= EP_CONFIG_CMD_EXEC; cmd++) {
            if (keys[i].commands & (1u << cmd))
                continue;
            SCOPED_TRACE(key + " cmd " + std::to_string(cmd));
            expect_error(parse(cmd, key.c_str(), "x", 0), -EINVAL, "is not accepted");
        }
    }
}

TEST_F(Keys, SetFlagWithValue) {
    expect_error(parse(EP_CONFIG_SET_FLAG, "setsid", "x", 0), -EINVAL, "SET_FLAG");
}

TEST_F(Keys, SetFlagWithAux) {
    expect_error(parse(EP_CONFIG_SET_FLAG, "setsid", nullptr, 1), -EINVAL, "SET_FLAG");
}

TEST_F(Keys, SetStringWithoutValue) {
    expect_error(parse(EP_CONFIG_SET_STRING, "argv", nullptr, 0), -EINVAL, "SET_STRING");
}

TEST_F(Keys, SetStringWithAux) {
    expect_error(parse(EP_CONFIG_SET_STRING, "argv", "x", 3), -EINVAL, "SET_STRING");
}

TEST_F(Keys, SetBinarySizeZero) {
    uint64_t set = 0;
    expect_error(parse(EP_CONFIG_SET_BINARY, "sigmask", &set, 0), -EINVAL, "SET_BINARY");
}

TEST_F(Keys, SetBinaryLargerThanValueMax) {
    std::vector<char> big(EP_VALUE_MAX + 1);
    expect_error(parse(EP_CONFIG_SET_BINARY, "sigmask", big.data(), EP_VALUE_MAX + 1), -EINVAL, "SET_BINARY");
}

TEST_F(Keys, SetBinaryNullValue) {
    expect_error(parse(EP_CONFIG_SET_BINARY, "sigmask", nullptr, 8), -EINVAL, "SET_BINARY");
}

TEST_F(Keys, SetBinarySignalSetOfWrongSize) {
    uint32_t set = 1;
    expect_error(parse(EP_CONFIG_SET_BINARY, "sigmask", &set, 4), -EINVAL, "sigset_t");
}

TEST_F(Keys, KeyOf256BytesIsRejected) {
    std::string key(EP_KEY_MAX, 'a');
    expect_error(parse(EP_CONFIG_SET_STRING, key.c_str(), "x"), -EINVAL, "1 to 255");
    std::string longer(4096, 'b');
    expect_error(parse(EP_CONFIG_SET_STRING, longer.c_str(), "x"), -EINVAL, "1 to 255");
}

TEST_F(Keys, KeyOf255BytesIsLookedUp) {
    std::string key(EP_KEY_MAX - 1, 'a');
    expect_error(parse(EP_CONFIG_SET_STRING, key.c_str(), "x"), -EINVAL, "unknown key");
}

TEST_F(Keys, EmptyKey) {
    expect_error(parse(EP_CONFIG_SET_STRING, "", "x"), -EINVAL, "1 to 255");
}

TEST_F(Keys, NullKey) {
    expect_error(parse(EP_CONFIG_SET_STRING, nullptr, "x"), -EINVAL, "needs a key");
}

TEST_F(Keys, SetPathEmptyString) {
    expect_error(parse(EP_CONFIG_SET_PATH, "cwd", "", AT_FDCWD), -EINVAL, "non-empty");
    expect_error(parse(EP_CONFIG_SET_PATH, "exec", "", null_fd()), -EINVAL, "non-empty");
}

TEST_F(Keys, SetPathNullValue) {
    expect_error(parse(EP_CONFIG_SET_PATH, "cwd", nullptr, AT_FDCWD), -EINVAL);
}

TEST_F(Keys, SetPathNegativeAuxOtherThanAtFdcwd) {
    expect_error(parse(EP_CONFIG_SET_PATH, "cwd", "/tmp", -5), -EINVAL, "AT_FDCWD");
}

TEST_F(Keys, SetFdWithValue) {
    expect_error(parse(EP_CONFIG_SET_FD, "fd.3", "x", null_fd()), -EINVAL, "SET_FD");
}

TEST_F(Keys, SetFdNegativeAux) {
    expect_error(parse(EP_CONFIG_SET_FD, "fd.3", nullptr, -1), -EINVAL, "SET_FD");
}

TEST_F(Keys, SetFdOnClosedDescriptorIsEbadf) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    close(fd);
    expect_error(parse(EP_CONFIG_SET_FD, "fd.3", nullptr, fd), -EBADF, "not an open file descriptor");
}

TEST_F(Keys, SetPathWithClosedDirfdIsEbadf) {
    int fd = open("/", O_PATH | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    close(fd);
    expect_error(parse(EP_CONFIG_SET_PATH, "cwd", "tmp", fd), -EBADF);
}

TEST_F(Keys, UnknownCommandIsEopnotsupp) {
    expect_error(parse(99, "argv", "x"), -EOPNOTSUPP, "unknown command");
    expect_error(parse(EP_CONFIG_CMD_EXEC + 1, "argv", "x"), -EOPNOTSUPP);
}

TEST_F(Keys, ValueWithoutNulWithinValueMax) {
    std::vector<char> v(EP_VALUE_MAX, 'a'); // no NUL in the first EP_VALUE_MAX bytes
    expect_error(parse(EP_CONFIG_SET_STRING, "argv", v.data()), -EINVAL, "longer than");
}

// ---- malformed values -------------------------------------------------------------------------

TEST_F(Keys, BadFdNumbers) {
    for (const char *key : {"fd.-1", "fd.abc", "fd.2147483648", "fd.+1", "fd.1x", "fd. 1", "fd.99999999999999999999"}) {
        SCOPED_TRACE(key);
        expect_error(parse(EP_CONFIG_SET_FD, key, nullptr, null_fd()), -EINVAL, "descriptor number");
    }
}

TEST_F(Keys, BadCloseAndOpenNumbers) {
    expect_error(parse(EP_CONFIG_SET_FLAG, "close.-1"), -EINVAL, "descriptor number");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.x:rdonly", "f"), -EINVAL, "descriptor number");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.:rdonly", "f"), -EINVAL, "descriptor number");
}

TEST_F(Keys, BadClosefromValue) {
    expect_error(parse(EP_CONFIG_SET_STRING, "closefrom", "-1"), -EINVAL, "descriptor number");
    expect_error(parse(EP_CONFIG_SET_STRING, "closefrom", ""), -EINVAL, "descriptor number");
}

TEST_F(Keys, UnknownOpenFlag) {
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:bogus", "f"), -EINVAL, "unknown open flag 'bogus'");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:RDONLY", "f"), -EINVAL, "unknown open flag");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:rdonly,,creat", "f"), -EINVAL, "unknown open flag");
}

// A comma list ends with a name: signal lists and group lists reject a trailing comma, and so must
// the open flags.
TEST_F(Keys, OpenFlagsTrailingComma) {
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:wronly,", "f"), -EINVAL, "open flag");
}

TEST_F(Keys, BadNumericOpenFlags) {
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:0x", "f"), -EINVAL, "open flags");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:09", "f"), -EINVAL, "open flags");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:0xzz", "f"), -EINVAL, "open flags");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:4294967296", "f"), -EINVAL, "open flags");
    expect_error(parse(EP_CONFIG_SET_STRING, "open.3:2147483648", "f"), -EINVAL, "open flags");
}

TEST_F(Keys, BadOpenMode) {
    for (const char *key :
         {"open.3:rdonly:0999", "open.3:rdonly:010000", "open.3:rdonly:", "open.3:rdonly:-1", "open.3:rdonly:0644:x"}) {
        SCOPED_TRACE(key);
        expect_error(parse(EP_CONFIG_SET_STRING, key, "f"), -EINVAL, "mode");
    }
}

TEST_F(Keys, RlimitUnknownResource) {
    expect_error(parse(EP_CONFIG_SET_STRING, "rlimit.bogus", "1"), -EINVAL, "unknown resource 'bogus'");
    expect_error(parse(EP_CONFIG_SET_STRING, "rlimit.NOFILE", "1"), -EINVAL, "unknown resource");
}

TEST_F(Keys, RlimitNotANumber) {
    for (const char *v : {"abc", "", "-1", "1:", ":1", "1:2:3", "+5", "1.5", "99999999999999999999"}) {
        SCOPED_TRACE(v);
        expect_error(parse(EP_CONFIG_SET_STRING, "rlimit.nofile", v), -EINVAL, "soft:hard");
    }
}

TEST_F(Keys, RlimitSoftAboveHard) {
    expect_error(parse(EP_CONFIG_SET_STRING, "rlimit.nofile", "200:100"), -EINVAL, "above the hard limit");
}

TEST_F(Keys, RlimitUnlimitedSoftWithFiniteHard) {
    expect_error(parse(EP_CONFIG_SET_STRING, "rlimit.nofile", "unlimited:100"), -EINVAL, "above the hard limit");
}

TEST_F(Keys, UnknownUser) {
    expect_error(parse(EP_CONFIG_SET_STRING, "uid", "no-such-user-ep-test"), -EINVAL, "no user");
    expect_error(parse(EP_CONFIG_SET_STRING, "uid", ""), -EINVAL, "no user");
}

TEST_F(Keys, UidMinusOneIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "uid", "4294967295"), -EINVAL, "no user");
    expect_error(parse(EP_CONFIG_SET_STRING, "uid", "-1"), -EINVAL, "no user");
}

TEST_F(Keys, UnknownGroup) {
    expect_error(parse(EP_CONFIG_SET_STRING, "gid", "no-such-group-ep-test"), -EINVAL, "no group");
    expect_error(parse(EP_CONFIG_SET_STRING, "gid", "4294967295"), -EINVAL, "no group");
}

TEST_F(Keys, GroupsWithUnknownName) {
    expect_error(parse(EP_CONFIG_SET_STRING, "groups", "0,no-such-group-ep-test"), -EINVAL, "'no-such-group-ep-test'");
}

std::string zeros(int n) {
    std::string list;
    for (int i = 0; i < n; i++)
        list += i ? ",0" : "0";
    return list;
}

// A list the parser accepts must fit in one frame (EP_WIRE_FRAME_MAX): the stub cannot receive more.
TEST_F(Keys, GroupsLongestListFitsInAFrame) {
    auto p = parse(EP_CONFIG_SET_STRING, "groups", zeros(32768).c_str());
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.a, 32768);
    ep::detail::FrameBuilder empty;
    EXPECT_TRUE(empty.fits(p.r)) << "a payload of " << p.r.payload.size() << " bytes";
}

TEST_F(Keys, GroupsListLongerThanAFrameIsRejected) {
    expect_error(parse(EP_CONFIG_SET_STRING, "groups", zeros(32769).c_str()), -EINVAL, "more than 32768 groups");
}

TEST_F(Keys, GroupsTrailingComma) {
    expect_error(parse(EP_CONFIG_SET_STRING, "groups", "0,"), -EINVAL);
}

TEST_F(Keys, GroupsEmptyItem) {
    expect_error(parse(EP_CONFIG_SET_STRING, "groups", ",0"), -EINVAL);
    expect_error(parse(EP_CONFIG_SET_STRING, "groups", "0,,1"), -EINVAL);
}

TEST_F(Keys, BadSignalNames) {
    for (const char *v : {"BOGUS", "USR1,NOPE", "term", "0", "65", "SIG", "RTMIN+99", ",USR1"}) {
        SCOPED_TRACE(v);
        expect_error(parse(EP_CONFIG_SET_STRING, "sigmask", v), -EINVAL, "unknown signal");
    }
}

TEST_F(Keys, SignalListTrailingComma) {
    expect_error(parse(EP_CONFIG_SET_STRING, "sigmask", "USR1,"), -EINVAL, "unknown signal");
    expect_error(parse(EP_CONFIG_SET_STRING, "sigdefault", "INT,"), -EINVAL, "unknown signal");
}

TEST_F(Keys, SigignoreKillOrStop) {
    expect_error(parse(EP_CONFIG_SET_STRING, "sigignore", "KILL"), -EINVAL, "KILL and STOP");
    expect_error(parse(EP_CONFIG_SET_STRING, "sigignore", "PIPE,STOP"), -EINVAL, "KILL and STOP");
    uint64_t set = bit(SIGKILL);
    expect_error(parse(EP_CONFIG_SET_BINARY, "sigignore", &set, 8), -EINVAL, "KILL and STOP");
}

TEST_F(Keys, SigdefaultKillOrStop) {
    expect_error(parse(EP_CONFIG_SET_STRING, "sigdefault", "SIGSTOP"), -EINVAL, "KILL and STOP");
}

TEST_F(Keys, SigmaskMayNameKill) {
    auto p = parse(EP_CONFIG_SET_STRING, "sigmask", "KILL,STOP");
    EXPECT_EQ(p.err, 0) << p.msg; // the kernel silently leaves them unblocked
}

TEST_F(Keys, BadUmask) {
    for (const char *v : {"8", "01000", "", "-1", "0x1", "22 ", "abc"}) {
        SCOPED_TRACE(v);
        expect_error(parse(EP_CONFIG_SET_STRING, "umask", v), -EINVAL, "umask");
    }
}

TEST_F(Keys, BadPgid) {
    for (const char *v : {"-1", "abc", "", "2147483648"}) {
        SCOPED_TRACE(v);
        expect_error(parse(EP_CONFIG_SET_STRING, "pgid", v), -EINVAL, "process group");
    }
}

TEST_F(Keys, EnvWithoutName) {
    expect_error(parse(EP_CONFIG_SET_STRING, "env", "=x"), -EINVAL, "NAME=value");
}

TEST_F(Keys, EnvWithoutEquals) {
    expect_error(parse(EP_CONFIG_SET_STRING, "env", "noequals"), -EINVAL, "NAME=value");
    expect_error(parse(EP_CONFIG_SET_STRING, "env", ""), -EINVAL, "NAME=value");
}

// ---- the key table ----------------------------------------------------------------------------

TEST(KeyTable, HasEveryKeyOfTheIssueOnce) {
    size_t n = 0;
    const KeyInfo *keys = key_table(&n);
    std::set<std::string> names;
    for (size_t i = 0; i < n; i++) {
        EXPECT_TRUE(names.insert(keys[i].name).second) << "duplicate " << keys[i].name;
        EXPECT_NE(keys[i].commands, 0u) << keys[i].name;
        EXPECT_GT(std::strlen(keys[i].summary), 0u) << keys[i].name;
    }
    for (const char *k : {"fd", "open", "close", "closefrom", "cwd", "root", "rlimit", "uid", "gid", "groups",
                          "sigmask", "sigdefault", "umask", "setsid", "pgid", "argv", "env", "exec"})
        EXPECT_EQ(names.count(k), 1u) << k;
}

TEST(KeyTable, SuffixesMatchTheKeyLanguage) {
    size_t n = 0;
    const KeyInfo *keys = key_table(&n);
    for (size_t i = 0; i < n; i++) {
        std::string name = keys[i].name, suffix = keys[i].suffix;
        std::string want = name == "fd" || name == "open" || name == "close" || name == "dup" ? ".<N>"
                           : name == "rlimit"                                                 ? ".<resource>"
                                                                                              : "";
        EXPECT_EQ(suffix, want) << name;
    }
}

TEST(KeyTable, KeyIdFollowsTableOrder) {
    size_t n = 0;
    const KeyInfo *keys = key_table(&n);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (size_t i = 0; i < n; i++) {
        std::string key = keys[i].name;
        if (*keys[i].suffix)
            key += std::string(keys[i].suffix) == ".<N>" ? ".3" : ".nofile";
        Record r;
        KeyId id{};
        std::string msg;
        // Any command: the id is set once the key is found, whatever the parser says about the value.
        unsigned cmd = 0;
        while (!(keys[i].commands & (1u << cmd)))
            cmd++;
        const void *value = cmd == EP_CONFIG_SET_FLAG || cmd == EP_CONFIG_SET_FD ? nullptr : "1";
        int aux = cmd == EP_CONFIG_SET_FD ? fd : cmd == EP_CONFIG_SET_PATH ? AT_FDCWD : 0;
        uint64_t set = 0;
        if (cmd == EP_CONFIG_SET_BINARY) {
            value = &set;
            aux = 8;
        }
        parse_config(cmd, key.c_str(), value, aux, r, id, msg);
        EXPECT_EQ(static_cast<size_t>(id), i) << key << ": " << msg;
    }
    close(fd);
}

std::filesystem::path source_dir() {
    if (const char *env = std::getenv("EP_SOURCE_DIR"))
        return env;
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

// docs/keys.md is the prose of keys.def: every key appears in it as `name` or `name.<...>`.
TEST(KeyTable, EveryKeyIsDocumentedInKeysMd) {
    std::filesystem::path doc = source_dir() / "docs" / "keys.md";
    if (!std::filesystem::exists(doc))
        GTEST_SKIP() << doc << " does not exist yet (being written); this test checks it once it does";
    std::ifstream in(doc);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    size_t n = 0;
    const KeyInfo *keys = key_table(&n);
    for (size_t i = 0; i < n; i++) {
        std::string name = keys[i].name;
        bool found =
            text.find("`" + name + "`") != std::string::npos || text.find("`" + name + ".") != std::string::npos;
        EXPECT_TRUE(found) << "key " << name << keys[i].suffix << " is not documented in " << doc << " (expected `"
                           << name << "` or `" << name << ".<...>`)";
    }
}

// ---- names ------------------------------------------------------------------------------------

TEST(SignalNames, EveryNameMapsToItsNumber) {
    const std::pair<const char *, int> want[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
        {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
        {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
        {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
        {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
        {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
    };
    for (auto [name, sig] : want) {
        EXPECT_EQ(signal_number(name), sig) << name;
        EXPECT_EQ(signal_number(std::string("SIG") + name), sig) << "SIG" << name;
    }
}

TEST(SignalNames, NumbersOneToSixtyFour) {
    for (int n = 1; n <= 64; n++) {
        EXPECT_EQ(signal_number(std::to_string(n)), n);
        EXPECT_EQ(signal_number("SIG" + std::to_string(n)), n);
    }
}

TEST(SignalNames, NumbersOutOfRange) {
    for (const char *s : {"0", "65", "-1", "+1", "4294967297", "1x", " 1"})
        EXPECT_EQ(signal_number(s), std::nullopt) << s;
}

TEST(SignalNames, RealTimeRelativeToRtminAndRtmax) {
    EXPECT_EQ(signal_number("RTMIN"), SIGRTMIN);
    EXPECT_EQ(signal_number("SIGRTMIN"), SIGRTMIN);
    EXPECT_EQ(signal_number("RTMIN+2"), SIGRTMIN + 2);
    EXPECT_EQ(signal_number("SIGRTMIN+1"), SIGRTMIN + 1);
    EXPECT_EQ(signal_number("RTMAX"), SIGRTMAX);
    EXPECT_EQ(signal_number("RTMAX-1"), SIGRTMAX - 1);
    EXPECT_EQ(signal_number("RTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMAX);
    EXPECT_EQ(signal_number("RTMAX-" + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMIN);
}

TEST(SignalNames, RealTimeOutOfRange) {
    std::string past = std::to_string(SIGRTMAX - SIGRTMIN + 1);
    for (const std::string &s : {"RTMIN+" + past, "RTMAX-" + past, std::string("RTMIN-1"), std::string("RTMAX+1"),
                                 std::string("RTMIN+"), std::string("RTMAX-"), std::string("RTMIN+-1"),
                                 std::string("RTMAX--1"), std::string("RTMINX"), std::string("RTMIN+1x")})
        EXPECT_EQ(signal_number(s), std::nullopt) << s;
}

TEST(SignalNames, UnknownNames) {
    for (const char *s : {"", "SIG", "BOGUS", "term", "SIGSIGTERM", "TERM ", "KILL,"})
        EXPECT_EQ(signal_number(s), std::nullopt) << s;
}

TEST(SignalSet, ListBecomesBits) {
    std::string bad;
    EXPECT_EQ(signal_set("HUP,INT,64", bad), bit(1) | bit(2) | bit(64));
    EXPECT_EQ(signal_set("", bad), 0u);
}

TEST(SignalSet, BadItemIsReported) {
    std::string bad;
    EXPECT_EQ(signal_set("HUP,NOPE,INT", bad), std::nullopt);
    EXPECT_EQ(bad, "NOPE");
}

TEST(SignalSet, TrailingCommaIsRejected) {
    std::string bad = "x";
    EXPECT_EQ(signal_set("HUP,", bad), std::nullopt);
    EXPECT_EQ(bad, "");
}

TEST(RlimitNames, AllSixteenAsPrlimitSpellsThem) {
    const std::pair<const char *, int> want[] = {
        {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
        {"data", RLIMIT_DATA},       {"fsize", RLIMIT_FSIZE},       {"locks", RLIMIT_LOCKS},
        {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
        {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},       {"rss", RLIMIT_RSS},
        {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
        {"stack", RLIMIT_STACK},
    };
    std::set<int> seen;
    for (auto [name, res] : want) {
        EXPECT_EQ(rlimit_resource(name), res) << name;
        seen.insert(res);
    }
    EXPECT_EQ(seen.size(), size_t(RLIMIT_NLIMITS)) << "every resource has a name";
}

TEST(RlimitNames, UnknownNames) {
    for (const char *s : {"", "NOFILE", "nofiles", "RLIMIT_NOFILE", "7"})
        EXPECT_EQ(rlimit_resource(s), std::nullopt) << s;
}

TEST(RlimitNames, NamesListHasAllSixteen) {
    std::string all = ep::detail::rlimit_names();
    EXPECT_EQ(std::count(all.begin(), all.end(), ','), 15);
    std::stringstream ss(all);
    for (std::string item; std::getline(ss, item, ',');)
        EXPECT_TRUE(rlimit_resource(item).has_value()) << item;
}

} // namespace
