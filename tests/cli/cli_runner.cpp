// SPDX-License-Identifier: MIT
// cli_runner.cpp - start `emptyproc` with fork+exec, collect its output and status (cli_runner.hpp).
#include "cli_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char **environ;

namespace ep::test {
namespace {

constexpr int kFirstSpareFd = 100; // above every fd a test hands over, so that dup2 never clobbers one

std::vector<char *> c_strings(std::vector<std::string> &strings) {
    std::vector<char *> v;
    for (std::string &s : strings)
        v.push_back(s.data());
    v.push_back(nullptr);
    return v;
}

std::vector<std::string> our_environment() {
    std::vector<std::string> env;
    for (char **e = environ; *e; e++)
        env.emplace_back(*e);
    return env;
}

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void exec_cli(const CliSpec &spec, int out, int err, char *const *argv, char *const *envp) {
    int spare[16];
    size_t n = spec.fds.size() < 16 ? spec.fds.size() : 16;
    for (size_t i = 0; i < n; i++)
        spare[i] = fcntl(spec.fds[i].second, F_DUPFD_CLOEXEC, kFirstSpareFd);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (size_t i = 0; i < n; i++)
        dup2(spare[i], spec.fds[i].first);
    umask(spec.umask);
    if (spec.ignore_int_quit) {
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, nullptr);
    }
    execve(EP_CLI_PATH, argv, envp);
    _exit(99);
}

bool read_some(int &fd, std::string &into) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        into.append(buf, static_cast<size_t>(n));
        return true;
    }
    if (n < 0 && errno == EINTR)
        return true;
    close(fd);
    fd = -1;
    return false;
}

} // namespace

bool CliResult::exited() const {
    return WIFEXITED(wait_status);
}
int CliResult::exit_code() const {
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}
int CliResult::term_signal() const {
    return WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
}

CliProcess::CliProcess(const CliSpec &spec) {
    std::vector<std::string> args{"emptyproc"};
    args.insert(args.end(), spec.args.begin(), spec.args.end());
    std::vector<std::string> env = spec.environment ? *spec.environment : our_environment();
    std::vector<char *> argv = c_strings(args), envp = c_strings(env);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        throw std::runtime_error("pipe2 failed");
    pid_ = fork();
    if (pid_ == 0)
        exec_cli(spec, out[1], err[1], argv.data(), envp.data());
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (pid_ < 0)
        throw std::runtime_error("fork failed");
}

CliProcess::~CliProcess() {
    if (pid_ > 0)
        finish();
}

bool CliProcess::wait_for_output(const std::string &needle) {
    while (result_.out.find(needle) == std::string::npos)
        if (out_ < 0 || !read_some(out_, result_.out))
            return result_.out.find(needle) != std::string::npos;
    return true;
}

CliResult CliProcess::finish() {
    while (out_ >= 0 || err_ >= 0) {
        pollfd p[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (out_ >= 0 && p[0].revents)
            read_some(out_, result_.out);
        if (err_ >= 0 && p[1].revents)
            read_some(err_, result_.err);
    }
    while (pid_ > 0 && waitpid(pid_, &result_.wait_status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return result_;
}

CliResult run_cli(const CliSpec &spec) {
    return CliProcess(spec).finish();
}

ProbeView::ProbeView(const std::string &out) {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            values_.emplace(line.substr(0, eq), line.substr(eq + 1));
    }
}

std::string ProbeView::operator[](const std::string &key) const {
    auto it = values_.find(key);
    return it == values_.end() ? "<missing " + key + ">" : it->second;
}

std::vector<std::string> ProbeView::environment() const {
    std::vector<std::string> env;
    for (size_t i = 0; has("env." + std::to_string(i)); i++)
        env.push_back((*this)["env." + std::to_string(i)]);
    return env;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/ep-cli-test.XXXXXX";
    if (!mkdtemp(tmpl))
        throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(const std::string &name, const std::string &content, mode_t mode) const {
    std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    chmod(path.c_str(), mode);
    return path;
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

::testing::AssertionResult contains_format(const char *text_expr, const char *part_expr, const std::string &text,
                                           const std::string &part) {
    if (text.find(part) != std::string::npos)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << text_expr << " does not contain " << part_expr << "\n  text: \"" << text
                                         << "\"\n  part: \"" << part << "\"";
}

std::vector<std::string> CliModeTest::probe_args(const std::vector<std::string> &options,
                                                 const std::vector<std::string> &words) const {
    std::vector<std::string> args{"run"};
    if (sync())
        args.push_back("--sync");
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.push_back(EP_PROBE_PATH);
    args.insert(args.end(), words.begin(), words.end());
    return args;
}

CliResult CliModeTest::run_probe(const std::vector<std::string> &options, const std::vector<std::string> &words,
                                 CliSpec spec) const {
    spec.args = probe_args(options, words);
    return run_cli(spec);
}

std::string mode_name(const ::testing::TestParamInfo<std::string> &info) {
    return info.param;
}

} // namespace ep::test
