#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages the build and the tests need (as root; apt-get update first).
# Sourced by .ci/main and .ci/test.
set -euo pipefail

EP_PACKAGES=(cmake make g++ pkg-config binutils liburing-dev libgtest-dev libcli11-dev)

ep_install_deps() {
    local missing=()
    for p in "${EP_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "== installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}
