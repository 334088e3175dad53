// SPDX-License-Identifier: MIT
//
// spawn.cpp - example_spawn's C++ twin: the same spawn with ep::Builder, ep::Child and error codes.
//
// What it shows
//   - Typed, chainable setters record the operations; spawn() replays them on an empty process.
//   - Errors without exceptions (std::error_code& plus the log text) and with them (ep::spawn_error).
//   - ep::Child::wait() returns an ep::ExitStatus; a Child that goes out of scope unwaited would be
//     killed and reaped, so nothing is left behind on any path.
//
//   $ example_spawn_cpp
//   hello from an empty process
//   echo exited with status 0
//   spawn failed as expected: No such file or directory
//     e cwd: ENOENT (No such file or directory)
//   spawn_error: e cwd: ENOENT (No such file or directory): No such file or directory
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <emptyproc/emptyproc.hpp>

namespace {

ep::Builder echo(const char *cwd) {
    ep::Builder b;
    b.fd(1, STDOUT_FILENO)
        .fd(2, STDERR_FILENO)
        .cwd(cwd)
        .args({"echo", "hello from an empty process"})
        .exec("/bin/echo");
    return b;
}

} // namespace

int main() {
    std::cout.flush(); // our buffered output must be out before the program writes to the same stdout

    std::error_code ec;
    std::string log;
    ep::Child child = echo("/").spawn(ec, &log);
    if (ec) {
        std::cerr << "spawn: " << ec.message() << "\n" << log << "\n";
        return 1;
    }
    std::cout << "echo exited with status " << child.wait().shell_code() << std::endl;

    // The error_code form: no exception, the errno and the log text.
    ep::Child none = echo("/nonexistent-directory").spawn(ec, &log);
    if (!ec) {
        std::cerr << "a cwd that does not exist was accepted\n";
        return 1;
    }
    std::cout << "spawn failed as expected: " << ec.message() << "\n  " << log << "\n";

    // The throwing form: ep::spawn_error is a std::system_error that also carries the log.
    try {
        echo("/nonexistent-directory").spawn();
    } catch (const ep::spawn_error &e) {
        std::cout << "spawn_error: " << e.what() << std::endl;
    }
    return 0;
}
