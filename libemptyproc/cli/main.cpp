// SPDX-License-Identifier: MIT
// main.cpp - the emptyproc tool: a table of subcommands (like crun's commands[]) dispatched by CLI11.
//
// Each subcommand lives in its own file and plugs in through one row of kCommands: its options are
// added by its Setup function, and the Runner that Setup returns does the work after parsing. Later
// subcommands (bench, preload) are one row each.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../bench/command.hpp"
#include "commands.hpp"

namespace {

// The project's version (CMake's PROJECT_VERSION); keep the two in step.
constexpr const char *kVersion = EP_VERSION; // PROJECT_VERSION, from CMake

struct Command {
    const char *name;
    const char *usage; // what follows "emptyproc <name>" in the usage line
    const char *summary;
    ep::cli::Setup setup;
};

const Command kCommands[] = {
    {"run", "[OPTIONS] -- PROGRAM [ARGS...]", "configure an empty process from the options, then run PROGRAM in it",
     ep::cli::setup_run},
    {"bench", "[OPTIONS]", "compare process-creation methods side by side: latency, throughput, a plot",
     ep::cli::setup_bench},
    {"preload", "-- PROGRAM [ARGS...]",
     "run PROGRAM with libemptyproc-preload.so: its posix_spawn calls go through the builder", ep::cli::setup_preload},
};

// CLI11 derives the usage line from the options; ours states the "--" convention instead.
class UsageFormatter : public CLI::Formatter {
  public:
    explicit UsageFormatter(std::string usage) : usage_(std::move(usage)) {}
    std::string make_usage(const CLI::App *, std::string name) const override {
        return get_label("Usage") + ": " + name + " " + usage_ + "\n";
    }

  private:
    std::string usage_;
};

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"emptyproc - create an empty process, configure it op by op, then exec a program in it", "emptyproc"};
    app.set_version_flag("--version", std::string("emptyproc ") + kVersion);
    app.require_subcommand(1);

    std::vector<std::pair<CLI::App *, ep::cli::Runner>> runners;
    for (const Command &c : kCommands) {
        CLI::App *sub = app.add_subcommand(c.name, c.summary);
        sub->formatter(std::make_shared<UsageFormatter>(c.usage));
        runners.emplace_back(sub, c.setup(*sub));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // --help and --version end parsing with a "success" error; everything else is a usage error.
        return app.exit(e) == 0 ? 0 : ep::cli::kExitUsage;
    }
    for (auto &[sub, run] : runners)
        if (sub->parsed())
            return run();
    return ep::cli::kExitUsage; // unreachable: require_subcommand(1)
}
