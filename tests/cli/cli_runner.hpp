// SPDX-License-Identifier: MIT
// cli_runner.hpp - run `emptyproc` as a subprocess and read what the probe printed.
#ifndef EMPTYPROC_TESTS_CLI_RUNNER_HPP
#define EMPTYPROC_TESTS_CLI_RUNNER_HPP

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ep::test {

// How the test starts the CLI: its arguments and what it inherits besides them.
struct CliSpec {
    std::vector<std::string> args;                       // after "emptyproc"
    std::vector<std::pair<int, int>> fds;                // {the CLI's fd, the test's fd} to hand over
    std::optional<std::vector<std::string>> environment; // default: the test's own
    mode_t umask = 022;
    bool ignore_int_quit = false; // start the CLI with SIGINT/SIGQUIT ignored and SIGUSR1 blocked
};

struct CliResult {
    int wait_status = 0;
    std::string out;
    std::string err;

    bool exited() const;
    int exit_code() const;   // -1 if it did not exit
    int term_signal() const; // 0 if it was not killed
};

// A running CLI with its stdout and stderr on pipes.
class CliProcess {
  public:
    explicit CliProcess(const CliSpec &spec);
    ~CliProcess();
    CliProcess(const CliProcess &) = delete;
    CliProcess &operator=(const CliProcess &) = delete;

    pid_t pid() const { return pid_; }
    // Reads stdout until it contains `needle` (or EOF); returns whether it does.
    bool wait_for_output(const std::string &needle);
    const std::string &output_so_far() const { return result_.out; }
    // Reads both pipes to EOF and reaps the CLI.
    CliResult finish();

  private:
    pid_t pid_ = -1;
    int out_ = -1;
    int err_ = -1;
    CliResult result_;
};

CliResult run_cli(const CliSpec &spec);

// The probe's "key=value" lines; the first value of each key.
class ProbeView {
  public:
    explicit ProbeView(const std::string &out);
    bool has(const std::string &key) const { return values_.count(key) > 0; }
    std::string operator[](const std::string &key) const;
    std::vector<std::string> environment() const; // env.0, env.1, ...

  private:
    std::map<std::string, std::string> values_;
};

// A directory under /tmp removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string file(const std::string &name, const std::string &content, mode_t mode = 0644) const;

  private:
    std::string path_;
};

std::string read_file(const std::string &path);

// EXPECT_CONTAINS(text, part): gmock's HasSubstr without linking gmock.
::testing::AssertionResult contains_format(const char *text_expr, const char *part_expr, const std::string &text,
                                           const std::string &part);
#define EXPECT_CONTAINS(text, part) EXPECT_PRED_FORMAT2(::ep::test::contains_format, text, part)

// Tests that run the probe through `emptyproc run`, once per mode: batched (the default) and --sync.
// Both must give the program the same view; only the moment a verdict is known differs.
class CliModeTest : public ::testing::TestWithParam<std::string> {
  protected:
    bool sync() const { return GetParam() == "sync"; }
    // `emptyproc run [--sync] OPTIONS -- probe WORDS`
    std::vector<std::string> probe_args(const std::vector<std::string> &options,
                                        const std::vector<std::string> &words = {"print"}) const;
    CliResult run_probe(const std::vector<std::string> &options, const std::vector<std::string> &words = {"print"},
                        CliSpec spec = {}) const;
};

std::string mode_name(const ::testing::TestParamInfo<std::string> &info);

#define EP_INSTANTIATE_MODES(fixture)                                                                                  \
    INSTANTIATE_TEST_SUITE_P(Modes, fixture, ::testing::Values("batched", "sync"), ::ep::test::mode_name)

} // namespace ep::test

#endif
