// SPDX-License-Identifier: MIT
// locate.hpp - where the bench finds the programs the project builds for it (the static target, the
// safeexec-style helper): next to the running CLI, or where the installed CLI finds them.
#ifndef EMPTYPROC_BENCH_LOCATE_HPP
#define EMPTYPROC_BENCH_LOCATE_HPP

#include <string>

namespace ep::bench {

// <dir of /proc/self/exe>/name (a build tree's bin/), then <that dir>/../libexec/emptyproc/name (an
// installation). The first executable one, normalised; "" if neither is.
std::string find_bench_program(const char *name);

} // namespace ep::bench

#endif
