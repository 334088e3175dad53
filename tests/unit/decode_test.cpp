// SPDX-License-Identifier: MIT
// decode_test.cpp - the stub's frame decoder (proto/decode.c) against frames built by the caller's
// encoder (proto/encode.cpp): round trips, every rejection with its errno, and a mutation test that
// runs the decoder on hostile bytes placed right before a guard page.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proto/encode.hpp"
#include "proto/wire.h"

namespace {

using ep::detail::FrameBuilder;
using ep::detail::Record;
using ep::detail::UniqueFd;

constexpr uint32_t kNone = 0xffffffffu; // bad_index when no record is to blame
constexpr uint32_t kFirstIndex = 100;   // stream positions start here, so that they differ from slots
constexpr int kSendFd = 1;              // Record::caller_fd marker: "this record carries a descriptor"

std::string str(const std::string &s) {
    return std::string(s.data(), s.size() + 1);
}

Record rec(uint16_t op, int64_t a = 0, int64_t b = 0, int32_t c = 0, std::string payload = {}, int fd = -1) {
    Record r;
    r.op = op;
    r.a = a;
    r.b = b;
    r.c = c;
    r.payload = std::move(payload);
    r.caller_fd = fd;
    return r;
}

std::string gid_payload(const std::vector<uint32_t> &gids) {
    return std::string(reinterpret_cast<const char *>(gids.data()), gids.size() * sizeof(uint32_t));
}

struct Built {
    std::vector<unsigned char> bytes;
    uint32_t nfds = 0;
};

// Encode records with FrameBuilder; records with caller_fd >= 0 carry a fresh /dev/null descriptor.
Built build(const std::vector<Record> &recs, uint16_t flags = 0) {
    FrameBuilder fb;
    uint32_t index = kFirstIndex;
    for (const auto &r : recs) {
        UniqueFd fd;
        if (r.caller_fd >= 0)
            fd = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
        fb.add(index++, r, std::move(fd));
    }
    Built b;
    b.bytes = fb.finish(flags);
    b.nfds = static_cast<uint32_t>(fb.fds().size());
    return b;
}

// An 8-byte aligned copy of a frame, as the stub's receive buffer is.
class Aligned {
  public:
    explicit Aligned(const std::vector<unsigned char> &bytes, size_t offset = 0)
        : words_((bytes.size() + offset + 7) / 8 + 1), len_(static_cast<uint32_t>(bytes.size())), offset_(offset) {
        if (!bytes.empty())
            std::memcpy(data(), bytes.data(), bytes.size());
    }
    unsigned char *data() { return reinterpret_cast<unsigned char *>(words_.data()) + offset_; }
    uint32_t size() const { return len_; }

  private:
    std::vector<uint64_t> words_;
    uint32_t len_;
    size_t offset_;
};

// The decoder's verdict and the records it walked. ops[i].data pointed into a buffer that is gone
// once decode() returns: use payloads[i].
struct Decoded {
    int err = 0;
    uint32_t bad = 0;
    std::vector<ep_wire_op> ops;
    std::vector<std::string> payloads;
};

Decoded decode(const std::vector<unsigned char> &bytes, uint32_t nfds) {
    Aligned buf(bytes);
    Decoded d;
    ep_wire_cursor cur{};
    d.err = ep_wire_check_frame(buf.data(), buf.size(), nfds, &cur, &d.bad);
    if (d.err)
        return d;
    ep_wire_op op{};
    while (ep_wire_next(&cur, &op)) {
        d.ops.push_back(op);
        d.payloads.emplace_back(op.data ? std::string(op.data, op.len) : std::string());
    }
    return d;
}

Decoded decode(const Built &b) {
    return decode(b.bytes, b.nfds);
}

// Byte offset of record k (0-based) in a well-formed frame.
size_t rec_offset(const std::vector<unsigned char> &bytes, size_t k) {
    size_t off = sizeof(ep_wire_frame_hdr);
    for (size_t i = 0; i < k; i++) {
        ep_wire_rec r;
        std::memcpy(&r, bytes.data() + off, sizeof r);
        off += ep_wire_rec_size(r.len);
    }
    return off;
}

template <typename T> void poke(std::vector<unsigned char> &bytes, size_t off, T v) {
    std::memcpy(bytes.data() + off, &v, sizeof v);
}

template <typename T> T peek(const std::vector<unsigned char> &bytes, size_t off) {
    T v;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    return v;
}

#define HDR(field) offsetof(ep_wire_frame_hdr, field)
#define REC(bytes, k, field) (rec_offset(bytes, k) + offsetof(ep_wire_rec, field))

void set_frame_len(std::vector<unsigned char> &bytes) {
    poke<uint32_t>(bytes, HDR(len), uint32_t(bytes.size()));
}

// Expect the frame to be rejected with err, blaming the record at stream index bad.
void expect_reject(const Built &b, int err, uint32_t bad) {
    Decoded d = decode(b);
    EXPECT_EQ(d.err, err) << strerror(-d.err);
    EXPECT_EQ(d.bad, bad);
}

// A frame with one record of every op, descriptors where an op may carry one.
std::vector<Record> every_op() {
    return {
        rec(EP_OP_FD_DUP, 5, 0, 0, {}, kSendFd),
        rec(EP_OP_OPEN, 7, O_WRONLY | O_CREAT, 0640, str("out.txt")),
        rec(EP_OP_OPEN, 8, O_RDONLY, 0, str("rel"), kSendFd),
        rec(EP_OP_CLOSE, 2),
        rec(EP_OP_CLOSEFROM, 3),
        rec(EP_OP_CHDIR, 0, 0, 0, str("/tmp")),
        rec(EP_OP_CHDIR, 0, 0, 0, str(""), kSendFd),
        rec(EP_OP_CHROOT, 0, 0, 0, str("/")),
        rec(EP_OP_RLIMIT, 100, 200, 7),
        rec(EP_OP_RLIMIT, -1, -1, 3),
        rec(EP_OP_SETGROUPS, 3, 0, 0, gid_payload({10, 20, 30})),
        rec(EP_OP_SETGID, 1000),
        rec(EP_OP_SETUID, 1000, 0, EP_SETUID_CLEAR_GROUPS),
        rec(EP_OP_SIGMASK, int64_t(0x8000000000000001ull)),
        rec(EP_OP_SIGDEFAULT, 0x3),
        rec(EP_OP_SIGIGNORE, 0x4),
        rec(EP_OP_UMASK, 022),
        rec(EP_OP_SETSID),
        rec(EP_OP_SETPGID, 0),
        rec(EP_OP_ARGV, 0, 0, 0, str("prog")),
        rec(EP_OP_ARGV, 0, 0, 0, str("")),
        rec(EP_OP_ENV, 0, 0, 0, str("A=b")),
        rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_FD, str(""), kSendFd),
        rec(EP_OP_EXEC, 0, 0, 0, str("default-argv0"), kSendFd),
    };
}

// ---- round trips ------------------------------------------------------------------------------

TEST(DecodeRoundTrip, EveryOpComesBackFieldForField) {
    auto recs = every_op();
    Built b = build(recs);
    ASSERT_EQ(b.nfds, 5u);
    Decoded d = decode(b);
    ASSERT_EQ(d.err, 0) << strerror(-d.err);
    ASSERT_EQ(d.ops.size(), recs.size());
    int32_t next_fd = 0;
    for (size_t i = 0; i < recs.size(); i++) {
        SCOPED_TRACE("record " + std::to_string(i));
        const ep_wire_op &op = d.ops[i];
        EXPECT_EQ(op.op, recs[i].op);
        EXPECT_EQ(op.index, kFirstIndex + i);
        EXPECT_EQ(op.a, recs[i].a);
        EXPECT_EQ(op.b, recs[i].b);
        EXPECT_EQ(op.c, recs[i].c);
        EXPECT_EQ(op.fd_index, recs[i].caller_fd >= 0 ? next_fd++ : EP_WIRE_NO_FD);
        EXPECT_EQ(op.len, recs[i].payload.size());
        EXPECT_EQ(d.payloads[i], recs[i].payload);
        if (recs[i].payload.empty()) {
            EXPECT_EQ(op.data, nullptr); // compares the pointer only: the buffer is gone
        }
    }
}

TEST(DecodeRoundTrip, PayloadPointsIntoTheBufferAfterItsRecord) {
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str("abc")), rec(EP_OP_ENV, 0, 0, 0, str("X=1"))});
    Aligned buf(b.bytes);
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    ASSERT_EQ(ep_wire_check_frame(buf.data(), buf.size(), 0, &cur, &bad), 0);
    ep_wire_op op{};
    ASSERT_EQ(ep_wire_next(&cur, &op), 1);
    EXPECT_EQ(op.data, reinterpret_cast<const char *>(buf.data()) + sizeof(ep_wire_frame_hdr) + sizeof(ep_wire_rec));
    EXPECT_STREQ(op.data, "abc");
    ASSERT_EQ(ep_wire_next(&cur, &op), 1);
    EXPECT_EQ(op.data, reinterpret_cast<const char *>(buf.data()) + sizeof(ep_wire_frame_hdr) + ep_wire_rec_size(4) +
                           sizeof(ep_wire_rec));
    EXPECT_STREQ(op.data, "X=1");
    EXPECT_EQ(ep_wire_next(&cur, &op), 0);
    EXPECT_EQ(ep_wire_next(&cur, &op), 0) << "the end stays the end";
}

TEST(DecodeRoundTrip, ExecWithEmptyArgv0IsAccepted) {
    Decoded d = decode(build({rec(EP_OP_ARGV, 0, 0, 0, str("x")), rec(EP_OP_EXEC, 0, 0, 0, str(""), kSendFd)}));
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(d.ops.size(), 2u);
    EXPECT_EQ(d.ops[1].op, uint32_t(EP_OP_EXEC));
    EXPECT_EQ(d.payloads[1], str(""));
}

TEST(DecodeRoundTrip, EmptyFrameHasNoRecords) {
    Built b = build({});
    EXPECT_EQ(b.bytes.size(), sizeof(ep_wire_frame_hdr));
    Decoded d = decode(b);
    EXPECT_EQ(d.err, 0);
    EXPECT_TRUE(d.ops.empty());
}

TEST(DecodeRoundTrip, SyncFlagIsAccepted) {
    Built b = build({rec(EP_OP_SETSID)}, EP_FRAME_SYNC);
    EXPECT_EQ(peek<uint16_t>(b.bytes, HDR(flags)), EP_FRAME_SYNC);
    Decoded d = decode(b);
    EXPECT_EQ(d.err, 0);
    EXPECT_EQ(d.ops.size(), 1u);
}

TEST(DecodeRoundTrip, SetgroupsPayloadCarriesTheGids) {
    Built b = build({rec(EP_OP_SETGROUPS, 2, 0, 0, gid_payload({4, 0xfffffffeu}))});
    Decoded d = decode(b);
    ASSERT_EQ(d.err, 0);
    ASSERT_EQ(d.ops.size(), 1u);
    ASSERT_EQ(d.ops[0].len, 8u);
    uint32_t gids[2];
    ASSERT_EQ(d.payloads[0].size(), sizeof gids);
    std::memcpy(gids, d.payloads[0].data(), sizeof gids);
    EXPECT_EQ(gids[0], 4u);
    EXPECT_EQ(gids[1], 0xfffffffeu);
}

TEST(DecodeRoundTrip, EmptyGroupListIsAccepted) {
    Decoded d = decode(build({rec(EP_OP_SETGROUPS, 0)}));
    EXPECT_EQ(d.err, 0);
}

TEST(DecodeRoundTrip, LongestStringIsAccepted) {
    std::string s(EP_WIRE_STR_MAX - 1, 'x');
    Decoded d = decode(build({rec(EP_OP_ARGV, 0, 0, 0, str(s))}));
    ASSERT_EQ(d.err, 0);
    EXPECT_EQ(d.ops[0].len, EP_WIRE_STR_MAX);
}

TEST(DecodeRoundTrip, MaximumRecordCountIsAccepted) {
    std::vector<Record> recs(EP_WIRE_RECS_MAX, rec(EP_OP_SETSID));
    Decoded d = decode(build(recs));
    EXPECT_EQ(d.err, 0);
    EXPECT_EQ(d.ops.size(), EP_WIRE_RECS_MAX);
}

TEST(DecodeRoundTrip, MaximumDescriptorCountIsAccepted) {
    std::vector<Record> recs;
    for (uint32_t i = 0; i < EP_WIRE_FDS_MAX; i++)
        recs.push_back(rec(EP_OP_FD_DUP, i, 0, 0, {}, kSendFd));
    Built b = build(recs);
    ASSERT_EQ(b.nfds, EP_WIRE_FDS_MAX);
    Decoded d = decode(b);
    EXPECT_EQ(d.err, 0);
    EXPECT_EQ(d.ops.back().fd_index, int32_t(EP_WIRE_FDS_MAX - 1));
}

TEST(DecodeRoundTrip, LargestFdNumberIsAccepted) {
    EXPECT_EQ(decode(build({rec(EP_OP_CLOSE, 0x7fffffff)})).err, 0);
}

TEST(DecodeRoundTrip, RlimitWithUnlimitedHardAndFiniteSoftIsAccepted) {
    EXPECT_EQ(decode(build({rec(EP_OP_RLIMIT, 5, -1, 15)})).err, 0);
}

// ---- header rejections ------------------------------------------------------------------------

TEST(DecodeReject, LengthShorterThanHeader) {
    Built b = build({});
    for (uint32_t len = 0; len < sizeof(ep_wire_frame_hdr); len++) {
        Aligned buf(b.bytes);
        ep_wire_cursor cur{};
        uint32_t bad = 0;
        EXPECT_EQ(ep_wire_check_frame(buf.data(), len, 0, &cur, &bad), -EPROTO) << "len " << len;
        EXPECT_EQ(bad, kNone);
    }
}

TEST(DecodeReject, MisalignedBuffer) {
    Built b = build({rec(EP_OP_SETSID)});
    for (size_t off = 1; off < 8; off++) {
        Aligned buf(b.bytes, off);
        ep_wire_cursor cur{};
        uint32_t bad = 0;
        EXPECT_EQ(ep_wire_check_frame(buf.data(), buf.size(), 0, &cur, &bad), -EPROTO) << "offset " << off;
        EXPECT_EQ(bad, kNone);
    }
}

TEST(DecodeReject, BadMagic) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint32_t>(b.bytes, HDR(magic), EP_WIRE_MAGIC ^ 1);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, BadVersion) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint16_t>(b.bytes, HDR(version), EP_WIRE_VERSION + 1);
    expect_reject(b, -EPROTO, kNone);
    poke<uint16_t>(b.bytes, HDR(version), 0);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, HeaderLengthDiffersFromReceivedLength) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint32_t>(b.bytes, HDR(len), uint32_t(b.bytes.size() + 8));
    expect_reject(b, -EPROTO, kNone);
    poke<uint32_t>(b.bytes, HDR(len), uint32_t(b.bytes.size() - 8));
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, UnknownFrameFlags) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint16_t>(b.bytes, HDR(flags), EP_FRAME_SYNC | 2);
    expect_reject(b, -EPROTO, kNone);
    poke<uint16_t>(b.bytes, HDR(flags), 0x8000);
    expect_reject(b, -EPROTO, kNone);
}

// wire.h: -EPROTO for "lengths, layout", -E2BIG for limits. A count that disagrees with what arrived
// is layout, not a limit.
TEST(DecodeReject, DescriptorCountDiffersFromReceivedIsProtocolError) {
    Built b = build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd)});
    Decoded more = decode(b.bytes, 2);
    EXPECT_EQ(more.err, -EPROTO) << strerror(-more.err);
    EXPECT_EQ(more.bad, kNone);
    Decoded fewer = decode(b.bytes, 0);
    EXPECT_EQ(fewer.err, -EPROTO) << strerror(-fewer.err);
    EXPECT_EQ(fewer.bad, kNone);
}

TEST(DecodeReject, TooManyDescriptors) {
    std::vector<Record> recs;
    for (uint32_t i = 0; i <= EP_WIRE_FDS_MAX; i++)
        recs.push_back(rec(EP_OP_FD_DUP, i, 0, 0, {}, kSendFd));
    Built b = build(recs);
    ASSERT_EQ(b.nfds, EP_WIRE_FDS_MAX + 1);
    expect_reject(b, -E2BIG, kNone);
}

TEST(DecodeReject, TooManyRecords) {
    std::vector<Record> recs(EP_WIRE_RECS_MAX + 1, rec(EP_OP_SETSID));
    expect_reject(build(recs), -E2BIG, kNone);
}

TEST(DecodeReject, FrameLargerThanMaximum) {
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str(std::string(EP_WIRE_STR_MAX - 1, 'a'))),
                     rec(EP_OP_ARGV, 0, 0, 0, str(std::string(EP_WIRE_FRAME_MAX - EP_WIRE_STR_MAX, 'b')))});
    ASSERT_GT(b.bytes.size(), EP_WIRE_FRAME_MAX);
    expect_reject(b, -E2BIG, kNone);
}

// ---- layout rejections ------------------------------------------------------------------------

TEST(DecodeReject, MissingRecordIsProtocolError) {
    Built b = build({rec(EP_OP_SETSID), rec(EP_OP_SETSID)});
    b.bytes.resize(rec_offset(b.bytes, 1));
    set_frame_len(b.bytes);
    EXPECT_EQ(decode(b).err, -EPROTO);
}

// wire.h: "*bad_index is the index of the offending record, or UINT32_MAX if none is to blame". The
// record that is missing has no index; the complete record before it is not to blame.
TEST(DecodeReject, MissingRecordBlamesNoRecord) {
    Built b = build({rec(EP_OP_SETSID), rec(EP_OP_SETSID)});
    b.bytes.resize(rec_offset(b.bytes, 1));
    set_frame_len(b.bytes);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, RecordHeaderRunsPastTheEnd) {
    Built b = build({rec(EP_OP_SETSID)});
    b.bytes.resize(b.bytes.size() - 8);
    set_frame_len(b.bytes);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, PayloadLengthOverrunsTheFrame) {
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str("abc"))});
    poke<uint32_t>(b.bytes, REC(b.bytes, 0, len), 9); // 8 bytes are there (4 + padding)
    expect_reject(b, -EPROTO, kFirstIndex);
    poke<uint32_t>(b.bytes, REC(b.bytes, 0, len), 0xffffffffu);
    expect_reject(b, -EPROTO, kFirstIndex);
}

TEST(DecodeReject, PayloadPaddingOverrunsTheFrame) {
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str("abc"))});
    b.bytes.resize(b.bytes.size() - 4); // the 4 payload bytes are there, their padding is not
    set_frame_len(b.bytes);
    expect_reject(b, -EPROTO, kFirstIndex);
}

TEST(DecodeReject, TrailingBytesAfterTheLastRecord) {
    Built b = build({rec(EP_OP_SETSID)});
    b.bytes.resize(b.bytes.size() + 8, 0);
    set_frame_len(b.bytes);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, TrailingBytesInAnEmptyFrame) {
    Built b = build({});
    b.bytes.resize(b.bytes.size() + 40, 0);
    set_frame_len(b.bytes);
    expect_reject(b, -EPROTO, kNone);
}

TEST(DecodeReject, OpZero) {
    Built b = build({rec(EP_OP_SETSID), rec(EP_OP_SETSID)});
    poke<uint16_t>(b.bytes, REC(b.bytes, 1, op), 0);
    expect_reject(b, -EPROTO, kFirstIndex + 1);
}

TEST(DecodeReject, OpCountAndAbove) {
    for (uint16_t op : {uint16_t(EP_OP__COUNT), uint16_t(EP_OP__COUNT + 1), uint16_t(0xffff)}) {
        Built b = build({rec(EP_OP_SETSID)});
        poke<uint16_t>(b.bytes, REC(b.bytes, 0, op), op);
        SCOPED_TRACE("op " + std::to_string(op));
        expect_reject(b, -EPROTO, kFirstIndex);
    }
}

TEST(DecodeReject, NonzeroReserved) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint16_t>(b.bytes, REC(b.bytes, 0, rsvd), 1);
    expect_reject(b, -EPROTO, kFirstIndex);
}

TEST(DecodeReject, NonzeroReserved2) {
    Built b = build({rec(EP_OP_SETSID)});
    poke<uint32_t>(b.bytes, REC(b.bytes, 0, rsvd2), 0x80000000u);
    expect_reject(b, -EPROTO, kFirstIndex);
}

TEST(DecodeReject, RecordAfterExec) {
    Built b = build({rec(EP_OP_SETSID), rec(EP_OP_EXEC, 0, 0, 0, str("a")), rec(EP_OP_SETSID)});
    expect_reject(b, -EPROTO, kFirstIndex + 1);
}

TEST(DecodeReject, TwoExecs) {
    Built b = build({rec(EP_OP_EXEC, 0, 0, 0, str("a")), rec(EP_OP_EXEC, 0, 0, 0, str("b"))});
    expect_reject(b, -EPROTO, kFirstIndex);
}

// ---- payload rejections -----------------------------------------------------------------------

TEST(DecodeReject, StringWithoutFinalNul) {
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str("abc"))});
    b.bytes[rec_offset(b.bytes, 0) + sizeof(ep_wire_rec) + 3] = 'd';
    expect_reject(b, -EINVAL, kFirstIndex);
}

TEST(DecodeReject, StringWithEmbeddedNul) {
    expect_reject(build({rec(EP_OP_ARGV, 0, 0, 0, std::string("a\0c\0", 4))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_ENV, 0, 0, 0, std::string("\0A=b\0", 5))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, StringOfZeroLength) {
    expect_reject(build({rec(EP_OP_ARGV)}), -EINVAL, kFirstIndex);
    Built b = build({rec(EP_OP_ARGV, 0, 0, 0, str("abc"))});
    poke<uint32_t>(b.bytes, REC(b.bytes, 0, len), 0); // the payload bytes would become trailing junk
    expect_reject(b, -EINVAL, kFirstIndex);
}

TEST(DecodeReject, StringLongerThanStrMax) {
    expect_reject(build({rec(EP_OP_ARGV, 0, 0, 0, str(std::string(EP_WIRE_STR_MAX, 'x')))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, EmptyEnvString) {
    expect_reject(build({rec(EP_OP_ENV, 0, 0, 0, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, EmptyOpenPath) {
    expect_reject(build({rec(EP_OP_OPEN, 3, 0, 0, str(""))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_OPEN, 3, 0, 0, str(""), kSendFd)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecWithoutItsArgv0String) {
    expect_reject(build({rec(EP_OP_EXEC)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecWithoutItsExecPipe) {
    expect_reject(build({rec(EP_OP_EXEC, 0, 0, 0, str("a"))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, EmptyChrootPath) {
    expect_reject(build({rec(EP_OP_CHROOT, 0, 0, 0, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, PayloadOnAnOpWithoutOne) {
    for (uint16_t op : {EP_OP_CLOSE, EP_OP_SETSID, EP_OP_UMASK, EP_OP_SIGMASK}) {
        SCOPED_TRACE("op " + std::to_string(op));
        expect_reject(build({rec(op, 0, 0, 0, str("x"))}), -EINVAL, kFirstIndex);
    }
}

// ---- descriptor rejections --------------------------------------------------------------------

TEST(DecodeReject, RequiredDescriptorMissing) {
    expect_reject(build({rec(EP_OP_FD_DUP, 3)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecByFdWithoutDescriptor) {
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_FD, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, EmptyExecPathWithoutDescriptor) {
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_PATH, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ChdirEmptyWithoutDescriptor) {
    expect_reject(build({rec(EP_OP_CHDIR, 0, 0, 0, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, DescriptorOnAnOpThatTakesNone) {
    Built b = build({rec(EP_OP_UMASK, 022, 0, 0, {}, kSendFd)});
    ASSERT_EQ(b.nfds, 1u);
    expect_reject(b, -EINVAL, kFirstIndex);
}

TEST(DecodeReject, DescriptorIndexOutOfRange) {
    Built b = build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd)});
    poke<int32_t>(b.bytes, REC(b.bytes, 0, fd_index), 1);
    expect_reject(b, -EINVAL, kFirstIndex);
    poke<int32_t>(b.bytes, REC(b.bytes, 0, fd_index), int32_t(EP_WIRE_FDS_MAX + 10));
    expect_reject(b, -EINVAL, kFirstIndex);
}

TEST(DecodeReject, NegativeDescriptorIndexOtherThanNoFd) {
    Built b = build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd)});
    for (int32_t idx : {-2, INT32_MIN}) {
        poke<int32_t>(b.bytes, REC(b.bytes, 0, fd_index), idx);
        SCOPED_TRACE("fd_index " + std::to_string(idx));
        expect_reject(b, -EINVAL, kFirstIndex);
    }
}

TEST(DecodeReject, SameDescriptorIndexUsedTwice) {
    Built b =
        build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd), rec(EP_OP_FD_DUP, 4, 0, 0, {}, kSendFd), rec(EP_OP_SETSID)});
    poke<int32_t>(b.bytes, REC(b.bytes, 1, fd_index), 0);
    // Both descriptors arrived; the second record names the first one again.
    expect_reject(b, -EINVAL, kFirstIndex + 1);
}

TEST(DecodeReject, DescriptorThatNoRecordUses) {
    Built b = build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd), rec(EP_OP_OPEN, 4, 0, 0, str("x"), kSendFd)});
    poke<int32_t>(b.bytes, REC(b.bytes, 1, fd_index), EP_WIRE_NO_FD);
    expect_reject(b, -EINVAL, kNone);
}

TEST(DecodeReject, DescriptorsWithoutAnyRecord) {
    Built b = build({});
    poke<uint16_t>(b.bytes, HDR(nfds), 1);
    expect_reject({b.bytes, 1}, -EINVAL, kNone);
}

// ---- argument rejections ----------------------------------------------------------------------

TEST(DecodeReject, NegativeFdNumber) {
    expect_reject(build({rec(EP_OP_FD_DUP, -1, 0, 0, {}, kSendFd)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_CLOSE, -1)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_CLOSEFROM, INT64_MIN)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_OPEN, -3, 0, 0, str("x"))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, FdNumberAboveIntMax) {
    expect_reject(build({rec(EP_OP_CLOSE, 0x80000000LL)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, OpenFlagsOutOfRange) {
    expect_reject(build({rec(EP_OP_OPEN, 3, -1, 0, str("x"))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_OPEN, 3, 0x80000000LL, 0, str("x"))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, OpenModeOutOfRange) {
    expect_reject(build({rec(EP_OP_OPEN, 3, 0, 010000, str("x"))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_OPEN, 3, 0, -1, str("x"))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, RlimitResource16) {
    expect_reject(build({rec(EP_OP_RLIMIT, 1, 1, 16)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_RLIMIT, 1, 1, -1)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, RlimitSoftAboveHard) {
    expect_reject(build({rec(EP_OP_RLIMIT, 2, 1, 7)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, RlimitUnlimitedSoftWithFiniteHard) {
    expect_reject(build({rec(EP_OP_RLIMIT, -1, 100, 7)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, RlimitBelowMinusOne) {
    expect_reject(build({rec(EP_OP_RLIMIT, -2, -1, 7)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_RLIMIT, 0, -2, 7)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, Umask01000) {
    expect_reject(build({rec(EP_OP_UMASK, 01000)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_UMASK, -1)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, UidMinusOneMeansUnchangedAndIsRefused) {
    expect_reject(build({rec(EP_OP_SETUID, 0xffffffffLL)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_SETUID, -1)}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_SETUID, 0x100000000LL)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, GidMinusOneMeansUnchangedAndIsRefused) {
    expect_reject(build({rec(EP_OP_SETGID, 0xffffffffLL)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, SetuidUnknownFlag) {
    expect_reject(build({rec(EP_OP_SETUID, 0, 0, 2)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, SetgroupsCountDoesNotMatchLength) {
    expect_reject(build({rec(EP_OP_SETGROUPS, 2, 0, 0, gid_payload({1, 2, 3}))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_SETGROUPS, 1, 0, 0, {})}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_SETGROUPS, -1, 0, 0, {})}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_SETGROUPS, 0, 0, 0, std::string(3, '\0'))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, SetgroupsCountAboveNgroupsMax) {
    Built b = build({rec(EP_OP_SETGROUPS, 1, 0, 0, gid_payload({7}))});
    poke<int64_t>(b.bytes, REC(b.bytes, 0, a), int64_t(EP_WIRE_GROUPS_MAX) + 1);
    expect_reject(b, -EINVAL, kFirstIndex);
}

TEST(DecodeReject, SetpgidNegative) {
    expect_reject(build({rec(EP_OP_SETPGID, -1)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecKindZero) {
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, 0, str("/bin/true"))}), -EINVAL, kFirstIndex);
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, 4, str("/bin/true"))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecSearchWithDescriptor) {
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_SEARCH, str("true"), kSendFd)}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, ExecSearchEmptyName) {
    expect_reject(build({rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_SEARCH, str(""))}), -EINVAL, kFirstIndex);
}

TEST(DecodeReject, FirstBadRecordIsBlamed) {
    Built b = build({rec(EP_OP_SETSID), rec(EP_OP_UMASK, 01000), rec(EP_OP_ENV, 0, 0, 0, str(""))});
    expect_reject(b, -EINVAL, kFirstIndex + 1);
}

TEST(DecodeReject, SuccessResetsBadIndexToNone) {
    Built b = build({rec(EP_OP_SETSID)});
    Aligned buf(b.bytes);
    ep_wire_cursor cur{};
    uint32_t bad = 12345;
    ASSERT_EQ(ep_wire_check_frame(buf.data(), buf.size(), 0, &cur, &bad), 0);
    EXPECT_EQ(bad, kNone);
}

// ---- verdicts ---------------------------------------------------------------------------------

ep_wire_verdict verdict(uint16_t kind, int32_t err) {
    ep_wire_verdict v{};
    v.magic = EP_WIRE_MAGIC;
    v.version = EP_WIRE_VERSION;
    v.kind = kind;
    v.index = 3;
    v.err = err;
    return v;
}

TEST(DecodeVerdict, EveryKindIsAccepted) {
    for (uint16_t kind : {EP_VERDICT_OK, EP_VERDICT_FAIL, EP_VERDICT_EXEC_BEGIN, EP_VERDICT_BAD_FRAME}) {
        ep_wire_verdict v = verdict(kind, kind == EP_VERDICT_OK ? 0 : -ENOENT);
        EXPECT_EQ(ep_wire_check_verdict(&v, sizeof v), 0) << "kind " << kind;
    }
}

TEST(DecodeVerdict, WrongLengthIsRejected) {
    struct {
        ep_wire_verdict v;
        uint64_t extra;
    } big{verdict(EP_VERDICT_OK, 0), 0};
    EXPECT_EQ(ep_wire_check_verdict(&big, sizeof big.v - 1), -EPROTO);
    EXPECT_EQ(ep_wire_check_verdict(&big, sizeof big.v + 1), -EPROTO);
    EXPECT_EQ(ep_wire_check_verdict(&big, 0), -EPROTO);
}

TEST(DecodeVerdict, BadMagicIsRejected) {
    ep_wire_verdict v = verdict(EP_VERDICT_OK, 0);
    v.magic = 0;
    EXPECT_EQ(ep_wire_check_verdict(&v, sizeof v), -EPROTO);
}

TEST(DecodeVerdict, BadVersionIsRejected) {
    ep_wire_verdict v = verdict(EP_VERDICT_OK, 0);
    v.version = EP_WIRE_VERSION + 1;
    EXPECT_EQ(ep_wire_check_verdict(&v, sizeof v), -EPROTO);
}

TEST(DecodeVerdict, UnknownKindIsRejected) {
    for (uint16_t kind : {0, 5, 0xffff}) {
        ep_wire_verdict v = verdict(kind, 0);
        EXPECT_EQ(ep_wire_check_verdict(&v, sizeof v), -EPROTO) << "kind " << kind;
    }
}

TEST(DecodeVerdict, PositiveErrIsRejected) {
    ep_wire_verdict v = verdict(EP_VERDICT_FAIL, EINVAL);
    EXPECT_EQ(ep_wire_check_verdict(&v, sizeof v), -EPROTO);
}

// ---- hostile bytes ----------------------------------------------------------------------------

// Pages of readable memory followed by a PROT_NONE page: a frame copied to the end of the readable
// part makes any read past it fault.
class GuardedBuffer {
  public:
    explicit GuardedBuffer(size_t max_len) {
        page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        readable_ = (max_len + 8 + page_ - 1) / page_ * page_;
        void *p = mmap(nullptr, readable_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return;
        base_ = static_cast<unsigned char *>(p);
        if (mprotect(base_ + readable_, page_, PROT_NONE) != 0) {
            munmap(base_, readable_ + page_);
            base_ = nullptr;
        }
    }
    ~GuardedBuffer() {
        if (base_)
            munmap(base_, readable_ + page_);
    }
    GuardedBuffer(const GuardedBuffer &) = delete;
    GuardedBuffer &operator=(const GuardedBuffer &) = delete;

    bool ok() const { return base_ != nullptr; }
    const unsigned char *guard() const { return base_ + readable_; }
    // Copy bytes so that they end at the guard page, or as close as 8-byte alignment allows (at most 7
    // bytes of slack when len is not a multiple of 8). Returns the copy.
    unsigned char *place(const unsigned char *bytes, size_t len) {
        unsigned char *at = base_ + readable_ - ((len + 7) & ~size_t(7));
        if (len)
            std::memcpy(at, bytes, len);
        return at;
    }

  private:
    size_t page_ = 0;
    size_t readable_ = 0;
    unsigned char *base_ = nullptr;
};

// Decode buf/len; if accepted, walk it and check that every record lies inside the buffer.
// Returns the decoder's verdict; records a gtest failure on any inconsistency.
int check_hostile(const unsigned char *buf, uint32_t len, uint32_t nfds) {
    ep_wire_cursor cur{};
    uint32_t bad = 0;
    int err = ep_wire_check_frame(buf, len, nfds, &cur, &bad);
    if (err != 0) {
        EXPECT_TRUE(err == -EPROTO || err == -EINVAL || err == -E2BIG) << "unexpected errno " << err;
        return err;
    }
    ep_wire_frame_hdr h;
    std::memcpy(&h, buf, sizeof h);
    const unsigned char *end = buf + len;
    uint32_t walked = 0;
    ep_wire_op op{};
    while (ep_wire_next(&cur, &op)) {
        walked++;
        if (walked > h.nrec)
            break;
        EXPECT_TRUE(op.op > 0 && op.op < EP_OP__COUNT);
        EXPECT_TRUE(op.fd_index == EP_WIRE_NO_FD || (op.fd_index >= 0 && uint32_t(op.fd_index) < nfds));
        EXPECT_LE(cur.next, end);
        if (op.data) {
            const unsigned char *d = reinterpret_cast<const unsigned char *>(op.data);
            EXPECT_TRUE(d > buf && d + op.len <= end) << "payload outside the frame";
        } else {
            EXPECT_EQ(op.len, 0u);
        }
    }
    EXPECT_EQ(walked, h.nrec);
    EXPECT_EQ(cur.next, end) << "an accepted frame ends with its last record";
    return 0;
}

std::vector<Built> seed_frames() {
    std::vector<Built> seeds;
    seeds.push_back(build(every_op()));
    seeds.push_back(
        build({rec(EP_OP_FD_DUP, 0, 0, 0, {}, kSendFd), rec(EP_OP_FD_DUP, 1, 0, 0, {}, kSendFd),
               rec(EP_OP_EXEC_TARGET, 0, 0, EP_EXEC_PATH, str("/bin/sh")), rec(EP_OP_EXEC, 0, 0, 0, str(""), kSendFd)},
              EP_FRAME_SYNC));
    seeds.push_back(build(
        {rec(EP_OP_SETGROUPS, 5, 0, 0, gid_payload({1, 2, 3, 4, 5})), rec(EP_OP_SETGID, 5), rec(EP_OP_SETUID, 5)}));
    seeds.push_back(build({rec(EP_OP_ARGV, 0, 0, 0, str("a")), rec(EP_OP_ARGV, 0, 0, 0, str("bcdefgh")),
                           rec(EP_OP_ARGV, 0, 0, 0, str("ijklmnopq")), rec(EP_OP_ENV, 0, 0, 0, str("PATH=/bin"))}));
    seeds.push_back(build({}));
    return seeds;
}

TEST(DecodeHostile, SeedFramesAreAccepted) {
    for (const auto &s : seed_frames())
        EXPECT_EQ(decode(s).err, 0);
}

// The kernel copies from user memory and says EFAULT where a read would fault (no death test needed,
// and ASan's SEGV handler stays out of it).
bool readable(const void *p) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    bool ok = write(fds[1], p, 1) == 1;
    close(fds[0]);
    close(fds[1]);
    return ok;
}

TEST(DecodeHostile, GuardPageIsUnreadableAndTheByteBeforeIsReadable) {
    GuardedBuffer g(64);
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(readable(g.guard() - 1));
    EXPECT_FALSE(readable(g.guard()));
}

TEST(DecodeHostile, TruncationAtEveryLengthNeverReadsPastTheEnd) {
    auto seeds = seed_frames();
    GuardedBuffer g(4096);
    ASSERT_TRUE(g.ok());
    size_t accepted = 0;
    for (const auto &s : seeds) {
        ASSERT_LE(s.bytes.size(), 4096u);
        for (size_t len = 0; len <= s.bytes.size(); len++) {
            std::vector<unsigned char> t(s.bytes.begin(), s.bytes.begin() + len);
            for (bool fix_len : {false, true}) {
                if (fix_len && len >= sizeof(ep_wire_frame_hdr))
                    set_frame_len(t);
                unsigned char *at = g.place(t.data(), t.size());
                if (check_hostile(at, uint32_t(t.size()), s.nfds) == 0)
                    accepted++;
            }
        }
    }
    EXPECT_EQ(accepted, 2 * seeds.size()) << "only the untruncated frames decode";
}

TEST(DecodeHostile, RandomMutationsAreRejectedOrWalkInsideTheBuffer) {
    constexpr int kMutations = 200000;
    auto seeds = seed_frames();
    GuardedBuffer g(8192);
    ASSERT_TRUE(g.ok());
    std::mt19937_64 rng(0x5eed0123456789abULL); // fixed seed: the same run every time
    auto below = [&](uint64_t n) { return n ? rng() % n : 0; };
    static constexpr uint32_t kInteresting[] = {
        0,      1,          7,           8,           0x7f,          0x80,         0xff,
        0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu, EP_WIRE_MAGIC, EP_OP__COUNT, EP_WIRE_FDS_MAX};
    size_t accepted = 0, by_errno[3] = {0, 0, 0};
    for (int i = 0; i < kMutations; i++) {
        const Built &s = seeds[below(seeds.size())];
        std::vector<unsigned char> m = s.bytes;
        uint32_t nfds = s.nfds;
        int edits = 1 + int(below(4));
        for (int e = 0; e < edits; e++) {
            switch (below(7)) {
            case 0: // flip a bit
                if (!m.empty())
                    m[below(m.size())] ^= uint8_t(1u << below(8));
                break;
            case 1: // replace a byte
                if (!m.empty())
                    m[below(m.size())] = uint8_t(rng());
                break;
            case 2: // an interesting 32-bit value at a 4-byte boundary
                if (m.size() >= 4) {
                    size_t off = below(m.size() / 4) * 4;
                    poke<uint32_t>(m, off, kInteresting[below(std::size(kInteresting))]);
                }
                break;
            case 3: // truncate, and sometimes make the header agree
                m.resize(below(m.size() + 1));
                if (m.size() >= sizeof(ep_wire_frame_hdr) && below(2))
                    set_frame_len(m);
                break;
            case 4: // append junk and make the header agree
                for (uint64_t n = 1 + below(48); n > 0; n--)
                    m.push_back(uint8_t(below(2) ? 0 : rng()));
                if (m.size() >= sizeof(ep_wire_frame_hdr))
                    set_frame_len(m);
                break;
            case 5: // a record length or count field gets a random 16/32-bit value
                if (m.size() >= sizeof(ep_wire_frame_hdr)) {
                    if (below(2))
                        poke<uint16_t>(m, HDR(nrec), uint16_t(below(8)));
                    else if (m.size() >= sizeof(ep_wire_frame_hdr) + sizeof(ep_wire_rec))
                        poke<uint32_t>(m, sizeof(ep_wire_frame_hdr) + offsetof(ep_wire_rec, len),
                                       uint32_t(below(2) ? below(64) : rng()));
                }
                break;
            default: // a different descriptor count
                nfds = uint32_t(below(6));
                break;
            }
        }
        unsigned char *at = g.place(m.data(), m.size());
        int err = check_hostile(at, uint32_t(m.size()), nfds);
        if (err == 0)
            accepted++;
        else
            by_errno[err == -EPROTO ? 0 : err == -EINVAL ? 1 : 2]++;
        if (HasFailure())
            FAIL() << "mutation " << i << " (seed frame of " << s.bytes.size() << " bytes)";
    }
    // The mutations reach every class of check, not just the header.
    EXPECT_GT(accepted, 0u);
    EXPECT_GT(by_errno[0], 0u);
    EXPECT_GT(by_errno[1], 0u);
    EXPECT_GT(by_errno[2], 0u);
}

TEST(DecodeHostile, EverySingleByteValueAtEveryOffsetOfASmallFrame) {
    Built s = build({rec(EP_OP_FD_DUP, 3, 0, 0, {}, kSendFd), rec(EP_OP_ARGV, 0, 0, 0, str("ab")),
                     rec(EP_OP_SETGROUPS, 1, 0, 0, gid_payload({9}))});
    GuardedBuffer g(s.bytes.size());
    ASSERT_TRUE(g.ok());
    for (size_t off = 0; off < s.bytes.size(); off++) {
        for (int v = 0; v < 256; v++) {
            std::vector<unsigned char> m = s.bytes;
            m[off] = uint8_t(v);
            check_hostile(g.place(m.data(), m.size()), uint32_t(m.size()), s.nfds);
            if (HasFailure())
                FAIL() << "offset " << off << " value " << v;
        }
    }
}

} // namespace
