/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's watcher: keeps the registry and the published snapshots in
 * step with Incus.  It follows Incus's lifecycle events (or, while it
 * cannot, reads every poll_seconds), reads the instances again after an
 * event's burst, and at every poll retries a backend that was down,
 * removes what a killed create left, repairs snapshots someone else
 * changed, and stops idle containers. */
#ifndef CONTAINARIUM_HELPERD_WATCHER_H
#define CONTAINARIUM_HELPERD_WATCHER_H

#include <signal.h>

struct helperd;
struct watcher;

/* Open the event stream, then the first read (the stream first: nothing
 * that changes in between is missed): removes what a crash left and
 * publishes; with Incus up, starts the sweep of host certificates. */
struct watcher *watcher_start(struct helperd *d);

/* The loop, on the main thread, until SIGTERM or SIGINT (SIGHUP: read
 * Incus now).  The signals in stop must be blocked in every thread.  0, or
 * -1 when it cannot wait (signalfd, poll). */
int watcher_run(struct watcher *w, const sigset_t *stop);

#endif
