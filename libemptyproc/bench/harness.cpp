// SPDX-License-Identifier: MIT
// harness.cpp - timing. Rounds rotate the method order (round r starts at method r mod M), so drift
// of the machine (other jobs, frequency, caches) spreads over every method alike.
#include "harness.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

#include "ballast.hpp"
#include "syscalls.hpp"

namespace ep::bench {
namespace {

// One spawn through a method, with its untimed set-up. 0 or -errno; ctx.error may say more.
int spawn_once(const Method &m, SpawnContext &ctx, Sample &s) {
    ctx.error.clear();
    if (m.prepare)
        if (int r = m.prepare(m, ctx); r < 0)
            return r;
    return m.spawn_and_reap(m, ctx, s);
}

std::string describe_error(int r, const SpawnContext &ctx) {
    std::string text = std::strerror(-r);
    return ctx.error.empty() ? text : text + " (" + ctx.error + ")";
}

struct Lane { // one method's samples in one cell
    const Method *method;
    std::vector<double> reap_us, first_us;
    double spent_s = 0;
    bool active = true;
    std::string error;
};

void run_one(Lane &lane, SpawnContext &ctx, const BenchConfig &cfg, bool timed) {
    Sample s;
    int64_t start = now_ns();
    int r = spawn_once(*lane.method, ctx, s);
    if (r < 0) {
        lane.error = describe_error(r, ctx);
        lane.active = false;
        return;
    }
    lane.spent_s += double(now_ns() - start) / 1e9;
    if (!timed)
        return;
    lane.reap_us.push_back(double(s.reap_ns) / 1e3);
    if (s.first_ns >= 0)
        lane.first_us.push_back(double(s.first_ns) / 1e3);
    if (lane.spent_s > cfg.method_budget_s && int(lane.reap_us.size()) >= cfg.min_samples)
        lane.active = false;
}

std::vector<Lane> measure_latency(const BenchConfig &cfg, const std::vector<Method> &methods, const Target &target,
                                  int ops) {
    SpawnContext ctx(target, ops);
    std::vector<Lane> lanes;
    for (const Method &m : methods)
        lanes.push_back({&m, {}, {}, 0, true, {}});
    const size_t n = lanes.size();
    for (int w = 0; w < cfg.warmup; w++)
        for (Lane &lane : lanes)
            if (lane.active && (w < 2 || lane.spent_s < cfg.method_budget_s / 10))
                run_one(lane, ctx, cfg, false);
    for (Lane &lane : lanes)
        lane.spent_s = 0; // the budget counts timed rounds only
    for (int round = 0; round < cfg.iterations; round++)
        for (size_t k = 0; k < n; k++)
            if (Lane &lane = lanes[(size_t(round) + k) % n]; lane.active)
                run_one(lane, ctx, cfg, true);
    return lanes;
}

// Spawns per second over a fixed time, `threads` threads each with its own context.
double measure_throughput(const Method &m, const Target &target, int ops, int threads, double seconds,
                          std::string &error) {
    std::vector<std::unique_ptr<SpawnContext>> contexts;
    for (int t = 0; t < threads; t++)
        contexts.push_back(std::make_unique<SpawnContext>(target, ops));
    std::atomic<bool> go{false};
    std::atomic<long> done{0};
    std::atomic<int> failure{0};
    int64_t deadline = 0;
    auto worker = [&](SpawnContext &ctx) {
        while (!go.load())
            std::this_thread::yield();
        long count = 0;
        Sample s;
        while (now_ns() < deadline) {
            if (int r = spawn_once(m, ctx, s); r < 0) {
                failure = r;
                break;
            }
            count++;
        }
        done += count;
    };
    std::vector<std::thread> pool;
    for (auto &ctx : contexts)
        pool.emplace_back(worker, std::ref(*ctx));
    int64_t start = now_ns();
    deadline = start + int64_t(seconds * 1e9);
    go = true;
    for (std::thread &t : pool)
        t.join();
    double elapsed = double(now_ns() - start) / 1e9;
    if (failure.load() < 0) {
        error = std::string("throughput: ") + std::strerror(-failure.load());
        return NAN;
    }
    return double(done.load()) / elapsed;
}

std::vector<Row> measure_cell(const BenchConfig &cfg, const std::vector<Method> &methods, const Target &target,
                              const Point &p) {
    std::vector<Row> rows;
    for (const Lane &lane : measure_latency(cfg, methods, target, p.ops)) {
        Row row;
        row.method = *lane.method;
        row.point = p;
        row.target = target.kind;
        row.reap = summarize(lane.reap_us);
        row.first = summarize(lane.first_us);
        row.error = lane.error;
        if (lane.error.empty() && lane.method->throughput) {
            row.spawns_per_s = measure_throughput(*lane.method, target, p.ops, 1, cfg.throughput_s, row.error);
            if (cfg.two_threads && row.error.empty())
                row.spawns_per_s_2t = measure_throughput(*lane.method, target, p.ops, 2, cfg.throughput_s, row.error);
        }
        rows.push_back(std::move(row));
    }
    const Row *base = nullptr;
    for (const Row &r : rows)
        if (r.method.name == "posix_spawn" && r.reap.n > 0)
            base = &r;
    for (Row &r : rows)
        if (base && r.reap.n > 0)
            r.ratio_posix_spawn = r.reap.median / base->reap.median;
    return rows;
}

std::string point_text(const Point &p) {
    return "rss=" + std::to_string(p.rss_mb) + "MiB fds=" + std::to_string(p.fds) + " ops=" + std::to_string(p.ops);
}

// --syscalls: after the cell's timed rounds, with the caller still in the cell's shape.
void count_cell(const BenchConfig &cfg, const std::string &strace, const Target &t, const Point &p, Row &r) {
    if (strace.empty() || !r.error.empty())
        return;
    SyscallCount c;
    std::string why;
    if (count_syscalls(strace, r.method, t, p.ops, cfg.syscall_spawns, c, why) < 0) {
        std::fprintf(stderr, "bench:   %s (%s target): syscalls not counted: %s\n", r.method.label().c_str(),
                     t.kind.c_str(), why.c_str());
        return;
    }
    r.syscalls_caller = c.caller;
    r.syscalls_child = c.child;
}

} // namespace

std::vector<Point> axis_points(const BenchConfig &cfg) {
    std::vector<Point> points{Point{}};
    auto add = [&](Point p) {
        for (const Point &q : points)
            if (q == p)
                return;
        points.push_back(p);
    };
    for (size_t v : cfg.rss_mb)
        add({v, 0, 0});
    for (int v : cfg.fds)
        add({0, v, 0});
    for (int v : cfg.ops)
        add({0, 0, v});
    return points;
}

std::vector<Row> run_bench(const BenchConfig &cfg, const std::vector<Method> &methods,
                           const std::vector<Target> &targets) {
    std::vector<Row> rows;
    std::string strace;
    if (cfg.syscalls) {
        std::string why;
        strace = find_strace(why);
        if (strace.empty())
            std::fprintf(stderr, "bench: --syscalls: %s; the column shows \"-\"\n", why.c_str());
    }
    std::vector<Point> points = axis_points(cfg);
    size_t cell = 0, cells = points.size() * targets.size();
    for (const Point &p : points) {
        std::fprintf(stderr, "bench: caller at %s ...\n", point_text(p).c_str());
        std::unique_ptr<CallerBallast> ballast;
        try {
            ballast = std::make_unique<CallerBallast>(p.rss_mb, p.fds);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench: skipping %s: %s\n", point_text(p).c_str(), e.what());
            cell += targets.size();
            continue;
        }
        for (const Target &t : targets) {
            int64_t start = now_ns();
            for (Row &r : measure_cell(cfg, methods, t, p)) {
                count_cell(cfg, strace, t, p, r);
                if (!r.error.empty())
                    std::fprintf(stderr, "bench:   %s (%s target): %s\n", r.method.label().c_str(), t.kind.c_str(),
                                 r.error.c_str());
                rows.push_back(std::move(r));
            }
            std::fprintf(stderr, "bench: [%zu/%zu] %s target=%s done in %.1f s\n", ++cell, cells, point_text(p).c_str(),
                         t.kind.c_str(), double(now_ns() - start) / 1e9);
        }
    }
    return rows;
}

} // namespace ep::bench
