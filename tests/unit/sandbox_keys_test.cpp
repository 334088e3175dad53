// SPDX-License-Identifier: MIT
// sandbox_keys_test.cpp - the sandbox keys in the caller (parsing, the seccomp compiler) and their
// wire ops in the decoder (shapes, ranges, unknown codes in the gaps).
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.hpp"
#include "emptyproc/emptyproc.h"
#include "keys/keys.hpp"
#include "keys/sandbox.hpp"
#include "proto/encode.hpp"
#include "proto/wire.h"

using ep::detail::FrameBuilder;
using ep::detail::KeyId;
using ep::detail::Record;
using ep::detail::UniqueFd;

namespace {

struct Parsed {
    int err = 0;
    Record r;
    KeyId id{};
    std::string msg;
};
Parsed parse(unsigned cmd, const char *key, const void *value = nullptr, int aux = 0) {
    Parsed p;
    p.err = ep::detail::parse_config(cmd, key, value, aux, p.r, p.id, p.msg);
    return p;
}
Parsed str(const char *key, const char *value) {
    return parse(EP_CONFIG_SET_STRING, key, value, 0);
}

// Encode one record and run the stub's decoder on it.
int decode_one(const Record &r) {
    FrameBuilder fb;
    UniqueFd fd;
    if (r.caller_fd >= 0)
        fd = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    fb.add(0, r, std::move(fd));
    const auto &bytes = fb.finish(0);
    std::vector<uint64_t> words(bytes.size() / 8 + 1);
    std::memcpy(words.data(), bytes.data(), bytes.size());
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    return ep_wire_check_frame(words.data(), static_cast<uint32_t>(bytes.size()),
                               static_cast<uint32_t>(fb.fds().size()), &cur, &bad);
}

TEST(SandboxKeys, UnshareNamesBecomeCloneFlags) {
    auto p = str("unshare", "user,mnt,net,uts,ipc,cgroup,time");
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.op, EP_OP_UNSHARE);
    EXPECT_EQ(p.r.a, static_cast<int64_t>(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWCGROUP | 0x80 /* CLONE_NEWTIME */));
    EXPECT_EQ(decode_one(p.r), 0);
}

TEST(SandboxKeys, UnsharePidIsRefusedWithTheWayToGetIt) {
    auto p = str("unshare", "net,pid");
    EXPECT_EQ(p.err, -EINVAL);
    EXPECT_NE(p.msg.find("ep_open_how.namespaces"), std::string::npos) << p.msg;
}

TEST(SandboxKeys, IdMapLinesAreNormalised) {
    auto p = str("uid_map", "0 1000 1,1  100000 65536");
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.payload, std::string("0 1000 1\n1 100000 65536\n") + '\0');
    EXPECT_EQ(decode_one(p.r), 0);
    EXPECT_EQ(str("gid_map", "0 1000").err, -EINVAL);
    EXPECT_EQ(str("gid_map", "0 1000 0").err, -EINVAL);
    EXPECT_EQ(str("gid_map", "0 1000 1 4").err, -EINVAL);
}

TEST(SandboxKeys, CapabilityNamesNumbersAndAll) {
    auto p = str("cap_drop", "CAP_NET_RAW,sys_admin,0");
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.r.a, static_cast<int64_t>((1ull << 13) | (1ull << 21) | 1ull));
    auto all = str("cap_drop", "all");
    ASSERT_EQ(all.err, 0);
    EXPECT_EQ(all.r.a, static_cast<int64_t>((1ull << (ep::detail::cap_last_cap() + 1)) - 1));
    EXPECT_EQ(str("cap_ambient", "cap_nope").err, -EINVAL);
}

TEST(SandboxKeys, CpusListBecomesAMask) {
    auto p = str("cpus", "0-2,5,64");
    ASSERT_EQ(p.err, 0) << p.msg;
    ASSERT_EQ(p.r.payload.size(), 16u);
    uint64_t w[2];
    std::memcpy(w, p.r.payload.data(), sizeof w);
    EXPECT_EQ(w[0], 0x27u);
    EXPECT_EQ(w[1], 1u);
    EXPECT_EQ(decode_one(p.r), 0);
}

TEST(SandboxKeys, IoprioClasses) {
    EXPECT_EQ(str("ioprio", "rt:1").r.a, (1 << 13) | 1);
    EXPECT_EQ(str("ioprio", "be").r.a, (2 << 13) | 4);
    EXPECT_EQ(str("ioprio", "idle").r.a, 3 << 13);
    EXPECT_EQ(str("ioprio", "idle:3").err, -EINVAL);
}

TEST(SandboxKeys, SeccompDenyCompilesAnArchCheckedProgram) {
    auto p = str("seccomp_deny", "uname,SYS_getcwd");
    ASSERT_EQ(p.err, 0) << p.msg;
    std::vector<sock_filter> prog(p.r.payload.size() / sizeof(sock_filter));
    std::memcpy(prog.data(), p.r.payload.data(), p.r.payload.size());
    ASSERT_GE(prog.size(), 4u);
    EXPECT_EQ(prog[0].code, BPF_LD | BPF_W | BPF_ABS);
    EXPECT_EQ(prog[0].k, offsetof(struct seccomp_data, arch));
    EXPECT_EQ(prog[2].k, SECCOMP_RET_KILL_PROCESS);
    EXPECT_EQ(prog.back().k, SECCOMP_RET_ALLOW);
    int denies = 0;
    for (const auto &i : prog)
        denies += i.code == (BPF_RET | BPF_K) && i.k == (SECCOMP_RET_ERRNO | EPERM);
    EXPECT_GE(denies, 2);
    EXPECT_EQ(decode_one(p.r), 0);
}

TEST(SandboxKeys, SeccompBinaryMustBeWholeInstructions) {
    unsigned char prog[12] = {};
    EXPECT_EQ(parse(EP_CONFIG_SET_BINARY, "seccomp", prog, 12).err, -EINVAL);
}

TEST(SandboxDecode, RangesAreCheckedAgain) {
    Record r;
    r.op = EP_OP_NICE;
    r.a = 20;
    EXPECT_EQ(decode_one(r), -EINVAL);
    r.op = EP_OP_OOM_SCORE_ADJ;
    r.a = -1001;
    r.payload = std::string("-1001") + '\0';
    EXPECT_EQ(decode_one(r), -EINVAL);
    Record u;
    u.op = EP_OP_UNSHARE;
    u.a = CLONE_NEWPID;
    EXPECT_EQ(decode_one(u), -EINVAL);
    Record s;
    s.op = EP_OP_SECCOMP;
    s.payload.assign(12, '\0');
    EXPECT_EQ(decode_one(s), -EINVAL);
}

TEST(SandboxDecode, CodesInTheGapsAreUnknown) {
    for (uint16_t code : {uint16_t(21), uint16_t(47), uint16_t(67), uint16_t(111)}) {
        Record r;
        r.op = code;
        EXPECT_EQ(decode_one(r), -EPROTO) << code;
    }
}

} // namespace
