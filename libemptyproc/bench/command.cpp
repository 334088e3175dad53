// SPDX-License-Identifier: MIT
// command.cpp - the options of `emptyproc bench` (CLI11) and its Runner: pick methods, targets and
// points, run the harness, print the table and write the files.
#include "command.hpp"

#include <CLI/CLI.hpp>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "harness.hpp"
#include "locate.hpp"
#include "report.hpp"

namespace ep::cli {
namespace {

using namespace ep::bench;

constexpr const char *kTargetName = "emptyproc-bench-target"; // libemptyproc/bench/target/first_instruction.c

struct BenchOptions {
    bool quick = false;
    int iterations = 0; // 0: the default of the mode
    std::string rss, fds, ops, methods, targets = "static,dynamic";
    std::string json, csv, svg;
    bool threads = false;
    bool syscalls = false;
    std::string target_path, dynamic_path = "/bin/true";
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename T> std::vector<T> parse_list(const std::string &option, const std::string &text) {
    std::vector<T> values;
    std::stringstream in(text);
    std::string word;
    while (std::getline(in, word, ',')) {
        size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(word, &used);
        } catch (const std::exception &) {
        }
        if (used != word.size() || v < 0 || v > 1000000)
            throw UsageError(option + " " + text + ": '" + word + "' is not a count");
        values.push_back(static_cast<T>(v));
    }
    if (values.empty())
        throw UsageError(option + ": the list is empty");
    return values;
}

std::vector<std::string> split_words(const std::string &text) {
    std::vector<std::string> words;
    std::stringstream in(text);
    std::string word;
    while (std::getline(in, word, ','))
        if (!word.empty())
            words.push_back(word);
    return words;
}

BenchConfig make_config(const BenchOptions &o) {
    BenchConfig cfg;
    if (o.quick) { // under a minute on 2 cores: fewer rounds, the two smaller sizes, shorter budgets
        // 40 rounds: with every strategy x transport x mode (38 rows) 60 took 64 s and 45 took 57 s.
        cfg.iterations = 40;
        cfg.warmup = 10;
        cfg.method_budget_s = 0.6;
        cfg.throughput_s = 0.1;
        cfg.rss_mb = {0, 1024};
        cfg.fds = {0, 10000};
        cfg.ops = {0, 8};
    }
    if (o.iterations > 0)
        cfg.iterations = o.iterations;
    cfg.min_samples = std::min(cfg.min_samples, cfg.iterations);
    cfg.warmup = std::min(cfg.warmup, std::max(2, cfg.iterations / 5));
    if (!o.rss.empty())
        cfg.rss_mb = parse_list<size_t>("--rss", o.rss);
    if (!o.fds.empty())
        cfg.fds = parse_list<int>("--fds", o.fds);
    if (!o.ops.empty())
        cfg.ops = parse_list<int>("--ops", o.ops);
    cfg.two_threads = o.threads;
    cfg.syscalls = o.syscalls;
    return cfg;
}

// --methods: a name ("posix_spawn", "emptyproc"), a name's part before '+' ("fork"), or a full label
// ("emptyproc clone_vm/socketpair/sync").
std::vector<Method> select_methods(const std::string &list, std::vector<Method> all) {
    if (list.empty())
        return all;
    std::vector<Method> chosen;
    for (const std::string &word : split_words(list)) {
        bool found = false;
        for (const Method &m : all)
            if (m.name == word || m.name.substr(0, m.name.find('+')) == word || m.label() == word) {
                chosen.push_back(m);
                found = true;
            }
        if (!found) {
            std::string names;
            for (const Method &m : all)
                names += " '" + m.label() + "'";
            throw UsageError("--methods: no method '" + word + "'; available:" + names);
        }
    }
    return chosen;
}

std::string find_static_target(const std::string &given) {
    return given.empty() ? find_bench_program(kTargetName) : given;
}

std::vector<Target> select_targets(const BenchOptions &o) {
    std::vector<Target> targets;
    for (const std::string &word : split_words(o.targets)) {
        if (word == "static") {
            std::string path = find_static_target(o.target_path);
            if (path.empty() || access(path.c_str(), X_OK) != 0)
                std::fprintf(stderr,
                             "bench: no static target (%s) next to this program or in ../libexec/emptyproc; "
                             "give --target-path; running without it\n",
                             kTargetName);
            else
                targets.push_back({"static", path, true});
        } else if (word == "dynamic") {
            targets.push_back({"dynamic", o.dynamic_path, false});
        } else {
            throw UsageError("--targets: '" + word + "' is neither static nor dynamic");
        }
    }
    return targets;
}

std::string machine_line(const BenchConfig &cfg) {
    utsname u{};
    uname(&u);
    return std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs, Linux " + u.release + ", " +
           std::to_string(cfg.iterations) + " interleaved rounds per cell";
}

int run_bench_command(const BenchOptions &o) {
    BenchConfig cfg;
    std::vector<Method> methods;
    std::vector<Target> targets;
    std::vector<std::string> skipped;
    try {
        cfg = make_config(o);
        methods = select_methods(o.methods, all_methods(skipped));
        targets = select_targets(o);
    } catch (const UsageError &e) {
        std::fprintf(stderr, "emptyproc bench: %s\n", e.what());
        return kExitUsage;
    }
    for (const std::string &s : skipped)
        std::fprintf(stderr, "bench: not available here, skipped: %s\n", s.c_str());
    if (targets.empty() || methods.empty()) {
        std::fprintf(stderr, "emptyproc bench: nothing to measure\n");
        return 1;
    }
    std::vector<Row> rows = run_bench(cfg, methods, targets);
    print_table(stdout, rows, cfg.two_threads, cfg.syscalls);
    std::fflush(stdout);
    int status = 0;
    std::string error;
    auto write = [&](const std::string &path, bool ok) {
        if (path.empty())
            return;
        if (ok)
            std::fprintf(stderr, "bench: wrote %s\n", path.c_str());
        else {
            std::fprintf(stderr, "emptyproc bench: %s\n", error.c_str());
            status = 1;
        }
    };
    write(o.json, !o.json.empty() && write_json(o.json, rows, error, cfg.syscalls));
    write(o.csv, !o.csv.empty() && write_csv(o.csv, rows, error, cfg.syscalls));
    write(o.svg, !o.svg.empty() && write_svg(o.svg, rows, machine_line(cfg), error));
    return status;
}

} // namespace

Runner setup_bench(CLI::App &sub) {
    auto o = std::make_shared<BenchOptions>();
    sub.add_flag("--quick", o->quick,
                 "a short run (under a minute on 2 cores): 40 rounds, rss 0,1024, fds 0,10000, "
                 "ops 0,8");
    sub.add_option("--iterations", o->iterations, "timed rounds per cell (default 1000, --quick 40)")
        ->check(CLI::Range(1, 1000000));
    sub.add_option("--rss", o->rss, "caller resident sizes in MiB (default 0,1024,4096)")->type_name("LIST");
    sub.add_option("--fds", o->fds, "caller open fds, not CLOEXEC (default 0,10000,100000)")->type_name("LIST");
    sub.add_option("--ops", o->ops, "extra configuration ops per spawn (default 0,8,32)")->type_name("LIST");
    sub.add_option("--methods", o->methods,
                   "methods to compare (default all): fork, vfork, posix_spawn, ep_posix_spawn, clone_pidfd, "
                   "safeexec, emptyproc, exec_floor")
        ->type_name("LIST");
    sub.add_option("--targets", o->targets, "static (the project's tiny target), dynamic (default both)")
        ->type_name("LIST");
    sub.add_option("--json", o->json, "write one object per row")->type_name("FILE");
    sub.add_option("--csv", o->csv, "write one line per row")->type_name("FILE");
    sub.add_option("--svg", o->svg, "write a plot: latency against caller size, log scale")->type_name("FILE");
    sub.add_flag("--threads", o->threads, "also measure throughput with 2 threads");
    sub.add_flag("--syscalls", o->syscalls,
                 "also count system calls per spawn, caller+child, with strace (a separate untimed pass; "
                 "\"syscalls\" in --json and --csv)");
    sub.add_option("--target-path", o->target_path,
                   "the static target (default: emptyproc-bench-target next to "
                   "this program)")
        ->type_name("PATH");
    sub.add_option("--dynamic-target", o->dynamic_path, "the dynamic target (default /bin/true)")->type_name("PATH");
    sub.footer("Axes vary one at a time around 0/0/0. Progress goes to stderr, the table to stdout. Numbers from a "
               "busy machine are noisy: compare ratios from the same run.");
    return [o]() { return run_bench_command(*o); };
}

} // namespace ep::cli
