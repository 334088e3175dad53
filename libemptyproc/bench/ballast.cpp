// SPDX-License-Identifier: MIT
// ballast.cpp - resident memory that fork must copy page tables for, and an fd table to copy.
#include "ballast.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ep::bench {
namespace {

[[noreturn]] void fail(const std::string &what, int err) {
    throw std::runtime_error(what + ": " + std::strerror(err));
}

constexpr rlim_t kFdHeadroom = 1024; // descriptors the benchmark itself needs besides the ballast

} // namespace

CallerBallast::CallerBallast(size_t rss_mb, int fds) {
    try {
        if (rss_mb > 0) {
            bytes_ = rss_mb << 20;
            memory_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (memory_ == MAP_FAILED) {
                memory_ = nullptr;
                fail("mmap of " + std::to_string(rss_mb) + " MiB", errno);
            }
            // 4 KiB pages, as a malloc heap mostly has: one page-table entry per page for fork to copy.
            madvise(memory_, bytes_, MADV_NOHUGEPAGE);
            std::memset(memory_, 1, bytes_); // resident, page tables populated
        }
        if (fds > 0) {
            getrlimit(RLIMIT_NOFILE, &saved_nofile_);
            rlim_t want = static_cast<rlim_t>(fds) + kFdHeadroom;
            if (saved_nofile_.rlim_cur < want) {
                rlimit raised{want, saved_nofile_.rlim_max < want ? want : saved_nofile_.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &raised) < 0)
                    fail("raising RLIMIT_NOFILE to " + std::to_string(want), errno);
                raised_ = true;
            }
            int null = open("/dev/null", O_RDONLY); // not O_CLOEXEC: these are the fds a careless caller leaks
            if (null < 0)
                fail("open /dev/null", errno);
            fds_.reserve(static_cast<size_t>(fds));
            fds_.push_back(null);
            for (int i = 1; i < fds; i++) {
                int fd = dup(null);
                if (fd < 0)
                    fail("dup #" + std::to_string(i), errno);
                fds_.push_back(fd);
            }
        }
    } catch (...) {
        release();
        throw;
    }
}

CallerBallast::~CallerBallast() {
    release();
}

void CallerBallast::release() {
    if (memory_)
        munmap(memory_, bytes_);
    memory_ = nullptr;
    for (int fd : fds_)
        close(fd);
    fds_.clear();
    if (raised_)
        setrlimit(RLIMIT_NOFILE, &saved_nofile_);
    raised_ = false;
}

} // namespace ep::bench
