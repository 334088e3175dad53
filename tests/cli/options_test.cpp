// SPDX-License-Identifier: MIT
// options_test.cpp - every option of `emptyproc run`, checked by what the exec'ed probe sees.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

bool is_root() {
    return geteuid() == 0;
}

int access_mode(const std::string &fd_line) { // "PATH flags=<octal> cloexec=N"
    size_t at = fd_line.find("flags=");
    return static_cast<int>(std::stol(fd_line.substr(at + 6), nullptr, 8)) & O_ACCMODE;
}

std::string hex_mask(std::initializer_list<int> signals) {
    unsigned long long mask = 0;
    for (int s : signals)
        mask |= 1ull << (s - 1);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", mask);
    return buf;
}

class RunOptions : public CliModeTest {};

TEST_P(RunOptions, ByDefaultPassesStdioAndEnvironmentOnly) {
    int stray = open("/dev/null", O_RDONLY); // not CLOEXEC, handed to the CLI as its fd 9
    CliSpec spec;
    spec.fds = {{9, stray}};
    spec.environment = std::vector<std::string>{"EP_CLI_MARK=from-caller", "PATH=/usr/bin:/bin"};
    CliResult r = run_probe({}, {"print"}, spec);
    close(stray);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["fds"], "0,1,2");
    EXPECT_CONTAINS(v["fd.0"], "/dev/null");
    EXPECT_EQ(v.environment(), (std::vector<std::string>{"EP_CLI_MARK=from-caller", "PATH=/usr/bin:/bin"}));
    EXPECT_EQ(v["argv.0"], EP_PROBE_PATH);
    EXPECT_EQ(r.err, "");
}

// --strategy: every strategy runs the program and passes it the same stdio and nothing else.
TEST_P(RunOptions, EveryStrategyRunsTheProgramWithStdioOnly) {
    for (const char *strategy : {"clone_vm", "fork", "exec_stub", "zygote", "pool", "safeexec", "pool:clone_vm",
                                 "pool:fork", "pool:exec_stub"}) {
        CliResult r = run_probe({"--strategy", strategy});
        ASSERT_EQ(r.exit_code(), 0) << strategy << ": " << r.err;
        ProbeView v(r.out);
        EXPECT_EQ(v["fds"], "0,1,2") << strategy;
        EXPECT_EQ(v["comm"], "probe") << strategy;
        EXPECT_EQ(r.err, "") << strategy;
    }
}

TEST_P(RunOptions, Cwd) {
    TempDir dir;
    CliResult r = run_probe({"--cwd", dir.path()});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["cwd"], dir.path());
}

TEST_P(RunOptions, ChrootComesBeforeCwdWhateverTheCommandLineOrder) {
    if (!is_root())
        GTEST_SKIP() << "chroot needs root";
    TempDir root; // holds nothing but the static probe and a directory of its own
    std::filesystem::copy_file(EP_PROBE_STATIC_PATH, root.path() + "/probe");
    std::filesystem::create_directory(root.path() + "/only-in-the-new-root");
    CliSpec spec;
    spec.args = {"run", "--cwd", "/only-in-the-new-root", "--chroot", root.path(), "--", "/probe", "print"};
    if (sync())
        spec.args.insert(spec.args.begin() + 1, "--sync");
    CliResult r = run_cli(spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["cwd"], "/only-in-the-new-root"); // resolvable only inside the new root
}

TEST_P(RunOptions, RlimitIsRepeatable) {
    CliResult r = run_probe({"--rlimit", "nofile=100:200", "--rlimit", "core=0:unlimited"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["rlimit.nofile"], "100:200");
    EXPECT_EQ(v["rlimit.core"], "0:unlimited");
}

TEST_P(RunOptions, EnvAddsAndOverridesTheInheritedEnvironment) {
    CliSpec spec;
    spec.environment = std::vector<std::string>{"EP_KEEP=1", "EP_OVERRIDE=old", "PATH=/bin"};
    CliResult r = run_probe({"--env", "EP_NEW=a=b", "--env", "EP_OVERRIDE=new"}, {"print"}, spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out).environment(),
              (std::vector<std::string>{"EP_KEEP=1", "PATH=/bin", "EP_NEW=a=b", "EP_OVERRIDE=new"}));
}

TEST_P(RunOptions, ClearenvStartsEmpty) {
    CliResult r = run_probe({"--clearenv"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["envc"], "0");
}

TEST_P(RunOptions, ProgramWithoutSlashIsSearchedInTheConfiguredPath) {
    std::string bin_dir = std::filesystem::path(EP_PROBE_PATH).parent_path();
    CliSpec spec;
    spec.environment = std::vector<std::string>{"PATH=/nonexistent"}; // the CLI's own PATH must not matter
    spec.args = {"run", "--clearenv", "--env", "PATH=/nonexistent:" + bin_dir, "--", "probe", "print"};
    if (sync())
        spec.args.insert(spec.args.begin() + 1, "--sync");
    CliResult r = run_cli(spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["argv.0"], "probe");
    EXPECT_EQ(v["envc"], "1");
}

TEST_P(RunOptions, Argv0AndArgumentsReachTheProgramUntouched) {
    CliResult r = run_probe({"--argv0", "renamed"}, {"print", "--cwd", "/", "--", ""});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["argc"], "6");
    EXPECT_EQ(v["argv.0"], "renamed");
    EXPECT_EQ(v["argv.2"], "--cwd");
    EXPECT_EQ(v["argv.4"], "--");
    EXPECT_EQ(v["argv.5"], "");
    EXPECT_NE(v["cwd"], "/");
}

TEST_P(RunOptions, DupGivesTheProgramOneOfOurDescriptors) {
    TempDir dir;
    std::string path = dir.file("shared", "");
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    CliSpec spec;
    spec.fds = {{7, fd}};
    CliResult r = run_probe({"--dup", "5=7"}, {"print"}, spec);
    close(fd);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["fds"], "0,1,2,5");
    EXPECT_CONTAINS(v["fd.5"], path + " ");
    EXPECT_CONTAINS(v["fd.5"], "cloexec=0");
}

TEST_P(RunOptions, DupOverridesStdio) {
    TempDir dir;
    std::string path = dir.file("out", "");
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    CliSpec spec;
    spec.fds = {{6, fd}};
    CliResult r = run_probe({"--dup", "1=6"}, {"print"}, spec);
    close(fd);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(ProbeView(read_file(path))["fds"], "0,1,2");
}

TEST_P(RunOptions, OpenIsReadOnly) {
    TempDir dir;
    std::string path = dir.file("input", "first line\n");
    CliResult r = run_probe({"--open", "3=" + path}, {"print", "read", "3"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_CONTAINS(v["fd.3"], path + " ");
    EXPECT_EQ(access_mode(v["fd.3"]), O_RDONLY);
    EXPECT_EQ(v["read"], "first line");
}

TEST_P(RunOptions, OpenWriteCreatesUnderOurUmaskNotTheProgramsOne) {
    TempDir dir;
    std::string path = dir.path() + "/created";
    CliSpec spec;
    spec.umask = 027;
    CliResult r = run_probe({"--umask", "077", "--open-write", "4=" + path}, {"print", "write", "4", "hello"}, spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(access_mode(ProbeView(r.out)["fd.4"]), O_WRONLY);
    EXPECT_EQ(read_file(path), "hello\n");
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_P(RunOptions, OpenWriteTruncates) {
    TempDir dir;
    std::string path = dir.file("existing", "a much longer text than the new one\n");
    CliResult r = run_probe({"--open-write", "4=" + path}, {"write", "4", "new"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(read_file(path), "new\n");
}

TEST_P(RunOptions, NoStdioLeavesTheProgramWithoutDescriptors) {
    CliResult r = run_probe({"--no-stdio"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
}

TEST_P(RunOptions, NoStdioKeepsTheConfiguredOnes) {
    TempDir dir;
    std::string path = dir.path() + "/out";
    CliResult r = run_probe({"--no-stdio", "--open-write", "1=" + path});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(read_file(path))["fds"], "1");
}

TEST_P(RunOptions, Umask) {
    CliResult r = run_probe({"--umask", "027"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["umask"], "0027");
}

TEST_P(RunOptions, SetsidMakesASessionLeader) {
    CliResult r = run_probe({"--setsid"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["sid"], v["pid"]);
    EXPECT_EQ(v["pgid"], v["pid"]);
}

TEST_P(RunOptions, PgidZeroMakesAGroupOfItsOwn) {
    CliResult r = run_probe({"--pgid", "0"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["pgid"], v["pid"]);
    EXPECT_NE(v["sid"], v["pid"]);
}

TEST_P(RunOptions, UidGidGroups) {
    if (!is_root())
        GTEST_SKIP() << "changing credentials needs root";
    CliResult r = run_probe({"--uid", "65534", "--gid", "65534", "--groups", "65534,100"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["uid"], "65534 65534 65534");
    EXPECT_EQ(v["gid"], "65534 65534 65534");
    EXPECT_EQ(v["groups"], "100,65534");
}

TEST_P(RunOptions, CredentialsApplyInASafeOrderWhateverTheCommandLineOrder) {
    if (!is_root())
        GTEST_SKIP() << "changing credentials needs root";
    // uid first on the command line: the library rejects groups, gid and rlimit after uid (they need
    // the privilege it drops), so this runs only if the CLI reorders them.
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    std::string hard = lim.rlim_max == RLIM_INFINITY ? "unlimited" : std::to_string(lim.rlim_max);
    CliResult r = run_probe({"--uid", "65534", "--groups", "", "--gid", "65534", "--rlimit", "nofile=64:" + hard});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["uid"], "65534 65534 65534");
    EXPECT_EQ(v["gid"], "65534 65534 65534");
    EXPECT_EQ(v["groups"], "");
    EXPECT_EQ(v["rlimit.nofile"], "64:" + hard);
}

TEST_P(RunOptions, UidAloneDropsSupplementaryGroups) {
    if (!is_root())
        GTEST_SKIP() << "changing credentials needs root";
    CliResult r = run_probe({"--uid", "65534"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["groups"], "");
}

TEST_P(RunOptions, CwdIsEnteredAsTheNewUser) {
    if (!is_root())
        GTEST_SKIP() << "changing credentials needs root";
    TempDir dir;
    std::string locked = dir.path() + "/root-only";
    mkdir(locked.c_str(), 0700);
    CliResult r = run_probe({"--cwd", locked, "--uid", "65534"});
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_CONTAINS(r.err, "cwd: EACCES");
    EXPECT_EQ(r.out, "");
}

TEST_P(RunOptions, Sigmask) {
    CliResult r = run_probe({"--sigmask", "USR1,TERM"});
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(ProbeView(r.out)["sigblk"], hex_mask({SIGUSR1, SIGTERM}));
}

TEST_P(RunOptions, ProgramStartsWithDefaultSignalsWhateverTheCli) {
    CliSpec spec;
    spec.ignore_int_quit = true; // the CLI starts with INT and QUIT ignored and USR1 blocked
    CliResult r = run_probe({}, {"print"}, spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["sigign"], hex_mask({}));
    EXPECT_EQ(v["sigblk"], hex_mask({}));
}

TEST_P(RunOptions, TraceShowsEachOpAndTheVerdicts) {
    CliResult r = run_probe({"--trace", "--cwd", "/tmp", "--setsid"}, {"exit", "3"});
    ASSERT_EQ(r.exit_code(), 3) << r.err;
    const char *verdict = sync() ? "ok" : "queued";
    EXPECT_CONTAINS(r.err, std::string("emptyproc: cwd=/tmp ... ") + verdict + "\n");
    EXPECT_CONTAINS(r.err, std::string("emptyproc: setsid ... ") + verdict + "\n");
    EXPECT_CONTAINS(r.err, std::string("emptyproc: exec=") + EP_PROBE_PATH + " ... " + verdict + "\n");
    EXPECT_CONTAINS(r.err, "emptyproc: exec ... ok, pid ");
    EXPECT_CONTAINS(r.err, " exited with status 3\n");
}

TEST_P(RunOptions, TraceShowsTheFailingOp) {
    CliResult r = run_probe({"--trace", "--cwd", "/nonexistent"});
    EXPECT_EQ(r.exit_code(), 125);
    if (sync())
        EXPECT_CONTAINS(r.err, "emptyproc: cwd=/nonexistent ... failed: ENOENT");
    else
        EXPECT_CONTAINS(r.err, "emptyproc: exec ... failed: ENOENT");
}

TEST_P(RunOptions, NothingOnStderrWithoutTrace) {
    CliResult r = run_probe({"--cwd", "/tmp"}, {"exit", "0"});
    ASSERT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.err, "");
}

EP_INSTANTIATE_MODES(RunOptions);

} // namespace
} // namespace ep::test
