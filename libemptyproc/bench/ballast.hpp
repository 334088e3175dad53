// SPDX-License-Identifier: MIT
// ballast.hpp - make the calling process big: resident memory and open descriptors (--rss, --fds).
#ifndef EMPTYPROC_BENCH_BALLAST_HPP
#define EMPTYPROC_BENCH_BALLAST_HPP

#include <sys/resource.h>

#include <cstddef>
#include <vector>

namespace ep::bench {

// Holds `rss_mb` MiB of touched anonymous memory and `fds` extra non-CLOEXEC descriptors (dups of
// /dev/null) for as long as it lives; RLIMIT_NOFILE is raised as needed and restored after.
// Throws std::runtime_error (naming what failed) when the caller cannot be made that big.
class CallerBallast {
  public:
    CallerBallast(size_t rss_mb, int fds);
    ~CallerBallast();
    CallerBallast(const CallerBallast &) = delete;
    CallerBallast &operator=(const CallerBallast &) = delete;

  private:
    void release();
    void *memory_ = nullptr;
    size_t bytes_ = 0;
    std::vector<int> fds_; // numbers are the lowest free ones: not contiguous if the caller had holes
    rlimit saved_nofile_{};
    bool raised_ = false;
};

} // namespace ep::bench

#endif
