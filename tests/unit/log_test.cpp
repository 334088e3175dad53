// SPDX-License-Identifier: MIT
// log_test.cpp - a handle's message log (api/log.cpp): an 8-message ring read one message at a time.
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

#include <gtest/gtest.h>

#include "api/log.hpp"
#include "emptyproc/emptyproc.h"

namespace {

using ep::detail::Log;

// Read one message with a buffer large enough for any; "" with the errno on failure.
std::string read_one(Log &log, ssize_t *ret = nullptr) {
    char buf[EP_LOG_MSG_MAX];
    ssize_t n = log.read(buf, sizeof buf);
    if (ret)
        *ret = n;
    if (n < 0)
        return {};
    EXPECT_EQ(buf[n], '\0') << "NUL-terminated";
    EXPECT_EQ(std::strlen(buf), size_t(n));
    return std::string(buf, size_t(n));
}

TEST(Log, EmptyLogIsEnodata) {
    Log log;
    char buf[64];
    EXPECT_EQ(log.read(buf, sizeof buf), -ENODATA);
}

TEST(Log, MessageIsLevelKeyColonText) {
    Log log;
    log.add('e', "uid", "no user 'x'");
    EXPECT_EQ(read_one(log), "e uid: no user 'x'");
}

TEST(Log, EmptyPrefixHasNoColon) {
    Log log;
    log.add('w', "", "plain text");
    EXPECT_EQ(read_one(log), "w plain text");
}

TEST(Log, ReadReturnsTheLengthWithoutNul) {
    Log log;
    log.add('i', "k", "v");
    char buf[16];
    std::memset(buf, 'x', sizeof buf);
    EXPECT_EQ(log.read(buf, sizeof buf), 6);
    EXPECT_STREQ(buf, "i k: v");
}

TEST(Log, MessagesComeOutOldestFirst) {
    Log log;
    log.add('e', "a", "1");
    log.add('e', "b", "2");
    log.add('e', "c", "3");
    EXPECT_EQ(read_one(log), "e a: 1");
    EXPECT_EQ(read_one(log), "e b: 2");
    EXPECT_EQ(read_one(log), "e c: 3");
    ssize_t n = 0;
    read_one(log, &n);
    EXPECT_EQ(n, -ENODATA);
}

TEST(Log, RingKeepsTheLastEight) {
    Log log;
    for (int i = 0; i < 8; i++)
        log.add('e', "k", std::to_string(i));
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(read_one(log), "e k: " + std::to_string(i));
    ssize_t n = 0;
    read_one(log, &n);
    EXPECT_EQ(n, -ENODATA);
}

TEST(Log, NinthMessageDropsTheOldest) {
    Log log;
    for (int i = 0; i < 20; i++)
        log.add('e', "k", std::to_string(i));
    for (int i = 12; i < 20; i++)
        EXPECT_EQ(read_one(log), "e k: " + std::to_string(i));
    ssize_t n = 0;
    read_one(log, &n);
    EXPECT_EQ(n, -ENODATA);
}

TEST(Log, OrderSurvivesWrapAroundWithInterleavedReads) {
    Log log;
    std::deque<std::string> model; // what the ring should hold, oldest first
    int next = 0;
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < 3; i++) { // adds outrun reads by one per round: the ring fills, then drops
            std::string text = std::to_string(next++);
            log.add('i', "", text);
            model.push_back("i " + text);
            if (model.size() > Log::kDepth)
                model.pop_front();
        }
        for (int i = 0; i < 2; i++) {
            EXPECT_EQ(read_one(log), model.front());
            model.pop_front();
        }
    }
    EXPECT_EQ(model.size(), Log::kDepth - 2);
    for (; !model.empty(); model.pop_front())
        EXPECT_EQ(read_one(log), model.front());
    ssize_t n = 0;
    read_one(log, &n);
    EXPECT_EQ(n, -ENODATA);
}

TEST(Log, BufferTooSmallIsEmsgsizeAndKeepsTheMessage) {
    Log log;
    log.add('e', "key", "text"); // "e key: text", 11 bytes + NUL
    char buf[16];
    EXPECT_EQ(log.read(buf, 11), -EMSGSIZE) << "no room for the NUL";
    EXPECT_EQ(log.read(buf, 0), -EMSGSIZE);
    EXPECT_EQ(log.read(buf, 12), 11);
    EXPECT_STREQ(buf, "e key: text");
}

TEST(Log, NullBufferIsEmsgsizeAndKeepsTheMessage) {
    Log log;
    log.add('e', "key", "text");
    EXPECT_EQ(log.read(nullptr, 100), -EMSGSIZE);
    EXPECT_EQ(read_one(log), "e key: text");
}

TEST(Log, EmsgsizeDoesNotSkipToTheNextMessage) {
    Log log;
    log.add('e', "first", std::string(100, 'a'));
    log.add('e', "second", "b");
    char small[8];
    EXPECT_EQ(log.read(small, sizeof small), -EMSGSIZE);
    EXPECT_EQ(read_one(log), "e first: " + std::string(100, 'a'));
    EXPECT_EQ(read_one(log), "e second: b");
}

TEST(Log, LongMessageIsTruncatedToLogMsgMax) {
    Log log;
    log.add('e', "key", std::string(2 * EP_LOG_MSG_MAX, 'z'));
    char buf[EP_LOG_MSG_MAX];
    ssize_t n = log.read(buf, sizeof buf);
    ASSERT_EQ(n, EP_LOG_MSG_MAX - 1);
    EXPECT_EQ(buf[EP_LOG_MSG_MAX - 1], '\0');
    EXPECT_EQ(std::string(buf, 7), "e key: ");
    EXPECT_EQ(std::string(buf + 7), std::string(EP_LOG_MSG_MAX - 1 - 7, 'z'));
}

TEST(Log, MessageOfExactlyMaxMinusOneIsKept) {
    Log log;
    std::string text(EP_LOG_MSG_MAX - 1 - 2, 'q'); // "e " + text = EP_LOG_MSG_MAX - 1 bytes
    log.add('e', "", text);
    EXPECT_EQ(read_one(log), "e " + text);
}

TEST(Log, LastIsTheNewestWithoutConsumingIt) {
    Log log;
    EXPECT_EQ(log.last(), "");
    log.add('e', "a", "1");
    log.add('e', "b", "2");
    EXPECT_EQ(log.last(), "e b: 2");
    EXPECT_EQ(read_one(log), "e a: 1");
    EXPECT_EQ(log.last(), "e b: 2");
    EXPECT_EQ(read_one(log), "e b: 2");
    EXPECT_EQ(log.last(), "");
}

TEST(Log, LastAfterWrapAround) {
    Log log;
    for (int i = 0; i < 11; i++)
        log.add('e', "k", std::to_string(i));
    EXPECT_EQ(log.last(), "e k: 10");
}

TEST(Log, ClearEmptiesTheRing) {
    Log log;
    log.add('e', "a", "1");
    log.add('e', "b", "2");
    log.clear();
    char buf[64];
    EXPECT_EQ(log.read(buf, sizeof buf), -ENODATA);
    EXPECT_EQ(log.last(), "");
    log.add('i', "c", "3");
    EXPECT_EQ(read_one(log), "i c: 3");
}

} // namespace
