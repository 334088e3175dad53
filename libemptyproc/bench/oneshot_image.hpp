// SPDX-License-Identifier: MIT
// oneshot_image.hpp - the safeexec-style helper's ELF image (target/oneshot_helper.c): read once,
// its action area located by magic, and per spawn an area serialised and a memfd written.
#ifndef EMPTYPROC_BENCH_ONESHOT_IMAGE_HPP
#define EMPTYPROC_BENCH_ONESHOT_IMAGE_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "target/oneshot_area.h"

namespace ep::bench {

struct HelperImage {
    std::vector<unsigned char> bytes; // the file up to the end of the last segment: all that exec reads
    size_t area_offset = 0;           // where the action area is in the file...
    uint64_t area_vaddr = 0;          // ...and in the helper's memory (fixed: the helper is not PIE)
    unsigned memfd_flags = 0;         // memfd_create flags that give an executable memfd here
};

// Reads the helper and finds its area: an ELF64 ET_EXEC whose file holds the magic exactly once,
// inside a PT_LOAD. Also finds the memfd flags. 0, or -errno with `error` saying what is wrong.
int load_helper_image(const std::string &path, HelperImage &image, std::string &error);

// Serialises one spawn's area into out (EP_ONESHOT_AREA_SIZE bytes): header, actions, argv and envp
// arrays, strings, every pointer relocated to the helper's addresses. An action's `path` is a
// pointer in this process on input. Returns the bytes used, or -E2BIG if they do not fit.
long serialize_area(const HelperImage &image, std::span<const ep_oneshot_action> actions, const char *path,
                    char *const argv[], char *const envp[], unsigned char *out);

// A new memfd holding the image with `area` (used bytes of it) in place, sealed against change.
// The rest of the area is left a hole, which reads as the zeros the file has there. fd or -errno.
int write_image_memfd(const HelperImage &image, const unsigned char *area, size_t used);

} // namespace ep::bench

#endif
