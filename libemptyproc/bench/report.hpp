// SPDX-License-Identifier: MIT
// report.hpp - the benchmark's outputs: the aligned table, JSON, CSV (report.cpp) and the plot (svg.cpp).
#ifndef EMPTYPROC_BENCH_REPORT_HPP
#define EMPTYPROC_BENCH_REPORT_HPP

#include <cstdio>
#include <string>
#include <vector>

#include "harness.hpp"

namespace ep::bench {

// One block per (point, target), one line per method, ratios to posix_spawn of the same block.
// syscalls: add the "syscalls" column (caller+child per spawn, "-" where not counted).
void print_table(std::FILE *out, const std::vector<Row> &rows, bool two_threads, bool syscalls = false);

// Rows with numbers only (a method that failed has none). With syscalls, the rows carry "syscalls",
// "syscalls_caller" and "syscalls_child" (null where not counted). Each returns false and sets errno-text
// in `error` if the file cannot be written.
bool write_json(const std::string &path, const std::vector<Row> &rows, std::string &error, bool syscalls = false);
bool write_csv(const std::string &path, const std::vector<Row> &rows, std::string &error, bool syscalls = false);
bool write_svg(const std::string &path, const std::vector<Row> &rows, const std::string &subtitle, std::string &error);

// Shared by the writers: a file written whole, or an error naming it.
bool write_text_file(const std::string &path, const std::string &text, std::string &error);

} // namespace ep::bench

#endif
