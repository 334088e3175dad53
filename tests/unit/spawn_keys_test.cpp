// SPDX-License-Identifier: MIT
// spawn_keys_test.cpp - the posix_spawn keys (sched, schedparam, tcsetpgrp, dup.<N>, fchdir,
// resetids, execpath): each key's record, each rejection, and the decoder's view of ops 32..38.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "emptyproc/emptyproc.h"
#include "keys/keys.hpp"
#include "proto/encode.hpp"
#include "proto/wire.h"

namespace {

using ep::detail::FrameBuilder;
using ep::detail::KeyId;
using ep::detail::parse_config;
using ep::detail::Record;
using ep::detail::UniqueFd;

struct Parsed {
    int err = 0;
    Record r;
    KeyId id{};
    std::string msg;
};

Parsed parse(unsigned cmd, const char *key, const char *value = nullptr) {
    Parsed p;
    p.err = parse_config(cmd, key, value, 0, p.r, p.id, p.msg);
    return p;
}

void expect_op(const Parsed &p, KeyId id, uint16_t op, int64_t a, int64_t b) {
    ASSERT_EQ(p.err, 0) << p.msg;
    EXPECT_EQ(p.id, id);
    EXPECT_EQ(p.r.op, op);
    EXPECT_EQ(p.r.a, a);
    EXPECT_EQ(p.r.b, b);
    EXPECT_EQ(p.r.caller_fd, -1);
}

void expect_einval(const Parsed &p, const std::string &part) {
    EXPECT_EQ(p.err, -EINVAL) << p.msg;
    EXPECT_NE(p.msg.find(part), std::string::npos) << p.msg;
}

// ---- keys --------------------------------------------------------------------------------------

TEST(SpawnKeys, SchedPolicyAndPriority) {
    expect_op(parse(EP_CONFIG_SET_STRING, "sched", "fifo:10"), KeyId::Sched, EP_OP_SCHED, SCHED_FIFO, 10);
    expect_op(parse(EP_CONFIG_SET_STRING, "sched", "rr:99"), KeyId::Sched, EP_OP_SCHED, SCHED_RR, 99);
}

TEST(SpawnKeys, SchedPriorityDefaultsToZero) {
    expect_op(parse(EP_CONFIG_SET_STRING, "sched", "batch"), KeyId::Sched, EP_OP_SCHED, SCHED_BATCH, 0);
    expect_op(parse(EP_CONFIG_SET_STRING, "sched", "idle"), KeyId::Sched, EP_OP_SCHED, SCHED_IDLE, 0);
    expect_op(parse(EP_CONFIG_SET_STRING, "sched", "other:0"), KeyId::Sched, EP_OP_SCHED, SCHED_OTHER, 0);
}

TEST(SpawnKeys, SchedRejectsUnknownPolicy) {
    expect_einval(parse(EP_CONFIG_SET_STRING, "sched", "deadline"), "unknown scheduling policy");
}

TEST(SpawnKeys, SchedRejectsPriorityOutsideThePolicysRange) {
    expect_einval(parse(EP_CONFIG_SET_STRING, "sched", "other:5"), "outside other's range 0..0");
    expect_einval(parse(EP_CONFIG_SET_STRING, "sched", "fifo:0"), "outside fifo's range 1..99");
    expect_einval(parse(EP_CONFIG_SET_STRING, "sched", "fifo:100"), "not a number from 0 to 99");
    expect_einval(parse(EP_CONFIG_SET_STRING, "sched", "rr:-1"), "not a number");
}

TEST(SpawnKeys, SchedparamIsAPriority) {
    expect_op(parse(EP_CONFIG_SET_STRING, "schedparam", "7"), KeyId::Schedparam, EP_OP_SCHEDPARAM, 7, 0);
    expect_einval(parse(EP_CONFIG_SET_STRING, "schedparam", "x"), "not a number");
}

TEST(SpawnKeys, TcsetpgrpTakesAChildDescriptor) {
    expect_op(parse(EP_CONFIG_SET_STRING, "tcsetpgrp", "0"), KeyId::Tcsetpgrp, EP_OP_TCSETPGRP, 0, 0);
    expect_einval(parse(EP_CONFIG_SET_STRING, "tcsetpgrp", "-1"), "descriptor number");
}

TEST(SpawnKeys, DupTargetFromSuffixSourceFromValue) {
    expect_op(parse(EP_CONFIG_SET_STRING, "dup.1", "9"), KeyId::Dup, EP_OP_DUP, 1, 9);
    expect_op(parse(EP_CONFIG_SET_STRING, "dup.4", "4"), KeyId::Dup, EP_OP_DUP, 4, 4);
}

TEST(SpawnKeys, DupRejectsBadNumbersAndAMissingSuffix) {
    expect_einval(parse(EP_CONFIG_SET_STRING, "dup.x", "1"), "descriptor number");
    expect_einval(parse(EP_CONFIG_SET_STRING, "dup.1", "one"), "descriptor number");
    expect_einval(parse(EP_CONFIG_SET_STRING, "dup", "1"), "needs a suffix");
}

TEST(SpawnKeys, FchdirTakesAChildDescriptor) {
    expect_op(parse(EP_CONFIG_SET_STRING, "fchdir", "5"), KeyId::Fchdir, EP_OP_FCHDIR, 5, 0);
}

TEST(SpawnKeys, ResetidsIsAFlag) {
    expect_op(parse(EP_CONFIG_SET_FLAG, "resetids"), KeyId::Resetids, EP_OP_RESETIDS, 0, 0);
    expect_einval(parse(EP_CONFIG_SET_STRING, "resetids", "1"), "SET_STRING is not accepted");
}

TEST(SpawnKeys, ExecpathCarriesTheStringEmptyIncluded) {
    auto p = parse(EP_CONFIG_SET_STRING, "execpath", "/a:/b");
    expect_op(p, KeyId::Execpath, EP_OP_SEARCH_PATH, 0, 0);
    EXPECT_EQ(p.r.payload, std::string("/a:/b", 6));
    auto e = parse(EP_CONFIG_SET_STRING, "execpath", "");
    ASSERT_EQ(e.err, 0) << e.msg;
    EXPECT_EQ(e.r.payload, std::string("", 1));
}

// ---- decoder -----------------------------------------------------------------------------------

struct Frame {
    std::vector<uint64_t> words; // 8-byte aligned, as the stub's receive buffer
    uint32_t len = 0;
};

Frame frame_of(const std::vector<Record> &recs) {
    FrameBuilder fb;
    uint32_t i = 0;
    for (const auto &r : recs)
        fb.add(i++, r, UniqueFd());
    const auto &bytes = fb.finish(0);
    Frame f;
    f.len = static_cast<uint32_t>(bytes.size());
    f.words.resize((bytes.size() + 7) / 8);
    std::memcpy(f.words.data(), bytes.data(), bytes.size());
    return f;
}

int check(Frame &f) {
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    return ep_wire_check_frame(f.words.data(), f.len, 0, &cur, &bad);
}

Record rec(uint16_t op, int64_t a = 0, int64_t b = 0, std::string payload = {}) {
    Record r;
    r.op = op;
    r.a = a;
    r.b = b;
    r.payload = std::move(payload);
    return r;
}

TEST(SpawnOpsDecode, EveryPosixSpawnOpIsAccepted) {
    Frame f = frame_of({rec(EP_OP_SCHED, SCHED_FIFO, 1), rec(EP_OP_SCHEDPARAM, 0), rec(EP_OP_TCSETPGRP, 0),
                        rec(EP_OP_DUP, 1, 9), rec(EP_OP_FCHDIR, 3), rec(EP_OP_RESETIDS),
                        rec(EP_OP_SEARCH_PATH, 0, 0, std::string("", 1))});
    EXPECT_EQ(check(f), 0);
}

TEST(SpawnOpsDecode, ArgumentsOutOfRangeAreEINVAL) {
    for (const Record &r :
         {rec(EP_OP_SCHED, 7, 0), rec(EP_OP_SCHED, 1, 100), rec(EP_OP_SCHEDPARAM, -1), rec(EP_OP_TCSETPGRP, -1),
          rec(EP_OP_DUP, 1, -1), rec(EP_OP_DUP, 0x80000000LL, 1), rec(EP_OP_FCHDIR, -5)}) {
        Frame f = frame_of({r});
        SCOPED_TRACE("op " + std::to_string(r.op));
        EXPECT_EQ(check(f), -EINVAL);
    }
}

TEST(SpawnOpsDecode, SearchPathNeedsItsNul) {
    Frame f = frame_of({rec(EP_OP_RESETIDS, 0, 0, std::string("x", 1))}); // payload on an op without one
    EXPECT_EQ(check(f), -EINVAL);
}

// Only codes of this feature's range (32..47) are checked: other ranges belong to other features.
TEST(SpawnOpsDecode, UndefinedCodesOfTheRangeAreProtocolErrors) {
    for (uint16_t op : {uint16_t(EP_OP_SEARCH_PATH + 1), uint16_t(47)}) {
        Frame f = frame_of({rec(EP_OP_RESETIDS)});
        auto *r = reinterpret_cast<ep_wire_rec *>(reinterpret_cast<unsigned char *>(f.words.data()) +
                                                  sizeof(ep_wire_frame_hdr));
        r->op = op;
        SCOPED_TRACE("op " + std::to_string(op));
        EXPECT_EQ(check(f), -EPROTO);
    }
}

} // namespace
