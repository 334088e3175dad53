// SPDX-License-Identifier: MIT
// fingerprint.hpp - the part of the caller's state a prepared process (a pooled stub, the zygote)
// took at its birth and cannot follow afterwards: credentials and resource limits. cwd, root and
// umask the zygote follows live (CLONE_FS); a pooled stub is sent cwd and umask at hand-out and
// its root is compared (pool.cpp). Descriptors and signals are the stub's own (S0).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace ep::detail {

struct Fingerprint {
    uid_t uid[3] = {};
    gid_t gid[3] = {};
    std::vector<gid_t> groups;
    rlimit lim[RLIM_NLIMITS] = {};

    static Fingerprint now() {
        Fingerprint f;
        getresuid(&f.uid[0], &f.uid[1], &f.uid[2]);
        getresgid(&f.gid[0], &f.gid[1], &f.gid[2]);
        gid_t g[64];
        int n = getgroups(64, g);
        if (n < 0) { // more than 64 supplementary groups
            n = getgroups(0, nullptr);
            f.groups.resize(static_cast<size_t>(n > 0 ? n : 0));
            n = getgroups(static_cast<int>(f.groups.size()), f.groups.data());
            f.groups.resize(static_cast<size_t>(n > 0 ? n : 0));
        } else {
            f.groups.assign(g, g + n);
        }
        for (int r = 0; r < RLIM_NLIMITS; r++)
            getrlimit(static_cast<__rlimit_resource>(r), &f.lim[r]);
        return f;
    }
    bool operator==(const Fingerprint &o) const {
        return std::memcmp(uid, o.uid, sizeof uid) == 0 && std::memcmp(gid, o.gid, sizeof gid) == 0 &&
               groups == o.groups && std::memcmp(lim, o.lim, sizeof lim) == 0;
    }
};

} // namespace ep::detail
