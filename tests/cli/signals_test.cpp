// SPDX-License-Identifier: MIT
// signals_test.cpp - SIGINT/SIGQUIT while `emptyproc run` waits: the program decides, we report.
#include <signal.h>

#include <cstring>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

// The probe prints what it sees (its pid included) and flushes before it sleeps: once the output is
// there, the CLI is waiting for it.
CliSpec sleeping_probe(std::vector<std::string> options) {
    CliSpec spec;
    spec.args = {"run"};
    spec.args.insert(spec.args.end(), options.begin(), options.end());
    spec.args.insert(spec.args.end(), {"--", EP_PROBE_PATH, "print", "sleep", "1", "exit", "3"});
    return spec;
}

constexpr const char *kLastPrintedLine = "rlimit.stack=";

TEST(RunSignals, TerminalSignalsToTheCliAloneAreIgnoredWhileItWaits) {
    for (int sig : {SIGINT, SIGQUIT}) {
        CliProcess cli(sleeping_probe({}));
        ASSERT_TRUE(cli.wait_for_output(kLastPrintedLine));
        kill(cli.pid(), sig);
        CliResult r = cli.finish();
        EXPECT_EQ(r.exit_code(), 3) << strsignal(sig) << " " << r.err;
    }
}

TEST(RunSignals, CtrlCThatKillsTheProgramGives128PlusSigint) {
    CliProcess cli(sleeping_probe({}));
    ASSERT_TRUE(cli.wait_for_output(kLastPrintedLine));
    pid_t program = std::stoi(ProbeView(cli.output_so_far())["pid"]);
    // What a terminal's Ctrl-C does: SIGINT to every process of the foreground group, at once. The
    // CLI's copy goes first here: sent after the program's, it could arrive once the CLI has seen
    // the program die and restored its dispositions, which a terminal's simultaneous signal cannot.
    kill(cli.pid(), SIGINT);
    kill(program, SIGINT);
    CliResult r = cli.finish();
    EXPECT_EQ(r.exit_code(), 128 + SIGINT) << r.err;
}

TEST(RunSignals, WithSetsidTheCliKeepsDefaultDispositions) {
    // The program is in its own session, out of the terminal's reach: Ctrl-C must still stop us.
    CliProcess cli(sleeping_probe({"--setsid"}));
    ASSERT_TRUE(cli.wait_for_output(kLastPrintedLine));
    kill(cli.pid(), SIGINT);
    CliResult r = cli.finish();
    EXPECT_EQ(r.term_signal(), SIGINT);
}

} // namespace
} // namespace ep::test
