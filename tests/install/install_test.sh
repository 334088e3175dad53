#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install_test.sh BUILD_DIR SOURCE_DIR - the library installs like a system library: a consumer
# builds against it both with CMake's find_package(emptyproc) and with pkg-config, and runs.
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/emptyproc/emptyproc.h"
test -f "$work/prefix/include/emptyproc/emptyproc.hpp"
libdir=$(dirname "$(find "$work/prefix" -name 'libemptyproc.so' | head -n1)")
test -n "$libdir"
test -f "$libdir/pkgconfig/emptyproc.pc"
test -f "$libdir/cmake/emptyproc/emptyprocConfig.cmake"

cat >"$work/consumer.c" <<'C'
#include <emptyproc/emptyproc.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
int main(void) {
    int fd = ep_open(NULL, 0);
    if (fd < 0) return 1;
    if (ep_config(fd, EP_CONFIG_SET_PATH, "exec", "/bin/true", AT_FDCWD) < 0) return 2;
    if (ep_config(fd, EP_CONFIG_CMD_EXEC, NULL, NULL, 0) < 0) return 3;
    siginfo_t si;
    if (waitid(P_PIDFD, fd, &si, WEXITED) < 0 || si.si_code != CLD_EXITED || si.si_status != 0) return 4;
    ep_close(fd);
    puts("consumer ok");
    return 0;
}
C

# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -o "$work/consumer-pc" "$work/consumer.c" $(pkg-config --cflags --libs emptyproc) -Wl,-rpath,"$libdir"
"$work/consumer-pc"

# CMake package
mkdir -p "$work/cmake-consumer"
cp "$work/consumer.c" "$work/cmake-consumer/"
cat >"$work/cmake-consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(emptyproc 0.1 REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE emptyproc::emptyproc)
CM
cmake -S "$work/cmake-consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer"
