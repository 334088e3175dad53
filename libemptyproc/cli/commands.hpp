// SPDX-License-Identifier: MIT
// commands.hpp - the subcommands of the emptyproc tool, one row of main.cpp's table each.
#ifndef EMPTYPROC_CLI_COMMANDS_HPP
#define EMPTYPROC_CLI_COMMANDS_HPP

#include <functional>

namespace CLI {
class App;
}

namespace ep::cli {

// Exit statuses shared by every subcommand. 2 is what CLI tools use for a bad command line; 125 to
// 128+N follow env(1), chroot(1) and the shells, so that scripts read `emptyproc run` like them.
constexpr int kExitUsage = 2;
constexpr int kExitOpFailed = 125;   // an operation before the program could run failed
constexpr int kExitCannotExec = 126; // the program was found but could not be executed
constexpr int kExitNotFound = 127;   // the program was not found
constexpr int kExitSignalBase = 128; // 128 + N: the program was killed by signal N

// What a subcommand does once its options are parsed; returns the process exit status.
using Runner = std::function<int()>;

// Adds a subcommand's options to `sub` (bound to state the Runner owns) and returns its Runner.
using Setup = Runner (*)(CLI::App &sub);

Runner setup_run(CLI::App &sub);
Runner setup_preload(CLI::App &sub);

} // namespace ep::cli

#endif
