// SPDX-License-Identifier: MIT
// command.hpp - `emptyproc bench`, one row of the CLI's subcommand table (cli/main.cpp).
#ifndef EMPTYPROC_BENCH_COMMAND_HPP
#define EMPTYPROC_BENCH_COMMAND_HPP

#include "../cli/commands.hpp"

namespace ep::cli {

Runner setup_bench(CLI::App &sub);

} // namespace ep::cli

#endif
