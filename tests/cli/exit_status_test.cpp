// SPDX-License-Identifier: MIT
// exit_status_test.cpp - what `emptyproc run` exits with: the program's status, 128+N, 127, 126, 125.
#include <csignal>
#include <filesystem>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

class RunExitStatus : public CliModeTest {
  protected:
    // `emptyproc run [--sync] OPTIONS -- PROGRAM`, for programs other than the probe.
    CliResult run_program(const std::vector<std::string> &options, const std::string &program) const {
        CliSpec spec;
        spec.args = {"run"};
        if (sync())
            spec.args.push_back("--sync");
        spec.args.insert(spec.args.end(), options.begin(), options.end());
        spec.args.insert(spec.args.end(), {"--", program});
        return run_cli(spec);
    }
};

TEST_P(RunExitStatus, ZeroWhenTheProgramSucceeds) {
    CliResult r = run_probe({}, {"exit", "0"});
    EXPECT_EQ(r.exit_code(), 0) << r.err;
}

TEST_P(RunExitStatus, TheProgramsOwnStatus) {
    CliResult r = run_probe({}, {"exit", "7"});
    EXPECT_EQ(r.exit_code(), 7) << r.err;
    EXPECT_EQ(r.err, "");
}

TEST_P(RunExitStatus, OneHundredTwentyEightPlusTheSignalThatKilledIt) {
    EXPECT_EQ(run_probe({}, {"kill", std::to_string(SIGTERM)}).exit_code(), 128 + SIGTERM);
    EXPECT_EQ(run_probe({}, {"kill", std::to_string(SIGKILL)}).exit_code(), 128 + SIGKILL);
}

TEST_P(RunExitStatus, NotFoundInPathIs127) {
    CliResult r = run_program({"--env", "PATH=/nonexistent:/bin"}, "ep-no-such-program");
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_CONTAINS(r.err, "exec: ENOENT");
    EXPECT_CONTAINS(r.err, "ep-no-such-program");
}

TEST_P(RunExitStatus, MissingPathIs127) {
    CliResult r = run_program({}, "/nonexistent/program");
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_CONTAINS(r.err, "exec: ENOENT");
}

TEST_P(RunExitStatus, NonExecutableFileIs126) {
    TempDir dir;
    std::string path = dir.file("not-executable", "#!/bin/sh\nexit 0\n", 0644);
    CliResult r = run_program({}, path);
    EXPECT_EQ(r.exit_code(), 126);
    EXPECT_CONTAINS(r.err, "exec: EACCES");
}

TEST_P(RunExitStatus, UnknownExecutableFormatIs126) {
    TempDir dir;
    std::string path = dir.file("garbage", "this is not an executable\n", 0755);
    CliResult r = run_program({}, path);
    EXPECT_EQ(r.exit_code(), 126);
    EXPECT_CONTAINS(r.err, "exec: ENOEXEC");
}

TEST_P(RunExitStatus, FailedCwdIs125AndTheProgramNeverRuns) {
    CliResult r = run_probe({"--cwd", "/nonexistent"});
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_CONTAINS(r.err, "cwd: ENOENT");
    EXPECT_CONTAINS(r.err, "--cwd /nonexistent");
    EXPECT_EQ(r.out, "");
}

TEST_P(RunExitStatus, FailedChrootIs125) {
    CliResult r = run_probe({"--chroot", "/nonexistent"});
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_CONTAINS(r.err, "root: ENOENT");
    EXPECT_EQ(r.out, "");
}

TEST_P(RunExitStatus, FailedOpenIs125) {
    CliResult r = run_probe({"--open", "3=/nonexistent/file"});
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_CONTAINS(r.err, "ENOENT");
    EXPECT_CONTAINS(r.err, "--open 3=/nonexistent/file");
    EXPECT_EQ(r.out, "");
}

TEST_P(RunExitStatus, FailedPgidIs125) {
    CliResult r = run_probe({"--pgid", "2147483647"}); // no such process group
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_CONTAINS(r.err, "pgid: ");
    EXPECT_EQ(r.out, "");
}

TEST_P(RunExitStatus, IoUringTransportRunsTheProgramOrIs125WithTheLibrarysReason) {
    CliResult r = run_probe({"--transport", "io_uring"}, {"exit", "7"});
    if (r.exit_code() == 125) { // a kernel without the opcodes, or io_uring disabled: EOPNOTSUPP
        EXPECT_CONTAINS(r.err, "transport: io_uring: ");
        GTEST_SKIP() << "io_uring transport unavailable here: " << r.err;
    }
    EXPECT_EQ(r.exit_code(), 7) << r.err;
    EXPECT_EQ(r.err, "");
}

EP_INSTANTIATE_MODES(RunExitStatus);

} // namespace
} // namespace ep::test
