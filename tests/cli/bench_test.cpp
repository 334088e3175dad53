// SPDX-License-Identifier: MIT
// bench_test.cpp - `emptyproc bench` runs, and its JSON, CSV and SVG agree and are well-formed.
// The numbers themselves are never judged here: a test must not depend on the machine's speed.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "cli_runner.hpp"

namespace ep::test {
namespace {

// A minimal JSON reader: enough to check the report's structure, strict about syntax.
struct Json {
    enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
    double number = 0;
    std::string text;
    std::vector<Json> items;
    std::map<std::string, Json> fields;
};

class JsonReader {
  public:
    explicit JsonReader(const std::string &s) : s_(s) {}
    Json document() {
        Json v = value();
        skip_space();
        if (pos_ != s_.size())
            fail("trailing characters");
        return v;
    }

  private:
    [[noreturn]] void fail(const std::string &what) const {
        throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(pos_));
    }
    void skip_space() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
            pos_++;
    }
    bool eat(char c) {
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            pos_++;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c))
            fail(std::string("expected '") + c + "'");
    }
    bool word(const char *w) {
        size_t n = std::strlen(w);
        if (s_.compare(pos_, n, w) != 0)
            return false;
        pos_ += n;
        return true;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            if (s_[pos_] == '\\' && ++pos_ >= s_.size())
                fail("bad escape");
            out += s_[pos_++];
        }
        if (pos_ >= s_.size())
            fail("unterminated string");
        pos_++;
        return out;
    }
    Json value() {
        skip_space();
        Json v;
        if (pos_ >= s_.size())
            fail("unexpected end");
        char c = s_[pos_];
        if (c == '{') {
            v.kind = Json::Object;
            pos_++;
            if (!eat('}')) {
                do {
                    skip_space();
                    std::string key = string();
                    expect(':');
                    if (!v.fields.emplace(key, value()).second)
                        fail("duplicate key " + key);
                } while (eat(','));
                expect('}');
            }
        } else if (c == '[') {
            v.kind = Json::Array;
            pos_++;
            if (!eat(']')) {
                do
                    v.items.push_back(value());
                while (eat(','));
                expect(']');
            }
        } else if (c == '"') {
            v.kind = Json::String;
            v.text = string();
        } else if (word("null")) {
            v.kind = Json::Null;
        } else if (word("true") || word("false")) {
            v.kind = Json::Bool;
        } else {
            const char *start = s_.c_str() + pos_;
            char *end = nullptr;
            v.kind = Json::Number;
            v.number = std::strtod(start, &end);
            if (end == start)
                fail("unexpected character");
            pos_ += size_t(end - start);
        }
        return v;
    }
    const std::string &s_;
    size_t pos_ = 0;
};

// Well-formedness of the SVG: balanced, properly nested elements with quoted attributes, one root,
// no stray '<' or bare '&' in text. Returns "" or what is wrong; counts elements by name.
std::string check_xml(const std::string &x, std::map<std::string, int> &count) {
    std::vector<std::string> open;
    int roots = 0;
    for (size_t i = 0; i < x.size();) {
        if (x[i] == '&') {
            size_t semi = x.find(';', i);
            if (semi == std::string::npos || semi - i > 8)
                return "bare '&' at " + std::to_string(i);
            i = semi + 1;
            continue;
        }
        if (x[i] != '<') {
            i++;
            continue;
        }
        if (x.compare(i, 2, "<?") == 0 || x.compare(i, 4, "<!--") == 0) {
            size_t end = x.find(x[i + 1] == '?' ? "?>" : "-->", i);
            if (end == std::string::npos)
                return "unterminated declaration";
            i = end + 2;
            continue;
        }
        size_t end = i + 1;
        char quote = 0;
        while (end < x.size() && (quote || x[end] != '>')) {
            if (quote && x[end] == quote)
                quote = 0;
            else if (!quote && (x[end] == '"' || x[end] == '\''))
                quote = x[end];
            else if (!quote && x[end] == '<')
                return "'<' inside a tag at " + std::to_string(end);
            end++;
        }
        if (end >= x.size())
            return "unterminated tag at " + std::to_string(i);
        std::string tag = x.substr(i + 1, end - i - 1);
        i = end + 1;
        if (tag.empty())
            return "empty tag";
        if (tag[0] == '/') {
            std::string name = tag.substr(1);
            if (open.empty() || open.back() != name)
                return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
            open.pop_back();
            continue;
        }
        bool self_closing = tag.back() == '/';
        std::string name = tag.substr(0, tag.find_first_of(" \t\n/"));
        count[name]++;
        if (open.empty())
            roots++;
        if (!self_closing)
            open.push_back(name);
    }
    if (!open.empty())
        return "<" + open.back() + "> is never closed";
    return roots == 1 ? "" : "expected one root element, found " + std::to_string(roots);
}

std::vector<std::string> split(const std::string &line, char sep) {
    std::vector<std::string> parts;
    std::stringstream in(line);
    std::string part;
    while (std::getline(in, part, sep))
        parts.push_back(part);
    if (!line.empty() && line.back() == sep)
        parts.emplace_back();
    return parts;
}

const char *const kFields[] = {"method",      "strategy", "transport", "mode",   "rss_mb", "fds",
                               "ops",         "target",   "median_us", "p90_us", "p99_us", "ratio_posix_spawn",
                               "spawns_per_s"};

std::string row_key(const std::map<std::string, std::string> &f) {
    return f.at("method") + "|" + f.at("strategy") + "|" + f.at("transport") + "|" + f.at("mode") + "|" +
           f.at("rss_mb") + "|" + f.at("fds") + "|" + f.at("ops") + "|" + f.at("target");
}

std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

TEST(Bench, QuickRunWritesAgreeingJsonCsvAndSvg) {
    TempDir dir;
    const std::string json = dir.path() + "/bench.json", csv = dir.path() + "/bench.csv",
                      svg = dir.path() + "/bench.svg";
    CliSpec spec;
    spec.args = {"bench", "--quick", "--iterations", "20", "--rss", "0", "--fds", "0",
                 "--ops", "0",       "--json",       json, "--csv", csv, "--svg", svg};
    CliResult r = run_cli(spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_CONTAINS(r.out, "posix_spawn");
    EXPECT_CONTAINS(r.err, "bench: wrote " + svg);

    Json doc = JsonReader(read_file(json)).document();
    ASSERT_EQ(doc.kind, Json::Array);
    ASSERT_FALSE(doc.items.empty());
    std::set<std::string> json_keys, methods, targets;
    int posix_spawn_rows = 0;
    for (const Json &row : doc.items) {
        ASSERT_EQ(row.kind, Json::Object);
        EXPECT_EQ(row.fields.size(), std::size(kFields)) << "exactly the documented fields";
        for (const char *f : kFields)
            ASSERT_TRUE(row.fields.count(f)) << "missing " << f;
        std::map<std::string, std::string> f;
        for (const char *name : {"method", "strategy", "transport", "mode", "target"}) {
            ASSERT_EQ(row.fields.at(name).kind, Json::String) << name;
            f[name] = row.fields.at(name).text;
        }
        for (const char *name : {"rss_mb", "fds", "ops", "median_us", "p90_us", "p99_us"}) {
            ASSERT_EQ(row.fields.at(name).kind, Json::Number) << name;
            f[name] = number_text(row.fields.at(name).number);
        }
        for (const char *name : {"ratio_posix_spawn", "spawns_per_s"})
            EXPECT_TRUE(row.fields.at(name).kind == Json::Number || row.fields.at(name).kind == Json::Null) << name;
        double median = row.fields.at("median_us").number;
        EXPECT_GT(median, 0);
        EXPECT_GE(row.fields.at("p90_us").number, median);
        EXPECT_GE(row.fields.at("p99_us").number, row.fields.at("p90_us").number);
        if (f["method"] == "posix_spawn") {
            posix_spawn_rows++;
            ASSERT_EQ(row.fields.at("ratio_posix_spawn").kind, Json::Number);
            EXPECT_DOUBLE_EQ(row.fields.at("ratio_posix_spawn").number, 1.0);
        }
        EXPECT_TRUE(json_keys.insert(row_key(f)).second) << "duplicate row " << row_key(f);
        methods.insert(f["method"] == "emptyproc"
                           ? "emptyproc " + f["strategy"] + "/" + f["transport"] + "/" + f["mode"]
                           : f["method"]);
        targets.insert(f["target"]);
    }
    EXPECT_EQ(posix_spawn_rows, 2) << "one per target";
    EXPECT_EQ(targets, (std::set<std::string>{"dynamic", "static"}));
    for (const char *m : {"fork+execve", "vfork+execve", "posix_spawn", "clone_pidfd", "exec_floor"})
        EXPECT_TRUE(methods.count(m)) << m;
    // The one-shot helper is built with the CLI; only a kernel that refuses executable memfds
    // (vm.memfd_noexec = 2) may leave it out, and then the bench must say so.
    if (!methods.count("safeexec")) {
        EXPECT_CONTAINS(r.err, "skipped: safeexec: ");
    }

    // The CSV: a header naming the JSON's fields first, then the same rows.
    std::vector<std::string> lines = split(read_file(csv), '\n');
    while (!lines.empty() && lines.back().empty())
        lines.pop_back();
    ASSERT_FALSE(lines.empty());
    std::vector<std::string> header = split(lines[0], ',');
    ASSERT_GE(header.size(), std::size(kFields));
    for (size_t i = 0; i < std::size(kFields); i++)
        EXPECT_EQ(header[i], kFields[i]);
    std::set<std::string> csv_keys;
    for (size_t i = 1; i < lines.size(); i++) {
        std::vector<std::string> cells = split(lines[i], ',');
        ASSERT_EQ(cells.size(), header.size()) << lines[i];
        std::map<std::string, std::string> f;
        for (size_t c = 0; c < header.size(); c++)
            f[header[c]] = cells[c];
        for (const char *name : {"rss_mb", "fds", "ops"})
            f[name] = number_text(std::stod(f[name]));
        csv_keys.insert(row_key(f));
    }
    EXPECT_EQ(csv_keys, json_keys);

    // The SVG: well-formed, one line (polyline) and one legend entry per method in each panel.
    std::string picture = read_file(svg);
    std::map<std::string, int> elements;
    EXPECT_EQ(check_xml(picture, elements), "");
    EXPECT_GE(elements["polyline"], int(methods.size()));
    for (const std::string &m : methods)
        EXPECT_CONTAINS(picture, ">" + m + "</text>");
}

bool strace_on_path() {
    const char *path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (access(((dir.empty() ? "." : dir) + "/strace").c_str(), X_OK) == 0)
            return true;
    return false;
}

// --syscalls: a column in the table, "syscalls" (= caller + child) in the JSON and CSV, counted and
// positive for posix_spawn and every emptyproc row. The counts themselves are not judged.
TEST(Bench, SyscallsColumnIsPresentAndPositiveForPosixSpawnAndEmptyproc) {
    if (!strace_on_path())
        GTEST_SKIP() << "strace is not installed: --syscalls prints \"-\" (its own test would assert nothing)";
    TempDir dir;
    const std::string json = dir.path() + "/bench.json", csv = dir.path() + "/bench.csv";
    CliSpec spec;
    spec.args = {"bench",
                 "--iterations",
                 "5",
                 "--rss",
                 "0",
                 "--fds",
                 "0",
                 "--ops",
                 "0",
                 "--targets",
                 "static",
                 "--methods",
                 "posix_spawn,emptyproc",
                 "--syscalls",
                 "--json",
                 json,
                 "--csv",
                 csv};
    CliResult r = run_cli(spec);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_CONTAINS(r.out, "syscalls");
    if (r.err.find("strace could not attach") != std::string::npos)
        GTEST_SKIP() << "ptrace is not allowed here (no CAP_SYS_PTRACE, or a seccomp filter): " << r.err;
    EXPECT_EQ(r.err.find("syscalls not counted"), std::string::npos) << r.err;

    Json doc = JsonReader(read_file(json)).document();
    ASSERT_EQ(doc.kind, Json::Array);
    int posix_spawn = 0, emptyproc = 0;
    for (const Json &row : doc.items) {
        const std::string method = row.fields.at("method").text;
        for (const char *f : {"syscalls", "syscalls_caller", "syscalls_child"}) {
            ASSERT_TRUE(row.fields.count(f)) << method << ": missing " << f;
            ASSERT_EQ(row.fields.at(f).kind, Json::Number) << method << " " << f;
        }
        double total = row.fields.at("syscalls").number;
        EXPECT_GT(total, 0) << method;
        EXPECT_GT(row.fields.at("syscalls_caller").number, 0) << method;
        EXPECT_GT(row.fields.at("syscalls_child").number, 0) << method << ": at least the execve";
        EXPECT_NEAR(total, row.fields.at("syscalls_caller").number + row.fields.at("syscalls_child").number, 0.01);
        posix_spawn += method == "posix_spawn";
        emptyproc += method == "emptyproc";
    }
    EXPECT_EQ(posix_spawn, 1);
    EXPECT_GE(emptyproc, 1);

    std::vector<std::string> lines = split(read_file(csv), '\n');
    ASSERT_GE(lines.size(), 2u);
    std::vector<std::string> header = split(lines[0], ',');
    auto column = std::find(header.begin(), header.end(), "syscalls");
    ASSERT_NE(column, header.end()) << lines[0];
    for (size_t i = 1; i < lines.size(); i++) {
        if (lines[i].empty())
            continue;
        std::vector<std::string> cells = split(lines[i], ',');
        ASSERT_EQ(cells.size(), header.size()) << lines[i];
        EXPECT_GT(std::stod(cells[size_t(column - header.begin())]), 0) << lines[i];
    }
}

TEST(Bench, MalformedListsAndUnknownMethodsAreUsageErrors) {
    CliSpec spec;
    spec.args = {"bench", "--rss", "0,lots"};
    CliResult r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_CONTAINS(r.err, "--rss 0,lots: 'lots' is not a count");
    spec.args = {"bench", "--methods", "teleport"};
    r = run_cli(spec);
    EXPECT_EQ(r.exit_code(), 2);
    EXPECT_CONTAINS(r.err, "--methods: no method 'teleport'");
}

} // namespace
} // namespace ep::test
