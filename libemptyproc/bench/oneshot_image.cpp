// SPDX-License-Identifier: MIT
// oneshot_image.cpp - the safeexec-style helper's image: finding its action area, filling it, and
// writing the image to a memfd (the per-spawn part is timed: methods_safeexec.cpp says why).
#include "oneshot_image.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U // Linux 6.3; Debian 12's headers predate it
#endif

namespace ep::bench {
namespace {

constexpr unsigned kSealFlags = MFD_CLOEXEC | MFD_ALLOW_SEALING;

template <typename T> bool read_at(const std::vector<unsigned char> &file, size_t offset, T &out) {
    if (offset > file.size() || file.size() - offset < sizeof out)
        return false;
    std::memcpy(&out, file.data() + offset, sizeof out);
    return true;
}

// With vm.memfd_noexec = 1 a memfd is not executable unless asked for with MFD_EXEC (Linux 6.3+;
// older kernels reject the flag with EINVAL and every memfd is executable); with 2 none ever is.
// safeexec asks for nothing and silently exits 1 on every spawn there: find out before measuring.
int probe_memfd_flags(unsigned &flags, std::string &error) {
    for (unsigned f : {kSealFlags | MFD_EXEC, kSealFlags}) {
        int fd = memfd_create("ep-oneshot-probe", f);
        if (fd >= 0) {
            close(fd);
            flags = f;
            return 0;
        }
        if (errno != EINVAL) {
            error = std::string("memfd_create(MFD_EXEC): ") + std::strerror(errno) +
                    (errno == EACCES ? " (vm.memfd_noexec = 2 forbids executable memfds)" : "");
            return -errno;
        }
    }
    error = std::string("memfd_create: ") + std::strerror(errno);
    return -errno;
}

int locate_area(HelperImage &image, std::string &error) {
    std::vector<unsigned char> &file = image.bytes;
    Elf64_Ehdr eh;
    if (!read_at(file, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr)) {
        error = "not an ELF64 executable";
        return -ENOEXEC;
    }
    if (eh.e_type != ET_EXEC) { // a PIE's addresses are not known before it is loaded
        error = "not a fixed-address (non-PIE) executable";
        return -ENOEXEC;
    }
    const unsigned char *magic = reinterpret_cast<const unsigned char *>(EP_ONESHOT_MAGIC);
    auto found = std::search(file.begin(), file.end(), magic, magic + EP_ONESHOT_MAGIC_LEN);
    if (found == file.end() || std::search(found + 1, file.end(), magic, magic + EP_ONESHOT_MAGIC_LEN) != file.end()) {
        error = "the action area's magic is not in the file exactly once";
        return -ENOEXEC;
    }
    size_t area = size_t(found - file.begin()), image_end = eh.e_phoff + size_t(eh.e_phnum) * sizeof(Elf64_Phdr);
    bool in_segment = false;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (!read_at(file, eh.e_phoff + i * sizeof ph, ph) || ph.p_offset + ph.p_filesz > file.size()) {
            error = "a program header is outside the file";
            return -ENOEXEC;
        }
        image_end = std::max<size_t>(image_end, ph.p_offset + ph.p_filesz);
        if (ph.p_type == PT_LOAD && area >= ph.p_offset && area + EP_ONESHOT_AREA_SIZE <= ph.p_offset + ph.p_filesz) {
            image.area_vaddr = ph.p_vaddr + (area - ph.p_offset);
            in_segment = true;
        }
    }
    if (!in_segment) {
        error = "the action area is not inside a loaded segment";
        return -ENOEXEC;
    }
    image.area_offset = area;
    file.resize(image_end); // section headers, symbols, debug info: exec reads none of them
    return 0;
}

// Appends to the area being serialised; `vaddr` is where `out` will be in the helper.
class AreaWriter {
  public:
    AreaWriter(unsigned char *out, uint64_t vaddr) : out_(out), vaddr_(vaddr) {}
    bool reserve(size_t n, size_t align, size_t &at) {
        size_t start = (used_ + align - 1) & ~(align - 1);
        if (start > EP_ONESHOT_AREA_SIZE || EP_ONESHOT_AREA_SIZE - start < n)
            return false;
        at = start;
        used_ = start + n;
        return true;
    }
    bool string(const char *s, uint64_t &address) {
        size_t n = std::strlen(s) + 1, at;
        if (!reserve(n, 1, at))
            return false;
        std::memcpy(out_ + at, s, n);
        address = vaddr_ + at;
        return true;
    }
    // A NULL-terminated array of addresses of copies of the strings of `list`.
    bool strings(char *const list[], uint64_t &address) {
        size_t count = 0, at;
        while (list[count])
            count++;
        if (!reserve((count + 1) * sizeof(uint64_t), alignof(uint64_t), at))
            return false;
        address = vaddr_ + at;
        for (size_t i = 0; i < count; i++) {
            uint64_t a;
            if (!string(list[i], a))
                return false;
            std::memcpy(out_ + at + i * sizeof a, &a, sizeof a);
        }
        std::memset(out_ + at + count * sizeof(uint64_t), 0, sizeof(uint64_t));
        return true;
    }
    unsigned char *at(size_t offset) const { return out_ + offset; }
    size_t used() const { return used_; }

  private:
    unsigned char *out_;
    uint64_t vaddr_;
    size_t used_ = 0;
};

// A memfd takes a write whole or fails; a short one is reported as EIO all the same.
bool wrote(ssize_t n, size_t want) {
    if (n >= 0 && size_t(n) != want)
        errno = EIO;
    return n >= 0 && size_t(n) == want;
}

} // namespace

int load_helper_image(const std::string &path, HelperImage &image, std::string &error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno ? errno : ENOENT;
        error = path + ": " + std::strerror(err);
        return -err;
    }
    image.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (int r = locate_area(image, error); r < 0) {
        error = path + ": " + error;
        return r;
    }
    return probe_memfd_flags(image.memfd_flags, error);
}

long serialize_area(const HelperImage &image, std::span<const ep_oneshot_action> actions, const char *path,
                    char *const argv[], char *const envp[], unsigned char *out) {
    AreaWriter w(out, image.area_vaddr);
    size_t header_at, actions_at;
    if (!w.reserve(sizeof(ep_oneshot_header), 1, header_at) ||
        !w.reserve(actions.size() * sizeof(ep_oneshot_action), 1, actions_at))
        return -E2BIG;
    ep_oneshot_header h{};
    std::memcpy(h.magic, EP_ONESHOT_MAGIC, EP_ONESHOT_MAGIC_LEN);
    h.nactions = uint32_t(actions.size());
    if (!w.string(path, h.path) || !w.strings(argv, h.argv) || !w.strings(envp, h.envp))
        return -E2BIG;
    for (size_t i = 0; i < actions.size(); i++) {
        ep_oneshot_action a = actions[i];
        if (a.path != 0 && !w.string(reinterpret_cast<const char *>(uintptr_t(a.path)), a.path))
            return -E2BIG;
        std::memcpy(w.at(actions_at + i * sizeof a), &a, sizeof a);
    }
    std::memcpy(w.at(header_at), &h, sizeof h);
    return long(w.used());
}

int write_image_memfd(const HelperImage &image, const unsigned char *area, size_t used) {
    int fd = memfd_create("ep-oneshot", image.memfd_flags);
    if (fd < 0)
        return -errno;
    const size_t area_end = image.area_offset + EP_ONESHOT_AREA_SIZE, image_end = image.bytes.size();
    iovec head[2] = {{const_cast<unsigned char *>(image.bytes.data()), image.area_offset},
                     {const_cast<unsigned char *>(area), used}};
    bool ok = wrote(writev(fd, head, 2), image.area_offset + used);
    // What follows the area: written after a hole, or (the usual layout) nothing, and the file is
    // only extended to the segment's end, so that the area's unused zeros are never copied.
    if (ok && area_end < image_end)
        ok = wrote(pwrite(fd, image.bytes.data() + area_end, image_end - area_end, off_t(area_end)),
                   image_end - area_end);
    else if (ok)
        ok = ftruncate(fd, off_t(image_end)) == 0;
    // Sealed as issue 6 asks: nothing can change the image between here and the exec.
    if (ok)
        ok = fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0;
    if (!ok) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

} // namespace ep::bench
