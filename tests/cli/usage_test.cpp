// SPDX-License-Identifier: MIT
// usage_test.cpp - bad command lines exit with 2 and start nothing; --help and --version.
#include <unistd.h>

#include <filesystem>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

// `emptyproc run OPTIONS -- probe`, with a marker file the run would create if it got as far as
// starting anything: --open-write is the first op of every plan.
struct MarkedRun {
    TempDir dir;
    std::string marker = dir.path() + "/marker";

    CliResult run(const std::vector<std::string> &options) const {
        CliSpec spec;
        spec.args = {"run", "--open-write", "9=" + marker};
        spec.args.insert(spec.args.end(), options.begin(), options.end());
        spec.args.insert(spec.args.end(), {"--", EP_PROBE_PATH, "print"});
        return run_cli(spec);
    }
    bool anything_started() const { return std::filesystem::exists(marker); }
};

void expect_usage_error(const std::vector<std::string> &options, const std::string &message) {
    MarkedRun m;
    CliResult r = m.run(options);
    EXPECT_EQ(r.exit_code(), 2) << ::testing::PrintToString(options) << "\n" << r.err;
    EXPECT_CONTAINS(r.err, message) << ::testing::PrintToString(options);
    EXPECT_EQ(r.out, "") << ::testing::PrintToString(options);
    EXPECT_FALSE(m.anything_started()) << ::testing::PrintToString(options);
}

TEST(RunUsage, UnknownOptionStartsNothing) {
    expect_usage_error({"--no-such-option"}, "--no-such-option");
}

TEST(RunUsage, MissingProgram) {
    CliSpec spec;
    spec.args = {"run", "--cwd", "/"};
    CliResult r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_CONTAINS(r.err, "PROGRAM is required");
}

TEST(RunUsage, MissingSubcommand) {
    CliSpec spec;
    CliResult r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 2);
}

TEST(RunUsage, MalformedAssignmentsNameTheOption) {
    expect_usage_error({"--open", "3"}, "--open 3: expected N=PATH");
    expect_usage_error({"--open", "x=/etc/hostname"}, "--open x=/etc/hostname: 'x' is not a descriptor number");
    expect_usage_error({"--open", "-1=/etc/hostname"}, "--open -1=/etc/hostname: '-1' is not a descriptor number");
    expect_usage_error({"--open-write", "4="}, "--open-write 4=: expected N=PATH");
    expect_usage_error({"--dup", "3=x"}, "--dup 3=x: 'x' is not a descriptor number");
    expect_usage_error({"--dup", "3"}, "--dup 3: expected N=M");
    expect_usage_error({"--rlimit", "nofile"}, "--rlimit nofile: expected NAME=SOFT:HARD");
    expect_usage_error({"--env", "=value"}, "--env =value: expected NAME=VALUE");
    expect_usage_error({"--env", "NAME"}, "--env NAME: expected NAME=VALUE");
    expect_usage_error({"--cwd", ""}, "--cwd '': expected a directory");
    expect_usage_error({"--chroot", ""}, "--chroot '': expected a directory");
}

TEST(RunUsage, DupOfADescriptorWeDoNotHave) {
    expect_usage_error({"--dup", "3=250"}, "descriptor 250 is not open");
}

TEST(RunUsage, SameDescriptorTwice) {
    expect_usage_error({"--open", "3=/etc/hostname", "--dup", "3=1"}, "fd 3 is already configured by --dup 3=1");
    expect_usage_error({"--open-write", "9=/tmp/x"}, "fd 9 is already configured by --open-write 9=");
}

TEST(RunUsage, ValuesTheLibraryRejectsNameTheOption) {
    expect_usage_error({"--uid", "ep-no-such-user"}, "--uid ep-no-such-user: no user 'ep-no-such-user'");
    expect_usage_error({"--gid", "ep-no-such-group"}, "--gid ep-no-such-group: no group");
    expect_usage_error({"--groups", "0,ep-no-such-group"}, "--groups 0,ep-no-such-group: no group");
    expect_usage_error({"--rlimit", "nosuch=1:2"}, "--rlimit nosuch=1:2: unknown resource 'nosuch'");
    expect_usage_error({"--rlimit", "nofile=9:1"}, "--rlimit nofile=9:1: soft limit");
    expect_usage_error({"--sigmask", "USR1,NOPE"}, "--sigmask USR1,NOPE: unknown signal 'NOPE'");
    expect_usage_error({"--umask", "999"}, "--umask 999: umask '999' is not an octal number");
    expect_usage_error({"--pgid", "x"}, "--pgid x: process group 'x' is not a number");
}

TEST(RunUsage, ValuesTheLibraryRejectsInSyncMode) {
    expect_usage_error({"--sync", "--uid", "ep-no-such-user"}, "--uid ep-no-such-user: no user");
}

TEST(RunUsage, ARejectedValueTruncatesNoFileEvenInSyncMode) {
    TempDir dir;
    std::string precious = dir.file("precious", "keep me\n");
    for (const char *mode : {"--sync", "--trace"}) {
        CliSpec spec;
        spec.args = {"run", mode, "--open-write", "1=" + precious, "--uid", "ep-no-such-user", "--", EP_PROBE_PATH};
        EXPECT_EQ(run_cli(spec).exit_code(), 2) << mode;
        EXPECT_EQ(read_file(precious), "keep me\n") << mode;
    }
}

TEST(RunUsage, UnknownTransportOrStrategy) {
    expect_usage_error({"--transport", "carrier-pigeon"}, "--transport");
    expect_usage_error({"--strategy", "vfork"}, "--strategy");
}

TEST(RunUsage, SetsidAndPgidExcludeEachOther) {
    expect_usage_error({"--setsid", "--pgid", "0"}, "excludes");
}

TEST(RunUsage, SingleValuedOptionGivenTwice) {
    expect_usage_error({"--cwd", "/", "--cwd", "/tmp"}, "--cwd");
}

TEST(RunCommandLine, OptionsAfterTheProgramBelongToItEvenWithoutDoubleDash) {
    CliSpec spec;
    spec.args = {"run", EP_PROBE_PATH, "print", "--cwd", "/"};
    CliResult r = run_cli(spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    ProbeView v(r.out);
    EXPECT_EQ(v["argv.2"], "--cwd");
    EXPECT_NE(v["cwd"], "/");
}

TEST(Cli, Help) {
    CliSpec spec;
    spec.args = {"--help"};
    CliResult r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_CONTAINS(r.out, "run");
    spec.args = {"run", "--help"};
    r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_CONTAINS(r.out, "Usage: emptyproc run [OPTIONS] -- PROGRAM [ARGS...]");
    for (const char *option :
         {"--transport", "--strategy", "--sync",   "--trace",  "--open", "--open-write", "--dup",
          "--no-stdio",  "--cwd",      "--chroot", "--rlimit", "--uid",  "--gid",        "--groups",
          "--sigmask",   "--umask",    "--setsid", "--pgid",   "--env",  "--clearenv",   "--argv0"})
        EXPECT_CONTAINS(r.out, std::string("  ") + option + " ") << option;
}

TEST(Cli, Version) {
    CliSpec spec;
    spec.args = {"--version"};
    CliResult r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 0);
    EXPECT_EQ(r.out.rfind("emptyproc ", 0), 0u) << r.out;
}

} // namespace
} // namespace ep::test
