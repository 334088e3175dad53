// SPDX-License-Identifier: MIT
// preload_test.cpp - libemptyproc-preload.so under real programs, through `emptyproc preload`:
// GNU make and ninja build a small C project (result and spawn count from EMPTYPROC_PRELOAD_LOG),
// Python's os.posix_spawn and subprocess, errors without fallback, a multi-threaded caller.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process.hpp"

using namespace ep_test;

namespace {

constexpr const char *kCli = EP_CLI_PATH;

// An ASan-built libemptyproc.so cannot be preloaded into uninstrumented programs (the ASan runtime
// must come first), so these run in the plain build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string shell_quote(const std::string &s) {
    std::string q = "'";
    for (char c : s)
        q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

struct Ran {
    int status = -1; // exit status of the shell command
    std::string out; // its stdout and stderr
};

Ran sh(const std::string &cmd) {
    Ran r;
    FILE *p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p)
        return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        r.out.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

std::vector<std::string> lines_of(const std::string &path) {
    std::vector<std::string> v;
    std::ifstream in(path);
    std::string l;
    while (std::getline(in, l))
        v.push_back(l);
    return v;
}

int count_with(const std::vector<std::string> &lines, const std::string &part) {
    int n = 0;
    for (const auto &l : lines)
        if (l.find(part) != std::string::npos)
            n++;
    return n;
}

bool have(const char *program) {
    return sh(std::string("command -v ") + program + " >/dev/null").status == 0;
}

// The shim itself is never instrumented and needs only libc; what an ASan build cannot do is load
// its libemptyproc.so into an uninstrumented program, which happens at the first spawn.
#define SKIP_IF_SANITIZED()                                                                                            \
    do {                                                                                                               \
        if (kSanitized)                                                                                                \
            GTEST_SKIP() << "an ASan libemptyproc.so cannot be loaded into uninstrumented programs";                   \
    } while (0)

class Preload : public ::testing::Test {
  protected:
    // A C project of two objects and a program: main() returns 0 if both parts link.
    void write_project() {
        tmp.file("a.c", "int part_a(void) { return 20; }\n");
        tmp.file("b.c", "int part_b(void) { return 22; }\n");
        tmp.file("main.c", "#include <stdio.h>\nint part_a(void); int part_b(void);\n"
                           "int main(void) { printf(\"%d\\n\", part_a() + part_b()); return 0; }\n");
    }
    std::string preload(const std::string &cmd) {
        return "cd " + shell_quote(tmp.path()) + " && EMPTYPROC_PRELOAD_LOG= " + shell_quote(kCli) + " preload --log " +
               shell_quote(log()) + " -- " + cmd;
    }
    std::string log() const { return tmp / "spawn.log"; }
    TempDir tmp;
};

TEST_F(Preload, MakeBuildsACProjectThroughTheShim) {
    SKIP_IF_SANITIZED();
    if (!have("make") || !have("cc"))
        GTEST_SKIP() << "make or cc not installed";
    write_project();
    tmp.file("Makefile", "prog: a.o b.o main.o\n\tcc -o $@ $^\n%.o: %.c\n\tcc -c -o $@ $<\n");
    Ran r = sh(preload("make -j2"));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(sh(shell_quote(tmp / "prog")).out, "42\n");
    auto log = lines_of(this->log());
    // make 4.3 posix_spawns each recipe line: 3 compiles, 1 link.
    EXPECT_EQ(log.size(), 4u) << r.out;
    EXPECT_EQ(count_with(log, "posix_spawn pid="), 4);
    EXPECT_EQ(count_with(log, "prog=/usr/bin/cc"), 4);
}

TEST_F(Preload, NinjaBuildsACProjectThroughTheShim) {
    SKIP_IF_SANITIZED();
    if (!have("ninja") || !have("cc"))
        GTEST_SKIP() << "ninja or cc not installed";
    write_project();
    tmp.file("build.ninja", "rule cc\n  command = cc -c -o $out $in\nrule link\n  command = cc -o $out $in\n"
                            "build a.o: cc a.c\nbuild b.o: cc b.c\nbuild main.o: cc main.c\n"
                            "build prog: link a.o b.o main.o\n");
    Ran r = sh(preload("ninja -j2"));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(sh(shell_quote(tmp / "prog")).out, "42\n");
    auto log = lines_of(this->log());
    // ninja runs each command as /bin/sh -c "...": 4 edges, 4 spawns.
    EXPECT_EQ(log.size(), 4u) << r.out;
    EXPECT_EQ(count_with(log, "posix_spawn pid="), 4);
    EXPECT_EQ(count_with(log, "prog=/bin/sh"), 4);
}

TEST_F(Preload, PythonOsPosixSpawnAndSpawnpGoThroughTheShim) {
    SKIP_IF_SANITIZED();
    if (!have("python3"))
        GTEST_SKIP() << "python3 not installed";
    std::string script = "import os\n"
                         "pid = os.posix_spawn('/bin/sh', ['sh', '-c', 'exit 3'], os.environ)\n"
                         "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n"
                         "pid = os.posix_spawnp('true', ['true'], os.environ)\n"
                         "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n";
    std::string py = tmp.file("spawn.py", script);
    Ran r = sh(preload("python3 " + shell_quote(py)));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "3\n0\n");
    auto log = lines_of(this->log());
    ASSERT_EQ(log.size(), 2u);
    EXPECT_NE(log[0].find("posix_spawn pid="), std::string::npos) << log[0];
    EXPECT_NE(log[0].find("prog=/bin/sh"), std::string::npos) << log[0];
    EXPECT_NE(log[1].find("posix_spawnp pid="), std::string::npos) << log[1];
    EXPECT_NE(log[1].find("prog=true"), std::string::npos) << log[1];
}

// The same os.posix_spawn call, with file actions and attributes, run plain (glibc) and under the
// shim: the probe must see the same process either way.
TEST_F(Preload, PythonPosixSpawnWithActionsAndAttributesAgreesWithGlibc) {
    SKIP_IF_SANITIZED();
    if (!have("python3"))
        GTEST_SKIP() << "python3 not installed";
    std::string data = tmp.file("data.txt", "x");
    std::string script =
        "import os, signal, sys\n"
        "r, w = os.pipe()\n"
        "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n"
        "pid = os.posix_spawn(sys.argv[1], ['probe', 'print'], {'K': 'v'},\n"
        "    file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r),\n"
        "                  (os.POSIX_SPAWN_OPEN, 7, sys.argv[2], os.O_RDONLY, 0),\n"
        "                  (os.POSIX_SPAWN_DUP2, 7, 8), (os.POSIX_SPAWN_CLOSE, 7)],\n"
        "    setpgroup=0, resetids=True, setsigmask=[signal.SIGUSR1, signal.SIGTERM],\n"
        "    setsigdef=[signal.SIGPIPE])\n"
        "os.close(w)\n"
        "out = dict(l.split('=', 1) for l in os.read(r, 1 << 20).decode().splitlines() if '=' in l)\n"
        "os.waitpid(pid, 0)\n"
        "print('pgid_is_pid', out['pgid'] == out['pid'])\n"
        "for k in ('argv.0', 'env.0', 'envc', 'uid', 'gid', 'umask', 'cwd', 'sigblk', 'sigign', 'sigcgt',\n"
        "          'fd.8', 'sched'):\n"
        "    print(k, out.get(k))\n"
        "print('fds', ','.join(f for f in out['fds'].split(',') if f in ('0', '1', '2', '7', '8')))\n";
    std::string py = tmp.file("agree.py", script);
    std::string args = " " + shell_quote(EP_PROBE_PATH) + " " + shell_quote(data);
    Ran plain = sh("cd " + shell_quote(tmp.path()) + " && python3 " + shell_quote(py) + args);
    Ran shim = sh(preload("python3 " + shell_quote(py) + args));
    ASSERT_EQ(plain.status, 0) << plain.out;
    ASSERT_EQ(shim.status, 0) << shim.out;
    EXPECT_EQ(shim.out, plain.out);
    EXPECT_NE(plain.out.find("pgid_is_pid True"), std::string::npos) << plain.out;
    EXPECT_NE(plain.out.find("fd.8 " + data), std::string::npos) << plain.out;
    EXPECT_EQ(lines_of(log()).size(), 1u);
}

// CPython 3.11's subprocess uses posix_spawn only when close_fds=False, the executable has a
// directory part and no option needs code between fork and exec (cwd, start_new_session, ...).
TEST_F(Preload, PythonSubprocessUsesPosixSpawnOnlyWithCloseFdsFalse) {
    SKIP_IF_SANITIZED();
    if (!have("python3"))
        GTEST_SKIP() << "python3 not installed";
    std::string script = "import subprocess\n"
                         "out = subprocess.run(['/bin/echo', 'via spawn'], close_fds=False,\n"
                         "                     stdout=subprocess.PIPE).stdout\n"
                         "print(out.decode().strip())\n"
                         "subprocess.run(['/bin/true'])\n"              // close_fds=True: fork_exec
                         "subprocess.run(['true'], close_fds=False)\n"; // no directory: fork_exec
    std::string py = tmp.file("sub.py", script);
    Ran r = sh(preload("python3 " + shell_quote(py)));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "via spawn\n");
    auto log = lines_of(this->log());
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("prog=/bin/echo"), std::string::npos) << log[0];
}

TEST_F(Preload, ErrorsAreReturnedNotFallenBackFrom) {
    SKIP_IF_SANITIZED();
    if (!have("python3"))
        GTEST_SKIP() << "python3 not installed";
    std::string script = "import os\n"
                         "try:\n"
                         "    os.posix_spawn('/nonexistent/prog', ['x'], {})\n"
                         "except OSError as e:\n"
                         "    print(e.errno == 2)\n";
    std::string py = tmp.file("err.py", script);
    Ran r = sh(preload("python3 " + shell_quote(py)));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "True\n");
    auto log = lines_of(this->log());
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("posix_spawn err=ENOENT prog=/nonexistent/prog"), std::string::npos) << log[0];
}

TEST_F(Preload, ManyThreadsSpawnThroughTheShimAtOnce) {
    SKIP_IF_SANITIZED();
    if (!have("python3"))
        GTEST_SKIP() << "python3 not installed";
    std::string script = "import os, threading\n"
                         "bad = []\n"
                         "def work(t):\n"
                         "    for i in range(15):\n"
                         "        pid = os.posix_spawn('/bin/sh', ['sh', '-c', 'exit %d' % (i % 5)], {})\n"
                         "        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != i % 5: bad.append(i)\n"
                         "ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]\n"
                         "[t.start() for t in ts]; [t.join() for t in ts]\n"
                         "print(len(bad))\n";
    std::string py = tmp.file("threads.py", script);
    Ran r = sh(preload("python3 " + shell_quote(py)));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "0\n");
    auto log = lines_of(this->log());
    EXPECT_EQ(log.size(), 60u);
    EXPECT_EQ(count_with(log, "posix_spawn pid="), 60); // whole lines: one write(2) each
}

TEST_F(Preload, CliSetsLdPreloadForTheProgram) {
    Ran r = sh(shell_quote(kCli) + " preload -- /usr/bin/env");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("LD_PRELOAD="), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("libemptyproc-preload.so"), std::string::npos) << r.out;
}

// Every descendant of a preloaded program loads the shim; it must not drag libemptyproc.so and
// libstdc++ into processes that never spawn (it dlopen()s them at the first spawn).
TEST_F(Preload, ShimNeedsOnlyLibcUntilTheFirstSpawn) {
    Ran r =
        sh("readelf -d " + shell_quote(std::string(EP_BIN_DIR) + "/../lib/libemptyproc-preload.so") + " | grep NEEDED");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("[libc.so.6]"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("libemptyproc"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("libstdc++"), std::string::npos) << r.out;
}

TEST_F(Preload, CliWithoutProgramIsAUsageError) {
    EXPECT_EQ(sh(shell_quote(kCli) + " preload").status, 2);
}

TEST_F(Preload, CliMissingProgramExits127) {
    EXPECT_EQ(sh(shell_quote(kCli) + " preload -- /nonexistent/program").status, 127);
}

} // namespace
