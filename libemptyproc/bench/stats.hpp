// SPDX-License-Identifier: MIT
// stats.hpp - median and tail percentiles of a set of latencies (nearest rank: always a real sample).
#ifndef EMPTYPROC_BENCH_STATS_HPP
#define EMPTYPROC_BENCH_STATS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ep::bench {

struct Summary {
    size_t n = 0;
    double median = NAN, p90 = NAN, p99 = NAN;
};

inline double nearest_rank(const std::vector<double> &sorted, double fraction) {
    size_t rank = static_cast<size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
    return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

inline Summary summarize(std::vector<double> values) {
    Summary s;
    s.n = values.size();
    if (values.empty())
        return s;
    std::sort(values.begin(), values.end());
    s.median = nearest_rank(values, 0.5);
    s.p90 = nearest_rank(values, 0.9);
    s.p99 = nearest_rank(values, 0.99);
    return s;
}

} // namespace ep::bench

#endif
