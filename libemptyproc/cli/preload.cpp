// SPDX-License-Identifier: MIT
// preload.cpp - `emptyproc preload [--log FILE] -- PROGRAM [ARGS...]`: exec PROGRAM with
// libemptyproc-preload.so in LD_PRELOAD, so that its posix_spawn calls (and its children's) go
// through the builder. The library is looked up next to libemptyproc.so (the build tree's lib/, or
// the installed libdir), which is where both are built and installed.
#include <CLI/CLI.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "emptyproc/emptyproc.h"

namespace ep::cli {
namespace {

constexpr const char *kPreloadName = "libemptyproc-preload.so";

std::string find_preload() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&ep_open), &info) && info.dli_fname) {
        std::error_code ec;
        auto lib = std::filesystem::canonical(info.dli_fname, ec);
        if (!ec) {
            auto p = lib.parent_path() / kPreloadName;
            if (access(p.c_str(), R_OK) == 0)
                return p.string();
        }
    }
    return "";
}

struct PreloadOptions {
    std::string log;
    std::vector<std::string> command;
};

} // namespace

Runner setup_preload(CLI::App &sub) {
    auto o = std::make_shared<PreloadOptions>();
    sub.add_option("--log", o->log, "append one line per spawn handled to FILE (EMPTYPROC_PRELOAD_LOG)")
        ->type_name("FILE");
    sub.add_option("PROGRAM", o->command, "the program, then its ARGS (searched in PATH)")->required();
    sub.positionals_at_end();
    sub.footer("Exit status: the program's own (it replaces this command); 127 if it was not found; 126 if it "
               "could not be executed; 125 if libemptyproc-preload.so was not found; 2 for a bad command line.");
    return [o]() {
        std::string lib = find_preload();
        if (lib.empty()) {
            std::fprintf(stderr, "emptyproc preload: %s not found next to libemptyproc.so\n", kPreloadName);
            return kExitOpFailed;
        }
        const char *old = std::getenv("LD_PRELOAD");
        std::string preload = lib + (old && *old ? ":" + std::string(old) : "");
        setenv("LD_PRELOAD", preload.c_str(), 1);
        if (!o->log.empty())
            setenv("EMPTYPROC_PRELOAD_LOG", o->log.c_str(), 1);
        std::vector<char *> argv;
        for (auto &a : o->command)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        int err = errno;
        std::fprintf(stderr, "emptyproc preload: %s: %s\n", argv[0], std::strerror(err));
        return err == ENOENT ? kExitNotFound : kExitCannotExec;
    };
}

} // namespace ep::cli
