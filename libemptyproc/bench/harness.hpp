// SPDX-License-Identifier: MIT
// harness.hpp - what to measure (BenchConfig), and the measuring: interleaved rounds, warm-up,
// latency percentiles, throughput with 1 and 2 threads.
#ifndef EMPTYPROC_BENCH_HARNESS_HPP
#define EMPTYPROC_BENCH_HARNESS_HPP

#include <cmath>
#include <string>
#include <vector>

#include "methods.hpp"
#include "stats.hpp"

namespace ep::bench {

// One caller shape: resident MiB, open fds, extra config ops. Axes vary one at a time around 0/0/0.
struct Point {
    size_t rss_mb = 0;
    int fds = 0;
    int ops = 0;
    bool operator==(const Point &) const = default;
};

struct BenchConfig {
    int iterations = 1000;      // timed rounds per cell; each round runs every method once
    int warmup = 50;            // untimed spawns per method before a cell's rounds
    double method_budget_s = 5; // a method leaves a cell's rounds once it has spent this long...
    int min_samples = 20;       // ...and has at least this many samples (fork at 4 GiB: ~90 ms each)
    double throughput_s = 0.5;  // each throughput run lasts this long
    bool two_threads = false;   // --threads: also measure throughput with 2 threads
    bool syscalls = false;      // --syscalls: count system calls per spawn (strace, a separate pass)
    int syscall_spawns = 4;     // spawns counted per row in that pass
    std::vector<size_t> rss_mb{0, 1024, 4096};
    std::vector<int> fds{0, 10000, 100000};
    std::vector<int> ops{0, 8, 32};
};

// One line of the report: a method at a point with a target.
struct Row {
    Method method;
    Point point;
    std::string target;
    Summary reap;                   // spawn + reap, microseconds
    Summary first;                  // time to first instruction, microseconds (n = 0 for /bin/true)
    double ratio_posix_spawn = NAN; // reap.median / posix_spawn's reap.median in the same cell
    double spawns_per_s = NAN;      // throughput, 1 thread
    double spawns_per_s_2t = NAN;   // throughput, 2 threads (--threads)
    std::string error;              // why this row has no numbers
    double syscalls_caller = NAN;   // --syscalls: per spawn, by the caller (syscalls.hpp)
    double syscalls_child = NAN;    // --syscalls: per spawn, by the child up to its execve
    double syscalls() const { return syscalls_caller + syscalls_child; }
};

// The points of a run: 0/0/0 first, then each non-zero value of each axis alone.
std::vector<Point> axis_points(const BenchConfig &cfg);

// Measures every method at every point with every target. Progress and warnings go to stderr.
std::vector<Row> run_bench(const BenchConfig &cfg, const std::vector<Method> &methods,
                           const std::vector<Target> &targets);

} // namespace ep::bench

#endif
