/* SPDX-License-Identifier: MIT */
/*
 * chan_socket.c - the socketpair transport's end in the stub: one frame per SOCK_SEQPACKET datagram,
 * into the stub's own receive buffer, its descriptors by SCM_RIGHTS (protocol.md). Same rules as
 * stub.c: raw system calls only.
 */
#include "chan.h"
#include "ops.h"
#include "sys.h"

long ep_chan_recv_rights(int sock, void *buf, uint32_t size, int *fds, uint32_t *nfds) {
    union {
        struct ep_cmsghdr h;
        unsigned char buf[sizeof(struct ep_cmsghdr) + EP_WIRE_FDS_MAX * sizeof(int) + 16];
    } control;
    struct ep_iovec iov = {buf, size};
    struct ep_msghdr m = {0, 0, &iov, 1, &control, sizeof control, 0};
    long n;
    do
        n = sys_recvmsg(sock, &m, EP_MSG_CMSG_CLOEXEC);
    while (n == -EINTR);
    *nfds = 0;
    if (n < 0)
        return n;
    for (size_t off = 0; m.controllen - off >= sizeof(struct ep_cmsghdr);) {
        struct ep_cmsghdr *c = (struct ep_cmsghdr *)(control.buf + off);
        if (c->len < sizeof *c || c->len > m.controllen - off)
            break;
        if (c->level == EP_SOL_SOCKET && c->type == EP_SCM_RIGHTS) {
            const int *in = (const int *)(c + 1);
            size_t count = (c->len - sizeof *c) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                if (*nfds < EP_WIRE_FDS_MAX)
                    fds[(*nfds)++] = in[i];
                else
                    sys_close(in[i]); /* more than a frame may carry: refused below */
            }
            if (count > EP_WIRE_FDS_MAX)
                m.flags |= EP_MSG_CTRUNC;
        }
        off += (c->len + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1);
    }
    if (m.flags & (EP_MSG_TRUNC | EP_MSG_CTRUNC))
        return -EMSGSIZE; /* the descriptors close when the stub dies, after its BAD_FRAME */
    return n;
}

long ep_chan_socket_recv(struct ep_stub *st, unsigned char **frame, int *fds, uint32_t *nfds) {
    *frame = st->recv_buf;
    return ep_chan_recv_rights(st->chan, st->recv_buf, st->recv_size, fds, nfds);
}
