/* SPDX-License-Identifier: Apache-2.0 */
/* Incus's (and LXD's) lifecycle events: GET /1.0/events?type=lifecycle,
 * a websocket on the API's unix socket.  Every change to an instance
 * (created, updated, renamed, started, stopped, deleted, ...), by anyone,
 * arrives as one message.
 *
 * helperd follows them so that it re-reads the instance list when
 * something changed, instead of every poll_seconds: at 10,000 instances
 * one read is 41 MB of JSON and about 0.3 s of helperd's CPU (and more of
 * Incus's).  Only that a message came matters, not what it says: any
 * lifecycle event (a profile's change moves instances' expanded devices
 * too) makes helperd read the list again.
 *
 * Just what a client of that stream needs of RFC 6455: the handshake,
 * unmasked frames from the server, answers to pings, the close. */
#ifndef CONTAINARIUM_HELPERD_INCUS_EVENTS_H
#define CONTAINARIUM_HELPERD_INCUS_EVENTS_H

#include <stddef.h>

struct incus_events;

/* Connect and subscribe.  NULL with err filled when the server refuses or
 * cannot be reached (helperd then polls). */
struct incus_events *incus_events_open(const char *socket_path, char *err, size_t errlen);

/* The socket, to wait on for POLLIN. */
int incus_events_fd(const struct incus_events *ev);

/* Read what has arrived, without blocking: the number of complete
 * messages (events) read, 0 when none, -1 when the stream ended or broke
 * (err says how; close it, and open again later). */
int incus_events_read(struct incus_events *ev, char *err, size_t errlen);

void incus_events_close(struct incus_events *ev);

#endif
