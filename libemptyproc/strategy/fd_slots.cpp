// SPDX-License-Identifier: MIT
// fd_slots.cpp - the reserved low descriptor numbers (fd_slots.hpp).
//
// A slot holds a placeholder while free: a duplicate of one memfd of the library's, CLOEXEC, which
// the slot's number keeps from being handed out to anyone else. Before a slot is used its
// placeholder is checked (fstat: the memfd's inode), so that a caller that closed it (closefrom(3)
// in a daemon) and got the number back for a file of its own never sees that file replaced.
#include "fd_slots.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

namespace ep::detail {

namespace {

struct FdLease {
    int slot[4] = {-1, -1, -1, -1};
    uint32_t n = 0; // 0: free
    const volatile uint32_t *done = nullptr;
    uint32_t gen = 0; // bumped at every release: a stale token finds another generation
};

constexpr int kSlots = 8;

class Slots {
  public:
    uint64_t lease(int *fds, uint32_t n, const volatile uint32_t *done) {
        if (n == 0 || n > 4)
            return 0;
        std::lock_guard lock(mu_);
        if (owner_ != getpid())
            forget(); // a fork() of the caller: the leases were the parent's
        if (!reserve())
            return 0;
        reclaim_done();
        int li = -1;
        for (int i = 0; i < kSlots && li < 0; i++)
            if (leases_[i].n == 0)
                li = i;
        if (li < 0)
            return 0;
        FdLease *l = &leases_[li];
        int picked[4];
        uint32_t got = 0;
        for (int i = 0; i < kSlots && got < n; i++)
            if (!taken_[i] && placeholder(slot_[i]))
                picked[got++] = i;
        if (got < n)
            return 0;
        for (uint32_t k = 0; k < n; k++) {
            if (dup3(fds[k], slot_[picked[k]], O_CLOEXEC) < 0) {
                for (uint32_t j = 0; j < k; j++)
                    dup3(master_, slot_[picked[j]], O_CLOEXEC);
                return 0;
            }
        }
        for (uint32_t k = 0; k < n; k++) {
            taken_[picked[k]] = true;
            l->slot[k] = picked[k];
            fds[k] = slot_[picked[k]];
        }
        l->n = n;
        l->done = done;
        return (uint64_t{l->gen} << 8) | static_cast<uint64_t>(li + 1);
    }

    void release(uint64_t token) {
        std::lock_guard lock(mu_);
        uint64_t i = (token & 0xff) - 1;
        if (token == 0 || i >= kSlots || owner_ != getpid())
            return;
        FdLease &l = leases_[i];
        if (l.n && l.gen == (token >> 8))
            give_back(l);
    }

    // Close the slots, unless a stub still runs on one (it has not finished S0 yet).
    void drop() {
        std::lock_guard lock(mu_);
        if (owner_ != getpid())
            forget();
        reclaim_done();
        for (auto &l : leases_)
            if (l.n)
                return;
        for (int i = 0; i < kSlots; i++) {
            if (slot_[i] >= 0 && placeholder(slot_[i]))
                close(slot_[i]);
            slot_[i] = -1;
            taken_[i] = false;
        }
        if (master_ >= 0)
            close(master_);
        master_ = -1;
    }

    // The slots, made at the first lease: the lowest free numbers from 3 up (the caller's 0-2 are
    // never taken) while the table is likely still small.
    bool reserve() {
        if (master_ >= 0)
            return true;
        int m = memfd_create("ep-fd-slot", MFD_CLOEXEC);
        if (m < 0)
            return false;
        struct stat st;
        if (fstat(m, &st) < 0) {
            close(m);
            return false;
        }
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        for (int i = 0; i < kSlots; i++) {
            slot_[i] = fcntl(m, F_DUPFD_CLOEXEC, 3);
            taken_[i] = slot_[i] < 0;
        }
        // The memfd itself goes above the slots: it is only ever dup'ed from.
        master_ = fcntl(m, F_DUPFD_CLOEXEC, 3);
        close(m);
        owner_ = getpid();
        return master_ >= 0;
    }

    bool placeholder(int fd) const {
        struct stat st;
        return fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino_ && st.st_dev == dev_;
    }

    void give_back(FdLease &l) {
        for (uint32_t k = 0; k < l.n; k++) {
            dup3(master_, slot_[l.slot[k]], O_CLOEXEC); // closes our copy of the stub's descriptor
            taken_[l.slot[k]] = false;
        }
        l.n = 0;
        l.done = nullptr;
        l.gen++;
    }

    // Leases whose stub has finished S0 give their slots back now.
    void reclaim_done() {
        for (auto &l : leases_)
            if (l.n && l.done && *l.done)
                give_back(l);
    }

    void atfork_prepare() { mu_.lock(); }
    void atfork_parent() { mu_.unlock(); }
    void atfork_child() {
        forget();
        mu_.unlock();
    }

  private:
    // In a forked child: the descriptors are copies in its own table, which it may keep using; the
    // leases belong to the parent's stubs. Put placeholders back and start over.
    void forget() {
        for (int i = 0; i < kSlots; i++)
            if (taken_[i] && slot_[i] >= 0 && master_ >= 0)
                dup3(master_, slot_[i], O_CLOEXEC);
        for (int i = 0; i < kSlots; i++)
            taken_[i] = slot_[i] < 0;
        for (auto &l : leases_) {
            l.n = 0;
            l.done = nullptr;
            l.gen++;
        }
        owner_ = getpid();
    }

    std::mutex mu_;
    int master_ = -1;
    int slot_[kSlots] = {-1, -1, -1, -1, -1, -1, -1, -1};
    bool taken_[kSlots] = {};
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    pid_t owner_ = 0;
    FdLease leases_[kSlots];
};

Slots &slots() {
    static Slots *s = new Slots; // never destroyed: leases may be released during exit
    return *s;
}

} // namespace

uint64_t fd_slots_lease(int *fds, uint32_t n, const volatile uint32_t *done) {
    return slots().lease(fds, n, done);
}

void fd_slots_release(uint64_t lease) {
    slots().release(lease);
}

void fd_slots_drop() {
    slots().drop();
}

void fd_slots_atfork(int phase) {
    if (phase == 0)
        slots().atfork_prepare();
    else if (phase == 1)
        slots().atfork_parent();
    else
        slots().atfork_child();
}

} // namespace ep::detail
