/* SPDX-License-Identifier: Apache-2.0 */
/* The watcher (watcher.h): main.c starts it and runs its loop. */
#include "watcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "helperd_log.h"
#include "host_cert.h"
#include "incus_events.h"
#include "lifecycle.h"
#include "operations.h"
#include "service.h"
#include "service_handlers.h"

struct watcher {
	struct helperd *d;
	struct incus_events *ev; /* NULL while the events are out of reach */
	int events_down;         /* -1 not tried yet, 0 following, 1 polling */
	int synced;              /* the first read (reconcile) succeeded */
};

/* Whether the registry holds a half-made container of ours that no
 * running operation owns. */
static int own_leftovers(struct helperd *d)
{
	int found = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->reg.count && !found; i++) {
		const struct account *a = &d->reg.accounts[i];
		found = a->state == CTM_STATE_PROVISIONING && strcmp(a->owner, d->host_id) == 0 &&
			!operation_busy(a->name);
	}
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* Connect, remove what a crash left, publish.  0 when Incus answered. */
static int sync_backend(struct helperd *d, int first)
{
	char err[1024];
	struct incus_client *c = helperd_client(d, err, sizeof err);
	if (!c) {
		if (first)
			log_error("%s; the API answers 503 and logins use the last snapshot until it is back", err);
		return -1;
	}
	int r = first ? lifecycle_reconcile(d, c, err, sizeof err) : helperd_refresh_if_changed(d, c, err, sizeof err);
	/* A removal that failed at start (LXD still busy with the killed
	 * create's start) is retried on every poll until it succeeds. */
	if (!first && r == 0 && own_leftovers(d))
		r = lifecycle_reconcile(d, c, err, sizeof err);
	if (first && r == 0)
		log_notice("connected to %s %s at %s; %zu containers", incus_server_name(c), incus_server_version(c),
			   d->incus_socket, d->reg.count);
	else if (r)
		log_error("%s", err);
	incus_close(c);
	return r;
}

/* Follow Incus's lifecycle events (incus_events.h); NULL while they are
 * out of reach (helperd polls then).  Says so at the first try and when
 * that changes (*down: -1 not tried yet, 0 following, 1 polling). */
static struct incus_events *events_open(struct helperd *d, int *down)
{
	char err[512];
	struct incus_events *ev = incus_events_open(d->incus_socket, err, sizeof err);
	if (ev && *down != 0)
		log_info("following the backend's events: the instances are read again when one comes");
	else if (!ev && *down != 1)
		log_warning("cannot follow the backend's events (%s): reading the instances every %u s instead", err,
			    d->cfg.poll_seconds);
	*down = !ev;
	return ev;
}

struct watcher *watcher_start(struct helperd *d)
{
	static struct watcher w;
	w.d = d;
	w.events_down = -1;
	w.ev = events_open(d, &w.events_down);
	w.synced = sync_backend(d, 1) == 0;
	if (w.synced)
		host_cert_sweep_start(d);
	return &w;
}

int watcher_run(struct watcher *w, const sigset_t *stop)
{
	struct helperd *d = w->d;
	char err[1024];
	int rc = 0;
	/* The watcher.  With the event stream up, the instances are read
	 * again when an event came (after EVENT_SETTLE for its burst, and no
	 * sooner than poll_seconds after the last read, as polling did), and
	 * every RESYNC polls anyway in case one was lost.  Without it, every
	 * poll_seconds, as before.  Each poll also retries a backend that was
	 * down and stops idle containers. */
	const double EVENT_SETTLE = 0.1, RESYNC = 30.0 * d->cfg.poll_seconds;
	int sfd = signalfd(-1, stop, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -1;
	}
	double now = ctm_now_s(), next_poll = now + d->cfg.poll_seconds, last_read = now, read_at = 0;
	for (;;) {
		double wake = read_at && read_at < next_poll ? read_at : next_poll;
		now = ctm_now_s();
		struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN },
					 { .fd = w->ev ? incus_events_fd(w->ev) : -1, .events = POLLIN } };
		int ms = wake > now ? (int)((wake - now) * 1000) + 1 : 0;
		if (poll(fds, 2, ms) < 0 && errno != EINTR) {
			log_error("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		now = ctm_now_s();
		if (fds[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					break;
				read_at = now; /* SIGHUP: read Incus now */
			}
		}
		if (w->ev && fds[1].revents) {
			int n = incus_events_read(w->ev, err, sizeof err);
			if (n < 0) {
				/* Incus restarting, or gone: read now (the API
				 * then says whether it is up), reopen at a poll. */
				log_warning("%s", err);
				incus_events_close(w->ev);
				w->ev = NULL;
				w->events_down = 1;
				read_at = now;
			} else if (n > 0 && !read_at) {
				read_at = now + EVENT_SETTLE;
				if (read_at < last_read + d->cfg.poll_seconds)
					read_at = last_read + d->cfg.poll_seconds;
			}
		}
		int poll_due = now >= next_poll;
		int read_due = read_at && now >= read_at;
		if (poll_due) {
			next_poll = now + d->cfg.poll_seconds;
			int had_events = w->ev != NULL;
			if (!w->ev)
				w->ev = events_open(d, &w->events_down);
			/* Polling: without events, after they were down (a
			 * change may have come meanwhile), for the resync, and
			 * while a half-made container of ours waits for removal. */
			read_due |= !w->synced || !had_events || now - last_read >= RESYNC || own_leftovers(d);
		}
		if (read_due) {
			read_at = 0;
			last_read = now;
			if (!w->synced) {
				w->synced = sync_backend(d, 1) == 0;
				if (w->synced)
					host_cert_sweep_start(d);
			} else
				sync_backend(d, 0);
		}
		if (poll_due) {
			/* After a read, which may have published: its marks. */
			helperd_repair_snapshots(d);
			sessions_stop_idle(d);
		}
	}
	incus_events_close(w->ev);
	w->ev = NULL;
	close(sfd);
	return rc;
}
