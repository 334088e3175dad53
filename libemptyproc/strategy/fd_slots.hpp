// SPDX-License-Identifier: MIT
// fd_slots.hpp - a few low descriptor numbers the library holds, so that a CLONE_FILES stub can
// make its table private cheaply whatever the size of the caller's (docs/strategies.md, "Flat cost").
//
// S0 unshares the shared table with close_range(max kept + 1, ~0, CLOSE_RANGE_UNSHARE): the kernel
// copies only the entries below the highest number the stub keeps, and closes the ones in between.
// The channel's own number is wherever socketpair() put it, above every descriptor the caller has:
// with 10,000 of them the copy takes ~1 ms. So for the instant of the clone each kept descriptor is
// dup3()ed onto a slot, a number reserved low at the first ep_open(); the stub keeps the slot
// numbers, and the slots come back once its S0 is done (its s0_done flag) or its handle ends.
#pragma once

#include <cstdint>

namespace ep::detail {

// Put fds[0..n) on free slots: on success fds[] holds the slot numbers and a lease token (not 0)
// is returned; 0 (fds[] untouched) if there are not enough slots, or they could not be had: the
// caller then clones with the numbers as they are, paying the copy. done: the word the stub sets
// after S0; the slots come back as soon as a later lease sees it set.
uint64_t fd_slots_lease(int *fds, uint32_t n, const volatile uint32_t *done);

// Give the lease's slots back (their copies of the stub's descriptors are closed), if it still
// holds them. done must stay readable until this is called.
void fd_slots_release(uint64_t lease);

// Close every slot (ep_cache_release()); they are reserved again by the next lease.
void fd_slots_drop();

// fork() of the caller (strategy.cpp's pthread_atfork handlers): 0 prepare, 1 parent, 2 child.
void fd_slots_atfork(int phase);

} // namespace ep::detail
