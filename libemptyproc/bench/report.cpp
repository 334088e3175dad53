// SPDX-License-Identifier: MIT
// report.cpp - the table on stdout, --json and --csv. One row per method x point x target.
#include "report.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

namespace ep::bench {
namespace {

std::string number(double v, const char *format = "%.3f") {
    if (std::isnan(v))
        return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string json_number(double v) {
    return std::isnan(v) ? "null" : number(v);
}

std::string cell_or_dash(double v, const char *format) {
    std::string s = number(v, format);
    return s.empty() ? "-" : s;
}

bool measured(const Row &r) {
    return r.reap.n > 0;
}

// "total (caller+child)", or "-" where not counted.
std::string syscall_cell(const Row &r) {
    if (std::isnan(r.syscalls()))
        return "-";
    return number(r.syscalls(), "%.0f") + " (" + number(r.syscalls_caller, "%.0f") + "+" +
           number(r.syscalls_child, "%.0f") + ")";
}

} // namespace

bool write_text_file(const std::string &path, const std::string &text, std::string &error) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        error = path + ": " + std::strerror(errno ? errno : EIO);
        return false;
    }
    return true;
}

void print_table(std::FILE *out, const std::vector<Row> &rows, bool two_threads, bool syscalls) {
    std::fprintf(out, "latencies in microseconds; first = time to first instruction (static target only), "
                      "reap = spawn until waitid returns; ratio = reap median / posix_spawn's in the same block\n");
    if (syscalls)
        std::fprintf(out, "syscalls = system calls per spawn, caller+child (the child's until its execve), counted "
                          "by strace in a separate untimed pass; - = not counted\n");
    const Row *previous = nullptr;
    for (const Row &r : rows) {
        if (!previous || !(previous->point == r.point) || previous->target != r.target) {
            std::fprintf(out, "\n== target %s, caller rss %zu MiB, %d open fds, %d extra ops\n", r.target.c_str(),
                         r.point.rss_mb, r.point.fds, r.point.ops);
            std::fprintf(out, "%-40s %6s %9s %9s %9s %9s %7s %10s%s%s\n", "method", "n", "first med", "reap med", "p90",
                         "p99", "ratio", "spawns/s", two_threads ? " spawns/s 2t" : "",
                         syscalls ? "       syscalls" : "");
        }
        previous = &r;
        if (!measured(r)) {
            std::fprintf(out, "%-40s failed: %s\n", r.method.label().c_str(), r.error.c_str());
            continue;
        }
        std::fprintf(out, "%-40s %6zu %9s %9s %9s %9s %7s %10s", r.method.label().c_str(), r.reap.n,
                     cell_or_dash(r.first.median, "%.1f").c_str(), cell_or_dash(r.reap.median, "%.1f").c_str(),
                     cell_or_dash(r.reap.p90, "%.1f").c_str(), cell_or_dash(r.reap.p99, "%.1f").c_str(),
                     cell_or_dash(r.ratio_posix_spawn, "%.2f").c_str(), cell_or_dash(r.spawns_per_s, "%.0f").c_str());
        if (two_threads)
            std::fprintf(out, " %11s", cell_or_dash(r.spawns_per_s_2t, "%.0f").c_str());
        if (syscalls)
            std::fprintf(out, " %14s", syscall_cell(r).c_str());
        std::fprintf(out, "\n");
    }
}

bool write_json(const std::string &path, const std::vector<Row> &rows, std::string &error, bool syscalls) {
    std::string text = "[\n";
    bool first = true;
    for (const Row &r : rows) {
        if (!measured(r))
            continue;
        text += first ? "  {" : ",\n  {";
        first = false;
        text += "\"method\": " + json_string(r.method.name) + ", \"strategy\": " + json_string(r.method.strategy) +
                ", \"transport\": " + json_string(r.method.transport) + ", \"mode\": " + json_string(r.method.mode) +
                ", \"rss_mb\": " + std::to_string(r.point.rss_mb) + ", \"fds\": " + std::to_string(r.point.fds) +
                ", \"ops\": " + std::to_string(r.point.ops) + ", \"target\": " + json_string(r.target) +
                ", \"median_us\": " + json_number(r.reap.median) + ", \"p90_us\": " + json_number(r.reap.p90) +
                ", \"p99_us\": " + json_number(r.reap.p99) +
                ", \"ratio_posix_spawn\": " + json_number(r.ratio_posix_spawn) +
                ", \"spawns_per_s\": " + json_number(r.spawns_per_s);
        if (syscalls)
            text += ", \"syscalls\": " + json_number(r.syscalls()) +
                    ", \"syscalls_caller\": " + json_number(r.syscalls_caller) +
                    ", \"syscalls_child\": " + json_number(r.syscalls_child);
        text += "}";
    }
    text += "\n]\n";
    return write_text_file(path, text, error);
}

// The JSON's fields first (median/p90/p99 are spawn + reap), then what only the table and CSV carry.
bool write_csv(const std::string &path, const std::vector<Row> &rows, std::string &error, bool syscalls) {
    std::string text = "method,strategy,transport,mode,rss_mb,fds,ops,target,median_us,p90_us,p99_us,"
                       "ratio_posix_spawn,spawns_per_s,first_median_us,first_p90_us,first_p99_us,spawns_per_s_2t,"
                       "samples";
    text += syscalls ? ",syscalls,syscalls_caller,syscalls_child\n" : "\n";
    for (const Row &r : rows) {
        if (!measured(r))
            continue;
        text += r.method.name + "," + r.method.strategy + "," + r.method.transport + "," + r.method.mode + "," +
                std::to_string(r.point.rss_mb) + "," + std::to_string(r.point.fds) + "," + std::to_string(r.point.ops) +
                "," + r.target + "," + number(r.reap.median) + "," + number(r.reap.p90) + "," + number(r.reap.p99) +
                "," + number(r.ratio_posix_spawn) + "," + number(r.spawns_per_s) + "," + number(r.first.median) + "," +
                number(r.first.p90) + "," + number(r.first.p99) + "," + number(r.spawns_per_s_2t) + "," +
                std::to_string(r.reap.n);
        if (syscalls)
            text += "," + number(r.syscalls()) + "," + number(r.syscalls_caller) + "," + number(r.syscalls_child);
        text += "\n";
    }
    return write_text_file(path, text, error);
}

} // namespace ep::bench
