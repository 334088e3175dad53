// SPDX-License-Identifier: MIT
// stub_symbols_test.cpp - the stub (everything between clone and exec) is freestanding: its objects
// leave no symbol undefined that another stub object does not define (no libc, not even memcpy or
// __stack_chk_fail), and its sources call nothing of libc, touch no errno and throw nothing.
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

std::vector<std::string> stub_objects() {
    std::vector<std::string> out;
    std::stringstream ss(EP_STUB_OBJECTS);
    for (std::string item; std::getline(ss, item, ':');)
        if (!item.empty())
            out.push_back(item);
    return out;
}

// Run a command, return its stdout lines; *status gets the exit status.
std::vector<std::string> run(const std::string &cmd, int *status) {
    std::vector<std::string> lines;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p) {
        *status = -1;
        return lines;
    }
    char buf[4096];
    std::string cur;
    while (fgets(buf, sizeof buf, p)) {
        cur += buf;
        if (!cur.empty() && cur.back() == '\n') {
            cur.pop_back();
            lines.push_back(cur);
            cur.clear();
        }
    }
    if (!cur.empty())
        lines.push_back(cur);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return lines;
}

std::string quote(const std::string &s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// The symbol names nm prints (the last field of each line).
std::set<std::string> nm_symbols(const std::string &flags, const std::string &object) {
    int status = 0;
    auto lines = run("nm " + flags + " " + quote(object) + " 2>&1", &status);
    EXPECT_EQ(status, 0) << "nm " << flags << " " << object;
    std::set<std::string> syms;
    for (const auto &line : lines) {
        size_t sp = line.find_last_of(' ');
        std::string name = sp == std::string::npos ? line : line.substr(sp + 1);
        if (!name.empty() && name.back() != ':') // skip "file.o:" headers
            syms.insert(name);
    }
    return syms;
}

TEST(StubSymbols, ObjectListNamesTheStubsObjects) {
    auto objs = stub_objects();
    ASSERT_FALSE(objs.empty()) << "EP_STUB_OBJECTS is empty";
    std::set<std::string> names;
    for (const auto &o : objs) {
        EXPECT_TRUE(fs::exists(o)) << o;
        names.insert(fs::path(o).filename().string());
    }
    for (const char *want : {"stub.c.o", "ops.c.o", "ops_sandbox.c.o", "clone.c.o", "decode.c.o"})
        EXPECT_EQ(names.count(want), 1u) << want << " is not among the stub's objects";
}

TEST(StubSymbols, DefinesTheEntryPointsTheCallerUses) {
    std::set<std::string> defined;
    for (const auto &o : stub_objects())
        for (const auto &s : nm_symbols("--defined-only", o))
            defined.insert(s);
    for (const char *want : {"ep_stub_main", "ep_clone3_run", "ep_clone_run", "ep_wire_check_frame", "ep_wire_next"})
        EXPECT_EQ(defined.count(want), 1u) << want;
}

TEST(StubSymbols, EveryUndefinedSymbolIsDefinedByAnotherStubObject) {
    auto objs = stub_objects();
    ASSERT_FALSE(objs.empty());
    std::set<std::string> defined;
    std::map<std::string, std::string> undefined; // symbol -> the object that needs it
    for (const auto &o : objs) {
        for (const auto &s : nm_symbols("--defined-only", o))
            defined.insert(s);
        for (const auto &s : nm_symbols("-u", o))
            undefined.emplace(s, fs::path(o).filename().string());
    }
    for (const auto &[sym, obj] : undefined)
        EXPECT_EQ(defined.count(sym), 1u) << obj << " needs " << sym << ", which no stub object defines (libc?)";
}

TEST(StubSymbols, NoLibcOrCompilerRuntimeSymbolIsReferenced) {
    const std::set<std::string> forbidden = {"memcpy",
                                             "memset",
                                             "memmove",
                                             "memcmp",
                                             "strlen",
                                             "errno",
                                             "__errno_location",
                                             "__stack_chk_fail",
                                             "__stack_chk_guard",
                                             "malloc",
                                             "free",
                                             "calloc",
                                             "abort",
                                             "syscall",
                                             "__tls_get_addr",
                                             "_Unwind_Resume",
                                             "__cxa_throw",
                                             "__gxx_personality_v0",
                                             "__asan_report_load8",
                                             "__ubsan_handle_type_mismatch_v1",
                                             "__sanitizer_cov_trace_pc",
                                             "__fentry__",
                                             "mcount"};
    for (const auto &o : stub_objects())
        for (const auto &s : nm_symbols("-u", o))
            EXPECT_EQ(forbidden.count(s), 0u) << fs::path(o).filename() << " references " << s;
}

TEST(StubSymbols, NoObjectReferencesAnyAsanOrUbsanHook) {
    for (const auto &o : stub_objects())
        for (const auto &s : nm_symbols("-u", o))
            EXPECT_TRUE(s.rfind("__asan", 0) != 0 && s.rfind("__ubsan", 0) != 0 && s.rfind("__tsan", 0) != 0)
                << fs::path(o).filename() << " is instrumented: " << s;
}

// ---- the sources ------------------------------------------------------------------------------

fs::path source_root() {
    return fs::path(__FILE__).parent_path().parent_path().parent_path();
}

std::vector<fs::path> stub_sources() {
    std::vector<fs::path> files;
    fs::path stub = source_root() / "libemptyproc" / "stub";
    if (fs::is_directory(stub))
        for (const auto &e : fs::directory_iterator(stub))
            if (e.path().extension() == ".c" || e.path().extension() == ".h")
                files.push_back(e.path());
    files.push_back(source_root() / "libemptyproc" / "proto" / "decode.c");
    files.push_back(source_root() / "libemptyproc" / "proto" / "wire.h");
    std::sort(files.begin(), files.end());
    return files;
}

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Scanned {
    std::vector<std::pair<int, std::string>> identifiers; // line, identifier (code only)
    std::vector<std::pair<int, std::string>> includes;    // line, header as written
};

// Tokenize C source: comments, string and character literals and preprocessor lines are not code;
// #include lines are collected separately. Inline assembly strings are literals and skipped too.
Scanned scan(const std::string &src) {
    Scanned out;
    int line = 1;
    bool line_start = true;
    for (size_t i = 0; i < src.size();) {
        char c = src[i];
        if (c == '\n') {
            line++;
            line_start = true;
            i++;
            continue;
        }
        if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
            size_t end = src.find("*/", i + 2);
            end = end == std::string::npos ? src.size() : end + 2;
            line += int(std::count(src.begin() + long(i), src.begin() + long(end), '\n'));
            i = end;
            continue;
        }
        if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
            i = src.find('\n', i);
            if (i == std::string::npos)
                i = src.size();
            continue;
        }
        if (line_start && c == '#') { // a directive, with its continuation lines
            size_t end = i;
            for (;;) {
                end = src.find('\n', end);
                if (end == std::string::npos || end == 0 || src[end - 1] != '\\')
                    break;
                end++;
            }
            if (end == std::string::npos)
                end = src.size();
            std::string dir = src.substr(i, end - i);
            std::string compact;
            for (char d : dir)
                if (d != ' ' && d != '\t')
                    compact += d;
            if (compact.rfind("#include", 0) == 0)
                out.includes.emplace_back(line, compact.substr(8));
            line += int(std::count(dir.begin(), dir.end(), '\n'));
            i = end;
            continue;
        }
        if (c == '"' || c == '\'') {
            size_t j = i + 1;
            while (j < src.size() && src[j] != c) {
                if (src[j] == '\\')
                    j++;
                else if (src[j] == '\n')
                    line++;
                j++;
            }
            i = j + 1;
            line_start = false;
            continue;
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t j = i;
            while (j < src.size() && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_'))
                j++;
            out.identifiers.emplace_back(line, src.substr(i, j - i));
            i = j;
            line_start = false;
            continue;
        }
        if (c != ' ' && c != '\t')
            line_start = false;
        i++;
    }
    return out;
}

const std::set<std::string> &forbidden_identifiers() {
    static const std::set<std::string> f = {
        // allocation and stdio
        "malloc", "calloc", "realloc", "free", "alloca", "printf", "fprintf", "sprintf", "snprintf", "vprintf",
        "dprintf", "puts", "fputs", "perror", "strerror",
        // libc state and string functions the compiler could not inline
        "errno", "__errno_location", "memcpy", "memset", "memmove", "memcmp", "strlen", "strcpy", "strcmp", "strncpy",
        "getenv", "setenv",
        // libc wrappers the stub replaces with raw system calls
        "syscall", "abort", "exit", "_exit", "raise", "signal", "sigaction", "sigprocmask", "execve", "execvp", "fork",
        "vfork", "open", "close", "read", "write", "dup2",
        // thread-local storage, locks, non-local jumps, exceptions
        "__thread", "_Thread_local", "thread_local", "pthread_mutex_lock", "setjmp", "longjmp", "throw", "try",
        "catch"};
    return f;
}

TEST(StubSources, ScannerSeesCallsButNotCommentsStringsOrDirectives) {
    Scanned s = scan("#include <linux/errno.h>\n/* memcpy(a, b) */ // malloc\nint x = f(\"printf\");\n"
                     "void g(void) { memset(p, 0, 1); }\n#define Y \\\n  errno\n");
    std::set<std::string> ids;
    for (const auto &[line, id] : s.identifiers)
        ids.insert(id);
    EXPECT_EQ(ids.count("memset"), 1u);
    EXPECT_EQ(ids.count("memcpy"), 0u);
    EXPECT_EQ(ids.count("malloc"), 0u);
    EXPECT_EQ(ids.count("printf"), 0u);
    EXPECT_EQ(ids.count("errno"), 0u);
    ASSERT_EQ(s.includes.size(), 1u);
    EXPECT_EQ(s.includes[0].second, "<linux/errno.h>");
    for (const auto &[line, id] : s.identifiers) {
        if (id == "memset") {
            EXPECT_EQ(line, 4);
        }
    }
}

TEST(StubSources, AllAreFound) {
    auto files = stub_sources();
    std::set<std::string> names;
    for (const auto &f : files) {
        EXPECT_TRUE(fs::exists(f)) << f;
        names.insert(f.filename().string());
    }
    for (const char *want : {"stub.c", "ops.c", "ops_sandbox.c", "clone.c", "sys.h", "decode.c", "wire.h"})
        EXPECT_EQ(names.count(want), 1u) << want << " not found under " << source_root();
}

TEST(StubSources, CallNoLibcAndTouchNoErrno) {
    for (const auto &f : stub_sources()) {
        Scanned s = scan(slurp(f));
        for (const auto &[line, id] : s.identifiers)
            EXPECT_EQ(forbidden_identifiers().count(id), 0u)
                << f.filename().string() << ":" << line << " uses " << id << " (the stub is freestanding)";
    }
}

TEST(StubSources, IncludeOnlyFreestandingAndKernelHeaders) {
    for (const auto &f : stub_sources()) {
        for (const auto &[line, inc] : scan(slurp(f)).includes) {
            bool ok = (inc.size() > 2 && inc.front() == '"') || inc == "<stddef.h>" || inc == "<stdint.h>" ||
                      inc.rfind("<asm/", 0) == 0 || inc.rfind("<linux/", 0) == 0 || inc == "<stdbool.h>";
            EXPECT_TRUE(ok) << f.filename().string() << ":" << line << " includes " << inc
                            << " (only freestanding headers, kernel uapi headers and the stub's own)";
        }
    }
}

TEST(StubSources, LocalIncludesStayInsideTheStubAndProto) {
    for (const auto &f : stub_sources()) {
        for (const auto &[line, inc] : scan(slurp(f)).includes) {
            if (inc.front() != '"')
                continue;
            fs::path target = fs::weakly_canonical(f.parent_path() / inc.substr(1, inc.size() - 2));
            std::string dir = target.parent_path().filename().string();
            EXPECT_TRUE(dir == "stub" || dir == "proto")
                << f.filename().string() << ":" << line << " includes " << inc << " from outside the stub";
        }
    }
}

} // namespace
