/* SPDX-License-Identifier: Apache-2.0 */
/* An HTTP/1.1 exchange over a unix stream socket, every step bounded by a
 * deadline: connect (non-blocking; retried while the listener's backlog is
 * full, which a unix socket reports as EAGAIN with nothing to poll for),
 * send, and read the answer through the one parser (http_response.h).  The
 * transport under helperd's Incus client (helperd/incus_http.c builds its
 * requests) and the PAM module's call to helperd
 * (pam_containarium/helperd_call.c), which each say in their own words what
 * went wrong.  No signals (MSG_NOSIGNAL: a peer gone away must not kill
 * sshd), no threads, no allocation; sockets are close-on-exec.  libc only. */
#ifndef CONTAINARIUM_HTTP_CLIENT_H
#define CONTAINARIUM_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_response.h"

enum ctm_io {
	CTM_IO_OK = 0,
	CTM_IO_TIMEOUT,   /* the deadline passed */
	CTM_IO_FAILED,    /* errno says why (ENAMETOOLONG: the socket path does not fit) */
	CTM_IO_CLOSED,    /* the peer closed before the answer was complete */
	CTM_IO_MALFORMED, /* the answer is not HTTP/1.x as we read it: reader->problem */
	CTM_IO_STOPPED,   /* the body's sink asked to stop */
};

/* A connected, non-blocking, close-on-exec socket to path in *fd, within
 * deadline (ctm_now_ms() time). */
enum ctm_io ctm_unix_connect(const char *path, int64_t deadline, int *fd);

/* All of p[0..len) sent within deadline. */
enum ctm_io ctm_send_all(int fd, const void *p, size_t len, int64_t deadline);

/* Read into r until the answer is complete (CTM_IO_OK), malformed, stopped,
 * cut or the deadline passes.  *received: how many bytes came. */
enum ctm_io ctm_http_receive(int fd, int64_t deadline, struct ctm_http_reader *r, size_t *received);

#endif
