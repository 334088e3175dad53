#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages the build and the tests need (as root; apt-get update first).
# Sourced by .ci/main and .ci/test.
set -euo pipefail

EP_PACKAGES=(cmake make g++ pkg-config binutils liburing-dev libgtest-dev libcli11-dev strace ninja-build python3)
# Only the fuzz step of .ci/test needs these (libFuzzer ships with clang's runtime); .ci/main does not.
EP_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# Only the valgrind step of .ci/test needs this (memcheck on the caller's side, tests/valgrind/run.sh).
EP_VALGRIND_PACKAGES=(valgrind)

# ep_install_deps [PACKAGE...]: the given packages, or EP_PACKAGES, whichever are not installed yet.
ep_install_deps() {
    local wanted=("$@") missing=()
    ((${#wanted[@]})) || wanted=("${EP_PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}
